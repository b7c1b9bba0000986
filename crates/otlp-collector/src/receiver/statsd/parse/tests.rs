use super::*;

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn lines_of_each_type_with_rates_and_tags() {
    let line = parse(
        "api.requests:3|c|@0.1|#route:/cart,env:prod",
        Options::default(),
    )
    .unwrap();
    assert_eq!(
        line,
        Line {
            name: "api.requests".into(),
            kind: Kind::Counter,
            value: 3.0,
            signed: false,
            sample_rate: 0.1,
            tags: tags(&[("env", "prod"), ("route", "/cart")]),
            timestamp: None,
        }
    );
    assert!((line.weight() - 10.0).abs() < 1e-9);
    let gauge = parse("queue.depth:-4|g", Options::default()).unwrap();
    assert_eq!(
        (gauge.kind, gauge.value, gauge.signed),
        (Kind::Gauge, -4.0, true)
    );
    assert_eq!(
        parse("t:12.5|ms", Options::default()).unwrap().kind,
        Kind::Timing
    );
    assert_eq!(
        parse("h:1|h", Options::default()).unwrap().kind,
        Kind::Histogram
    );
    assert_eq!(
        parse("d:1|d", Options::default()).unwrap().kind,
        Kind::Distribution
    );
    assert_eq!(parse("x:1|c|@2", Options::default()).unwrap().weight(), 1.0);
}

#[test]
fn metric_type_and_simple_tags_when_enabled() {
    let options = Options {
        metric_type: true,
        simple_tags: true,
    };
    let line = parse("x:1|c|#canary,zone:a,zone:b", options).unwrap();
    assert_eq!(
        line.tags,
        tags(&[("canary", ""), ("metric_type", "counter"), ("zone", "b")])
    );
}

#[test]
fn dogstatsd_container_ids_and_timestamps() {
    let line = parse("x:1|g|#env:prod|c:83c3a2f|T1700000000", Options::default()).unwrap();
    assert_eq!(
        line.tags,
        tags(&[("container.id", "83c3a2f"), ("env", "prod")])
    );
    assert_eq!(line.timestamp, Some(1_700_000_000_000_000_000));
    assert_eq!(
        parse("x:1|g|Tnow", Options::default()),
        Err("parse timestamp: now".to_owned())
    );
}

#[test]
fn what_is_not_statsd_is_named() {
    for (line, error) in [
        ("x:1", "invalid message format: x:1"),
        ("x|c", "invalid <name>:<value> format: x"),
        (":1|c", "empty metric name"),
        ("x:|c", "empty metric value"),
        ("x:1|s", "unsupported metric type: s"),
        ("x:1|c|@fast", "parse sample rate: fast"),
        ("x:1|c|#canary", "invalid tag format: canary"),
        ("x:1|c|extra", "unrecognized message part: extra"),
        ("x:one|c", "parse metric value string: one"),
    ] {
        assert_eq!(
            parse(line, Options::default()),
            Err(error.to_owned()),
            "{line}"
        );
    }
}
