use super::*;
use crate::receiver::scraper::metric::{Toggle, labelled_points};
use std::collections::BTreeMap;

/// `show stat` of HAProxy 2.6 (Debian 12) serving three requests through frontend `web` to backend `app`'s
/// server `s1` (health-checked), a frontend `origin` answering them, and a `stats` frontend.
const CAPTURE: &str = include_str!("testdata/stats-2.6.csv");

fn scraper(toggles: &[(&str, bool)]) -> HaproxyScraper {
    let metrics: BTreeMap<String, Toggle> = toggles
        .iter()
        .map(|(name, enabled)| (name.to_string(), Toggle { enabled: *enabled }))
        .collect();
    HaproxyScraper {
        source: Source::Socket {
            path: "/run/haproxy.sock".into(),
            timeout: Duration::from_secs(1),
        },
        endpoint: "/run/haproxy.sock".into(),
        attributes: [true, true, true, false],
        enabled: Enabled::new(stats::SPECS, &metrics),
        since: CountersSince::new(1),
        last: None,
        id: "haproxy".into(),
    }
}

fn resource_of(
    request: &ExportMetricsServiceRequest,
    proxy: &str,
    service: &str,
) -> Vec<opentelemetry_proto::tonic::metrics::v1::Metric> {
    let text = |s: &str| Some(string_value(s));
    request
        .resource_metrics
        .iter()
        .find(|rm| {
            let attributes = &rm.resource.as_ref().unwrap().attributes;
            let get = |key: &str| {
                attributes
                    .iter()
                    .find(|kv| kv.key == key)
                    .and_then(|kv| kv.value.clone())
            };
            get("haproxy.proxy_name") == text(proxy) && get("haproxy.service_name") == text(service)
        })
        .unwrap_or_else(|| panic!("no {proxy}/{service}"))
        .scope_metrics[0]
        .metrics
        .clone()
}

#[test]
fn a_real_answer_becomes_a_resource_per_row() {
    let stats = Stats::parse(CAPTURE).unwrap();
    assert_eq!(stats.rows.len(), 5);
    let request = scraper(&[]).request(stats, 10).unwrap();
    assert_eq!(request.resource_metrics.len(), 5);
    let web = resource_of(&request, "web", "FRONTEND");
    assert_eq!(
        labelled_points(&web, "haproxy.requests.total"),
        [
            ("status_code=1xx".into(), 0.0),
            ("status_code=2xx".into(), 3.0),
            ("status_code=3xx".into(), 0.0),
            ("status_code=4xx".into(), 0.0),
            ("status_code=5xx".into(), 0.0),
            ("status_code=other".into(), 0.0),
        ]
    );
    assert_eq!(
        labelled_points(&web, "haproxy.sessions.rate"),
        [(String::new(), 3.0)]
    );
    // A server is selected; a frontend has no such field.
    let s1 = resource_of(&request, "app", "s1");
    assert_eq!(
        labelled_points(&s1, "haproxy.server_selected.total"),
        [(String::new(), 3.0)]
    );
    assert!(
        !web.iter()
            .any(|m| m.name == "haproxy.server_selected.total")
    );
    // Optional metrics stay off.
    assert!(!s1.iter().any(|m| m.name == "haproxy.weight"));
    let resource = request.resource_metrics[0].resource.as_ref().unwrap();
    let keys: Vec<&str> = resource
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["haproxy.addr", "haproxy.proxy_name", "haproxy.service_name"]
    );
}

#[test]
fn every_metric_of_otelcol_can_be_had() {
    let all: Vec<(&str, bool)> = stats::SPECS.iter().map(|spec| (spec.name, true)).collect();
    let request = scraper(&all)
        .request(Stats::parse(CAPTURE).unwrap(), 10)
        .unwrap();
    let mut seen: Vec<&str> = request
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics[0].metrics)
        .map(|m| m.name.as_str())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let mut expected: Vec<&str> = stats::SPECS.iter().map(|spec| spec.name).collect();
    expected.sort_unstable();
    assert_eq!(seen, expected);
    let scope = &request.resource_metrics[0].scope_metrics[0];
    assert!(
        scope
            .scope
            .as_ref()
            .unwrap()
            .name
            .ends_with("/receiver/haproxyreceiver")
    );
}

#[test]
fn sums_start_with_the_receiver_and_again_after_a_restart() {
    let mut scraper = scraper(&[]);
    let first = Stats::parse(CAPTURE).unwrap();
    let start_of = |request: &ExportMetricsServiceRequest| {
        let web = resource_of(request, "web", "FRONTEND");
        let metric = web
            .iter()
            .find(|m| m.name == "haproxy.bytes.input")
            .unwrap();
        match &metric.data {
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) => {
                sum.data_points[0].start_time_unix_nano
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(start_of(&scraper.request(first.clone(), 10).unwrap()), 1);
    assert_eq!(start_of(&scraper.request(first.clone(), 20).unwrap()), 1);
    // Counters back at zero: HAProxy restarted after the reading at 20.
    let restarted = Stats::parse(&CAPTURE.replace(
        "web,FRONTEND,,,0,1,9984,3,246,219",
        "web,FRONTEND,,,0,1,9984,0,0,0",
    ))
    .unwrap();
    assert!(restarted.restarted_since(&first));
    assert_eq!(start_of(&scraper.request(restarted, 30).unwrap()), 20);
}

#[test]
fn quoted_fields_and_bad_answers() {
    let stats =
        Stats::parse("# pxname,svname,status,stot\n\"a,b\",s1,\"no \"\"check\"\"\",7\n").unwrap();
    assert_eq!(stats.rows[0].key(), ("a,b", "s1"));
    assert_eq!(stats.rows[0].get("status"), Some("no \"check\""));
    assert!(Stats::parse("").unwrap_err().contains("empty"));
    assert!(
        Stats::parse("<html>Statistics Report</html>")
            .unwrap_err()
            .contains("is not the header of HAProxy's statistics")
    );
    let mut unreadable = Vec::new();
    let enabled = Enabled::new(stats::SPECS, &BTreeMap::new());
    let mut out = Builder::new(stats::SPECS, &enabled, Clock { now: 2, start: 1 });
    let row = Stats::parse("# pxname,svname,bin,scur\nweb,FRONTEND,lots,3\n").unwrap();
    stats::record(&row.rows[0], &mut out, &mut unreadable);
    assert_eq!(unreadable, ["bin: lots"]);
    assert_eq!(
        labelled_points(&out.finish(), "haproxy.sessions.count"),
        [(String::new(), 3.0)]
    );
}

#[test]
fn config_mistakes_are_named() {
    let problems = |yaml: &str| -> Vec<String> {
        let config: HaproxyConfig = serde_norway::from_str(yaml).unwrap();
        match config.validate() {
            Ok(()) => Vec::new(),
            Err(invalid) => invalid
                .problems()
                .map(|(key, _)| key.unwrap_or("").to_owned())
                .collect(),
        }
    };
    assert!(problems("endpoint: /run/haproxy.sock").is_empty());
    assert!(problems("endpoint: http://localhost:8404/stats").is_empty());
    assert_eq!(problems("{}"), ["endpoint"]);
    assert_eq!(problems("endpoint: haproxy.sock"), ["endpoint"]);
    assert_eq!(
        problems(
            "{ endpoint: /run/haproxy.sock, metrics: { haproxy.session.count: { enabled: true } }, \
             resource_attributes: { haproxy.url: { enabled: true } } }"
        ),
        [
            "metrics.haproxy.session.count",
            "resource_attributes.haproxy.url"
        ]
    );
}
