use super::*;
use crate::receiver::scraper::metric::assert_every_metric;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

fn problems(yaml: &str) -> Vec<(String, String)> {
    crate::component::problems(&Factory, "receivers.nginx", yaml)
}

/// What nginx 1.22's `stub_status` answered (its lines end in a space).
const PAGE: &str = "Active connections: 3 \nserver accepts handled requests\n 16630948 16630947 31070465 \n\
Reading: 0 Writing: 1 Waiting: 2 \n";

fn scraper(yaml: &str) -> NginxScraper {
    let config: NginxConfig = serde_norway::from_str(yaml).unwrap();
    NginxScraper {
        page: Page::new(
            &config.endpoint,
            &config.tls,
            &config.headers,
            config.timeout,
        )
        .unwrap(),
        enabled: Enabled::new(stub_status::SPECS, &config.metrics),
        since: CountersSince::new(1_000),
        last: None,
        id: "nginx".into(),
    }
}

#[test]
fn the_page_is_read() {
    assert_eq!(
        StubStatus::parse(PAGE),
        Ok(StubStatus {
            active: 3,
            accepted: 16630948,
            handled: 16630947,
            requests: 31070465,
            reading: 0,
            writing: 1,
            waiting: 2,
        })
    );
}

#[test]
fn another_page_is_an_error_saying_what_is_missing() {
    for (page, expected) in [
        ("", "ends before its `Active connections:` line"),
        (
            "<html><body>Welcome to nginx!</body></html>",
            "is not `Active connections: N`",
        ),
        (
            "Active connections: many\n",
            "active connections: `many` is not a number",
        ),
        (
            "Active connections: 1\nserver accepts\n",
            "is not `server accepts handled requests`",
        ),
        (
            "Active connections: 1\nserver accepts handled requests\n 1 2\n",
            "2 numbers where accepts, handled and requests should be",
        ),
        (
            "Active connections: 1\nserver accepts handled requests\n 1 2 3\n",
            "ends before its `Reading",
        ),
        (
            "Active connections: 1\nserver accepts handled requests\n 1 2 3\nReading: 0 Writing: 1\n",
            "is not `Reading: N Writing: N Waiting: N`",
        ),
        (
            "Active connections: 1\nserver accepts handled requests\n 1 2 -x\nReading: 0 Writing: 1 Waiting: 0\n",
            "requests: `-x` is not a number",
        ),
    ] {
        let error = StubStatus::parse(page).unwrap_err();
        assert!(error.contains(expected), "{page:?}: {error}");
    }
    let long = format!("Active connections: {}\n", "9".repeat(500));
    let error = StubStatus::parse(&long).unwrap_err();
    assert!(error.len() < 200, "a long page is clipped: {error}");
}

/// The start and time of the first point of `name`.
fn times(request: &ExportMetricsServiceRequest, name: &str) -> (u64, u64) {
    let metric = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap();
    let Some(Data::Sum(sum)) = &metric.data else {
        panic!("{name} is a sum")
    };
    let point = &sum.data_points[0];
    (point.start_time_unix_nano, point.time_unix_nano)
}

#[test]
fn sums_start_with_the_receiver_and_again_after_a_restart() {
    let mut scraper = scraper("{}");
    let status = StubStatus::parse(PAGE).unwrap();
    let request = scraper.request(status, 5_000).unwrap();
    let metrics = assert_every_metric(&request, "nginxreceiver", stub_status::SPECS);
    let Some(Data::Sum(current)) = &metrics[3].data else {
        panic!("connections_current is a sum, as otelcol's today")
    };
    assert!(!current.is_monotonic);
    assert_eq!(current.data_points.len(), 4);
    assert_eq!(times(&request, "nginx.requests"), (1_000, 5_000));
    let later = StubStatus {
        requests: status.requests + 10,
        ..status
    };
    let request = scraper.request(later, 6_000).unwrap();
    assert_eq!(times(&request, "nginx.requests"), (1_000, 6_000));
    // The server restarted between 6000 and 7000: its new sums start at the last reading of the old one.
    let restarted = StubStatus {
        accepted: 2,
        handled: 2,
        requests: 5,
        ..status
    };
    let request = scraper.request(restarted, 7_000).unwrap();
    assert_eq!(times(&request, "nginx.requests"), (6_000, 7_000));
    let request = scraper.request(restarted, 8_000).unwrap();
    assert_eq!(times(&request, "nginx.requests"), (6_000, 8_000));
}

#[test]
fn toggles_leave_metrics_out() {
    let mut scraper = scraper(
        "metrics: { nginx.connections_current: { enabled: false }, nginx.requests: { enabled: false } }",
    );
    let request = scraper
        .request(StubStatus::parse(PAGE).unwrap(), 5_000)
        .unwrap();
    let names: Vec<&str> = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["nginx.connections_accepted", "nginx.connections_handled"]
    );
}

#[test]
fn otelcol_s_example_is_taken_as_written_and_mistakes_are_named() {
    for yaml in [
        // otelcol-contrib's README.
        "endpoint: \"http://localhost:80/status\"\ncollection_interval: 10s\n",
        "{}",
        "endpoint: https://web:8443/nginx_status\ntls: { ca_file: /etc/ca.pem }\nheaders: { Authorization: Bearer x }\n",
    ] {
        assert_eq!(problems(yaml), Vec::new(), "{yaml}");
    }
    let found = problems(
        "endpoint: localhost:80/status\nheaders: { \"bad header\": x }\ntimeout: 0s\n\
         metrics: { nginx.request: { enabled: false } }\n",
    );
    let text: Vec<String> = found.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    let text = text.join("\n");
    for expected in [
        "receivers.nginx.endpoint: `localhost:80/status` is not a URL (invalid format); it must be in the form \
         <scheme>://<hostname>",
        "receivers.nginx.headers: headers: `bad header`",
        "receivers.nginx.timeout: must be more than 0",
        "receivers.nginx.metrics.nginx.request: there is no metric `nginx.request` here",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    let found = problems("endpiont: http://a/status\n");
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("did you mean `endpoint`")),
        "{found:?}"
    );
}
