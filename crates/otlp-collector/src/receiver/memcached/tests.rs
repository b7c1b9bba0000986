use super::client::read_stats;
use super::*;
use crate::receiver::scraper::metric::{assert_every_metric, labelled_points};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

fn problems(yaml: &str) -> Vec<(String, String)> {
    crate::component::problems(&Factory, "receivers.memcached", yaml)
}

/// Part of what memcached 1.6.18 answered after a set, a get that hit, one that missed and a refused incr.
const STATS: &str = "STAT pid 23591\r\nSTAT uptime 2\r\nSTAT time 1796621554\r\nSTAT version 1.6.18\r\n\
STAT rusage_user 0.006517\r\nSTAT rusage_system 0.000000\r\nSTAT max_connections 1024\r\n\
STAT curr_connections 1\r\nSTAT total_connections 2\r\nSTAT cmd_get 2\r\nSTAT cmd_set 1\r\nSTAT cmd_flush 0\r\n\
STAT cmd_touch 0\r\nSTAT get_hits 1\r\nSTAT get_misses 1\r\nSTAT incr_misses 0\r\nSTAT incr_hits 0\r\n\
STAT decr_misses 0\r\nSTAT decr_hits 0\r\nSTAT bytes_read 53\r\nSTAT bytes_written 34\r\nSTAT threads 4\r\n\
STAT bytes 61\r\nSTAT curr_items 1\r\nSTAT evictions 0\r\nEND\r\n";

async fn answer(bytes: &[u8]) -> Result<Vec<String>, String> {
    read_stats(&mut &bytes[..]).await
}

fn scraper(yaml: &str) -> MemcachedScraper {
    let config: MemcachedConfig = serde_norway::from_str(yaml).unwrap();
    MemcachedScraper {
        address: Address::new("localhost:11211", "tcp", &config.tls, false).unwrap(),
        timeout: config.timeout(),
        connection: Kept::default(),
        enabled: Enabled::new(stats::SPECS, &config.metrics),
        server: ServerStart::default(),
        id: "memcached".into(),
    }
}

/// `metric`'s points in `request`, as (attributes `key=value` joined by `,`, value).
fn points(request: &ExportMetricsServiceRequest, metric: &str) -> Vec<(String, f64)> {
    labelled_points(
        &request.resource_metrics[0].scope_metrics[0].metrics,
        metric,
    )
}

#[tokio::test]
async fn a_real_answer_becomes_otelcol_s_metrics() {
    let lines = answer(STATS.as_bytes()).await.unwrap();
    let mut scraper = scraper("{}");
    let request = scraper.request(&lines).unwrap();
    let metrics = assert_every_metric(&request, "memcachedreceiver", stats::SPECS);
    assert_eq!(
        points(&request, "memcached.commands"),
        [
            ("command=get".into(), 2.0),
            ("command=set".into(), 1.0),
            ("command=flush".into(), 0.0),
            ("command=touch".into(), 0.0)
        ]
    );
    assert_eq!(
        points(&request, "memcached.operation_hit_ratio"),
        [
            ("operation=increment".into(), 0.0),
            ("operation=decrement".into(), 0.0),
            ("operation=get".into(), 50.0)
        ]
    );
    assert_eq!(
        points(&request, "memcached.network"),
        [
            ("direction=received".into(), 53.0),
            ("direction=sent".into(), 34.0)
        ]
    );
    assert_eq!(
        points(&request, "memcached.cpu.usage"),
        [
            ("state=system".into(), 0.0),
            ("state=user".into(), 0.006517)
        ]
    );
    assert_eq!(points(&request, "memcached.bytes"), [(String::new(), 61.0)]);
    let operations = points(&request, "memcached.operations");
    assert!(operations.contains(&("type=hit,operation=get".into(), 1.0)));
    assert!(operations.contains(&("type=miss,operation=get".into(), 1.0)));
    assert_eq!(operations.len(), 6);
    // Sums start when the server did: two seconds before the scrape.
    let Some(Data::Sum(sum)) = &metrics[2].data else {
        panic!("connections.total is a sum")
    };
    let point = &sum.data_points[0];
    assert_eq!(
        point.time_unix_nano - point.start_time_unix_nano,
        2_000_000_000
    );
    assert!(sum.is_monotonic);
}

#[test]
fn the_hit_ratio_is_of_hits() {
    assert_eq!(stats::hit_ratio(3, 1), 75.0);
    assert_eq!(stats::hit_ratio(0, 5), 0.0);
    assert_eq!(stats::hit_ratio(0, 0), 0.0);
}

#[tokio::test]
async fn toggles_leave_metrics_out_and_a_stranger_s_answer_is_not_reported() {
    let lines = answer(STATS.as_bytes()).await.unwrap();
    let mut scraper = scraper(
        "metrics: { memcached.threads: { enabled: false }, memcached.cpu.usage: { enabled: false } }",
    );
    let request = scraper.request(&lines).unwrap();
    let names: Vec<&str> = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert!(!names.contains(&"memcached.threads") && !names.contains(&"memcached.cpu.usage"));
    assert_eq!(names.len(), stats::SPECS.len() - 2);
    // No uptime: not memcached.
    assert!(scraper.request(&["STAT bytes 1".into()]).is_none());
    // A statistic that is not a number is left out, the rest reported.
    let mut broken = lines.clone();
    broken.retain(|line| !line.starts_with("STAT bytes "));
    broken.push("STAT bytes lots".into());
    let request = scraper.request(&broken).unwrap();
    assert!(
        request.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .all(|m| m.name != "memcached.bytes")
    );
}

#[tokio::test]
async fn errors_and_broken_answers_are_errors_not_panics() {
    for (bytes, expected) in [
        (&b"ERROR\r\n"[..], "refused stats: ERROR"),
        (b"SERVER_ERROR out of memory\r\n", "out of memory"),
        (b"STAT uptime 1\r\n", "closed the connection"),
        (b"STAT uptime 1\nEND\n", "CRLF"),
        (b"", "closed the connection"),
    ] {
        let error = answer(bytes).await.unwrap_err();
        assert!(error.contains(expected), "{error}");
    }
    let endless = "STAT a 1\r\n".repeat(5000);
    let error = answer(endless.as_bytes()).await.unwrap_err();
    assert!(error.contains("more than 4096 lines"), "{error}");
    let long = format!("STAT a {}\r\nEND\r\n", "9".repeat(10_000));
    assert!(answer(long.as_bytes()).await.is_err());
}

#[test]
fn otelcol_s_example_is_taken_as_written_and_mistakes_are_named() {
    for yaml in [
        // otelcol-contrib's README.
        "endpoint: \"localhost:11211\"\ncollection_interval: 10s\n",
        "{}",
        "endpoint: /var/run/memcached.sock\ntransport: unix\n",
        "endpoint: cache:11211\ntls: { insecure: false, ca_file: /etc/ca.pem }\ntimeout: 2s\n",
    ] {
        assert_eq!(problems(yaml), Vec::new(), "{yaml}");
    }
    let config: MemcachedConfig = serde_norway::from_str("{}").unwrap();
    assert_eq!(config.endpoint, "localhost:11211");
    assert!(!config.encrypted(), "plain text by default, as otelcol");
    assert_eq!(config.timeout(), Duration::from_secs(10));
    let found = problems(
        "endpoint: localhost\ntransport: udp\nmetrics: { memcached.thread: { enabled: false } }\n",
    );
    let text: Vec<String> = found.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    let text = text.join("\n");
    assert!(
        text.contains("receivers.memcached.transport: `udp` is not a transport here"),
        "{text}"
    );
    assert!(
        text.contains("receivers.memcached.metrics.memcached.thread: there is no metric"),
        "{text}"
    );
    let found = problems("endpoint: localhost\n");
    assert!(
        found.iter().any(|(_, m)| m.contains("is not `host:port`")),
        "{found:?}"
    );
    let found = problems("endpoint: /run/m.sock\ntransport: unix\ntls: { insecure: false }\n");
    assert!(
        found.iter().any(|(p, _)| p == "receivers.memcached.tls"),
        "{found:?}"
    );
    let found = problems("endpont: a:1\n");
    assert!(
        found.iter().any(|(_, m)| m.contains("endpont")),
        "{found:?}"
    );
}
