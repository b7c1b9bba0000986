use super::*;
use crate::receiver::scraper::metric::{enabled_with, labelled_points};

fn problems(yaml: &str) -> Vec<String> {
    let config: TcpCheckConfig = serde_norway::from_str(yaml).unwrap();
    match Factory.validate(&config) {
        Ok(()) => Vec::new(),
        Err(invalid) => invalid.lines(),
    }
}

#[test]
fn each_target_is_host_and_port() {
    assert_eq!(
        problems("targets: [{ endpoint: \"db:5432\", dialer: { timeout: 5s } }]"),
        Vec::<String>::new()
    );
    let found = problems(
        "targets:
  - { endpoint: \"tcp://db:5432\" }
  - { endpoint: \"db\" }
  - { endpoint: \"db:0\" }
  - {}
metrics: { tcpcheck.latency: { enabled: false } }",
    );
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(found[0].contains("has a scheme"), "{found:#?}");
    assert!(found[1].contains("`db` is not `host:port`"), "{found:#?}");
    assert!(found[3].contains("targets[3].endpoint"), "{found:#?}");
    assert!(found[4].contains("tcpcheck.latency"), "{found:#?}");
    assert_eq!(problems("targets: []").len(), 1);
}

#[tokio::test]
async fn a_listening_server_is_up_and_a_closed_port_counts_its_failures() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().to_string();
    // A port just released: nothing listens there.
    let closed = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().to_string()
    };
    let mut scraper = TcpCheckScraper {
        targets: vec![
            (open.clone(), Duration::from_secs(5)),
            (closed.clone(), Duration::from_secs(5)),
        ],
        enabled: enabled_with(SPECS, &[]),
        errors: HashMap::new(),
        start: 1,
        id: "tcpcheck".to_owned(),
    };
    scraper.scrape().await.unwrap();
    let request = scraper.scrape().await.unwrap();
    let scope = &request.resource_metrics[0].scope_metrics[0];
    assert!(
        scope
            .scope
            .as_ref()
            .unwrap()
            .name
            .ends_with("/receiver/tcpcheckreceiver")
    );
    let metrics = &scope.metrics;
    assert_eq!(
        labelled_points(metrics, "tcpcheck.status"),
        [
            (format!("tcpcheck.endpoint={open}"), 1.0),
            (format!("tcpcheck.endpoint={closed}"), 0.0)
        ]
    );
    let durations = labelled_points(metrics, "tcpcheck.duration");
    assert_eq!(durations.len(), 1);
    assert_eq!(durations[0].0, format!("tcpcheck.endpoint={open}"));
    // The second failed check of the closed port: a cumulative count, since the receiver started.
    assert_eq!(
        labelled_points(metrics, "tcpcheck.error"),
        [(
            format!("tcpcheck.endpoint={closed},error.code=connection_refused"),
            2.0
        )]
    );
    drop(listener);
}

#[test]
fn failures_are_named_as_otelcol_names_them() {
    let code = |kind: ErrorKind| error_code(&std::io::Error::new(kind, "x"));
    assert_eq!(code(ErrorKind::ConnectionRefused), "connection_refused");
    assert_eq!(code(ErrorKind::HostUnreachable), "connection_refused");
    assert_eq!(code(ErrorKind::TimedOut), "connection_timeout");
    assert_eq!(code(ErrorKind::NetworkUnreachable), "network_unreachable");
    assert_eq!(code(ErrorKind::InvalidInput), "invalid_endpoint");
    assert_eq!(code(ErrorKind::PermissionDenied), "unknown_error");
}
