use super::*;

fn config(yaml: &str) -> InfluxdbExporterConfig {
    serde_norway::from_str(yaml).expect("well-formed")
}

fn problems(yaml: &str) -> Vec<String> {
    match Factory.validate(&config(yaml)) {
        Ok(()) => Vec::new(),
        Err(invalid) => invalid.lines(),
    }
}

#[test]
fn the_write_url_follows_the_api_version() {
    let v2 = config("{ endpoint: 'http://influx:8086', org: 'my org', bucket: b }");
    assert_eq!(
        v2.write_url().unwrap().to_string(),
        "http://influx:8086/api/v2/write?precision=ns&org=my%20org&bucket=b"
    );
    let v1 = config(
        "{ endpoint: 'https://influx:8086/?u=x&precision=s', v1_compatibility: { enabled: true, db: telemetry } }",
    );
    assert_eq!(
        v1.write_url().unwrap().to_string(),
        "https://influx:8086/write?u=x&precision=ns&db=telemetry"
    );
    let proxied = config(
        "{ endpoint: 'http://proxy/influx/write', v1_compatibility: { enabled: true, db: t } }",
    );
    assert_eq!(
        proxied.write_url().unwrap().to_string(),
        "http://proxy/influx/write?precision=ns&db=t"
    );
}

#[test]
fn otelcol_configs_are_read_and_mistakes_named() {
    assert!(problems(
        "{ endpoint: 'http://localhost:8086', org: o, bucket: b, token: t, metrics_schema: telegraf-prometheus-v2, \
           span_dimensions: [service.name], payload_max_lines: 100, payload_max_bytes: 1000 }"
    )
    .is_empty());
    let found = problems(
        "{ endpoint: 'localhost:8086', metrics_schema: otel-v1, span_dimensions: [a, b, a], payload_max_lines: 0 }",
    );
    for expected in [
        "endpoint",
        "org: is required",
        "bucket: is required",
        "span_dimensions: listed twice: a",
        "`otel-v1` is not telegraf-prometheus-v1",
        "payload_max_lines",
    ] {
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected} in {found:?}"
        );
    }
    let found = problems("{ endpoint: 'http://x:8086', v1_compatibility: { enabled: true } }");
    assert!(found[0].contains("v1_compatibility.db"), "{found:?}");
}

#[test]
fn bodies_are_cut_at_the_line_and_byte_limits() {
    let lines: Vec<Line> = (0..5)
        .map(|i| {
            let mut line = Line::new("m", i);
            line.field("v", Some(line::Field::Int(1)));
            line
        })
        .collect();
    let counts = |bodies: Vec<Bytes>| -> Vec<usize> {
        bodies
            .iter()
            .map(|b| b.iter().filter(|c| **c == b'\n').count())
            .collect()
    };
    assert_eq!(counts(bodies(&lines, 2, 1_000)), [2, 2, 1]);
    // Each line is 9 bytes ("m v=1i 0\n").
    assert_eq!(counts(bodies(&lines, 100, 20)), [2, 2, 1]);
    assert_eq!(counts(bodies(&lines, 100, 1)), [1, 1, 1, 1, 1]);
}
