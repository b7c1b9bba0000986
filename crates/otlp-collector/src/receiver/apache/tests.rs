use super::*;
use crate::receiver::scraper::metric::{assert_every_metric, labelled_points};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

fn problems(yaml: &str) -> Vec<(String, String)> {
    crate::component::problems(&Factory, "receivers.apache", yaml)
}

/// What Apache 2.4.71 (Debian, event MPM) answered at `server-status?auto`, its scoreboard shortened.
const PAGE: &str = "localhost\nServerVersion: Apache/2.4.71 (Debian)\nServerMPM: event\n\
Server Built: 2026-11-12T08:58:41\nCurrentTime: Monday, 07-Dec-2026 05:55:19 UTC\n\
RestartTime: Monday, 07-Dec-2026 05:55:18 UTC\nParentServerConfigGeneration: 1\nParentServerMPMGeneration: 0\n\
ServerUptimeSeconds: 3\nServerUptime: 3 seconds\nLoad1: 0.91\nLoad5: 1.43\nLoad15: 1.54\nTotal Accesses: 7\n\
Total kBytes: 2\nTotal Duration: 12\nCPUUser: 0\nCPUSystem: .01\nCPUChildrenUser: 0\nCPUChildrenSystem: 0\n\
CPULoad: 0.e+79\nUptime: 3\nReqPerSec: 2.33333\nBusyWorkers: 1\nGracefulWorkers: 0\nIdleWorkers: 24\nProcesses: 1\n\
Stopping: 0\nConnsTotal: 1\nConnsAsyncWaitIO: 0\nScoreboard: _W____K__R.....?\n";

fn scraper() -> ApacheScraper {
    ApacheScraper {
        page: Page::new(
            "http://localhost:8080/server-status?auto",
            &Default::default(),
            &Default::default(),
            std::time::Duration::from_secs(1),
        )
        .unwrap(),
        enabled: Enabled::new(status::SPECS, &Default::default()),
        server: ServerStart::default(),
        accesses: None,
        resource: Resource::default(),
        id: "apache".into(),
    }
}

/// `metric`'s points in `request`, as (attributes `key=value` joined by `,`, value).
fn points(request: &ExportMetricsServiceRequest, metric: &str) -> Vec<(String, f64)> {
    labelled_points(
        &request.resource_metrics[0].scope_metrics[0].metrics,
        metric,
    )
}

#[test]
fn a_real_page_becomes_otelcol_s_metrics() {
    let second = 1_000_000_000;
    let request = scraper().request(PAGE, 100 * second).unwrap();
    let metrics = assert_every_metric(&request, "apachereceiver", status::SPECS);
    assert_eq!(points(&request, "apache.uptime"), [(String::new(), 3.0)]);
    assert_eq!(points(&request, "apache.requests"), [(String::new(), 7.0)]);
    assert_eq!(
        points(&request, "apache.traffic"),
        [(String::new(), 2048.0)],
        "kibibytes, as bytes"
    );
    assert_eq!(
        points(&request, "apache.workers"),
        [("state=busy".into(), 1.0), ("state=idle".into(), 24.0)]
    );
    assert_eq!(
        points(&request, "apache.cpu.time"),
        [
            ("level=children,mode=system".into(), 0.0),
            ("level=children,mode=user".into(), 0.0),
            ("level=self,mode=system".into(), 0.01),
            ("level=self,mode=user".into(), 0.0)
        ]
    );
    assert_eq!(points(&request, "apache.cpu.load"), [(String::new(), 0.0)]);
    // In the server's first second, the load is CPU time over no time: left out.
    let first_second = PAGE.replace("ServerUptimeSeconds: 3", "ServerUptimeSeconds: 0");
    let request = scraper().request(&first_second, 100 * second).unwrap();
    assert!(
        request.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .all(|m| m.name != "apache.cpu.load")
    );
    assert_eq!(points(&request, "apache.load.15"), [(String::new(), 1.54)]);
    let scoreboard = points(&request, "apache.scoreboard");
    for expected in [
        ("state=waiting", 7.0),
        ("state=sending", 1.0),
        ("state=keepalive", 1.0),
        ("state=reading", 1.0),
        ("state=open", 5.0),
        ("state=closing", 0.0),
        ("state=unknown", 1.0),
    ] {
        assert!(
            scoreboard.contains(&(expected.0.into(), expected.1)),
            "{expected:?}: {scoreboard:?}"
        );
    }
    assert_eq!(scoreboard.len(), 12);
    // Sums start when the server did: three seconds before the scrape.
    let Some(Data::Sum(requests)) = &metrics[3].data else {
        panic!("requests is a sum")
    };
    assert_eq!(requests.data_points[0].start_time_unix_nano, 97 * second);
}

#[test]
fn a_restart_starts_the_sums_anew_and_another_page_reports_nothing() {
    let second = 1_000_000_000;
    let mut scraper = scraper();
    scraper.request(PAGE, 100 * second).unwrap();
    assert_eq!(scraper.server.nanos(), 97 * second);
    let restarted = PAGE
        .replace("05:55:18", "05:56:40")
        .replace("ServerUptimeSeconds: 3", "ServerUptimeSeconds: 5");
    scraper.request(&restarted, 200 * second).unwrap();
    assert_eq!(
        scraper.server.nanos(),
        195 * second,
        "another RestartTime, though the uptime grew"
    );
    // Restarted again within the same second: the same RestartTime and uptime, fewer requests.
    let again = restarted.replace("Total Accesses: 7", "Total Accesses: 2");
    scraper.request(&again, 200 * second + second / 2).unwrap();
    assert_eq!(scraper.server.nanos(), 195 * second + second / 2);
    assert!(
        scraper
            .request(
                "<html><body><h1>Apache Server Status</h1></body></html>",
                300 * second
            )
            .is_none()
    );
    // A field that is not a number is left out, the rest reported.
    let broken = PAGE.replace("Total Accesses: 7", "Total Accesses: many");
    let request = scraper.request(&broken, 400 * second).unwrap();
    assert!(
        request.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .all(|m| m.name != "apache.requests")
    );
}

#[test]
fn otelcol_s_example_is_taken_as_written_and_mistakes_are_named() {
    for yaml in [
        // otelcol-contrib's README.
        "endpoint: \"http://localhost:8080/server-status?auto\"\ncollection_interval: 10s\n",
        "{}",
        "endpoint: https://web/server-status?auto&refresh=5\ntls: { ca_file: /etc/ca.pem }\n\
         resource_attributes: { apache.server.port: { enabled: false } }\n",
    ] {
        assert_eq!(problems(yaml), Vec::new(), "{yaml}");
    }
    let config: ApacheConfig = serde_norway::from_str("{}").unwrap();
    assert!(config.resource_attribute("apache.server.name"));
    let found = problems(
        "endpoint: http://localhost:8080/server-status\nmetrics: { apache.uptim: { enabled: false } }\n\
         resource_attributes: { apache.server.host: { enabled: true } }\n",
    );
    let text: Vec<String> = found.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    let text = text.join("\n");
    for expected in [
        "receivers.apache.endpoint: `http://localhost:8080/server-status` does not ask for the machine-readable \
         page: end it in `?auto`",
        "receivers.apache.metrics.apache.uptim: there is no metric",
        "receivers.apache.resource_attributes.apache.server.host: there is no resource attribute",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}
