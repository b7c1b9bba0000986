//! The `prometheus` exporter as a Prometheus server meets it: metrics sent by the real `opentelemetry-otlp`
//! exporters (one application cumulative, one delta), scraped over HTTP in both exposition formats and read by the
//! Prometheus project's own Python parser (`prometheus_client`), not by code of ours.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::{TestCollector, meter_provider};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Histogram, HistogramDataPoint,
    Metric, ResourceMetrics, ScopeMetrics, Summary, SummaryDataPoint, exemplar,
    exponential_histogram_data_point::Buckets, metric::Data, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_collector::Batch;
use serde_json::Value;
use std::io::Read as _;
use std::process::Command;
use std::time::Duration;

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
exporters:
  prometheus:
    endpoint: "127.0.0.1:0"
    const_labels: { cluster: eu-1 }
    enable_open_metrics: true
service:
  pipelines:
    metrics: { receivers: [otlp], exporters: [prometheus] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

/// Parses a text-format and an OpenMetrics answer with `prometheus_client`; prints the families as JSON.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families as text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

def families(parse, path):
    with open(path) as f:
        body = f.read()
    out = []
    for family in parse(body):
        out.append({
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": [{
                "name": s.name,
                "labels": s.labels,
                "value": s.value,
                "exemplar": None if s.exemplar is None else {"labels": s.exemplar.labels, "value": s.exemplar.value},
            } for s in family.samples],
        })
    return out

print(json.dumps({"text": families(text, sys.argv[1]), "openmetrics": families(openmetrics, sys.argv[2])}))
"#;

fn python() -> String {
    std::env::var("OTLP_SUITE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// One scrape of `/metrics`: the body, decompressed, and its `Content-Type`.
async fn scrape(addr: std::net::SocketAddr, accept: Option<&str>) -> (String, String) {
    let mut request = reqwest::Client::new()
        .get(format!("http://{addr}/metrics"))
        .header("Accept-Encoding", "gzip");
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    assert_eq!(header("content-encoding").as_deref(), Some("gzip"));
    let gzipped = response.bytes().await.unwrap();
    let mut body = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut body)
        .unwrap();
    (body, content_type)
}

/// Both formats of the current answer, parsed by `prometheus_client`: `{"text": [...], "openmetrics": [...]}`.
async fn parsed(addr: std::net::SocketAddr) -> Value {
    let (text, text_type) = scrape(addr, None).await;
    assert!(
        text_type.starts_with("text/plain; version=0.0.4"),
        "{text_type}"
    );
    let (open_metrics, om_type) = scrape(
        addr,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert!(
        om_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{om_type}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (text_path, om_path) = (dir.path().join("text"), dir.path().join("openmetrics"));
    std::fs::write(&text_path, &text).unwrap();
    std::fs::write(&om_path, &open_metrics).unwrap();
    let output = Command::new(python())
        .arg("-c")
        .arg(PARSE)
        .arg(&text_path)
        .arg(&om_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    assert!(
        output.status.success(),
        "prometheus_client refused an answer: {}\n--- text\n{text}\n--- openmetrics\n{open_metrics}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn family<'a>(families: &'a Value, name: &str) -> Option<&'a Value> {
    families
        .as_array()?
        .iter()
        .find(|family| family["name"] == name)
}

/// The value of sample `name` whose labels include `labels`.
fn sample(family: &Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    family["samples"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .and_then(|s| s["value"].as_f64())
}

/// Scrapes until `ready` holds for the parsed answer (the exporter's queue hands batches over asynchronously).
async fn parsed_once(addr: std::net::SocketAddr, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let parsed = parsed(addr).await;
        if ready(&parsed) || tokio::time::Instant::now() > deadline {
            return parsed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_s_metrics_are_scraped_as_prometheus_reads_them() {
    let harness = TestCollector::start(CONFIG).await;
    let endpoint = harness.grpc_endpoint();
    let addr = harness.collector.exporter_addr("prometheus").unwrap();
    tokio::task::spawn_blocking(move || {
        use opentelemetry_sdk::metrics::Temporality;
        let cart = meter_provider(&endpoint, "cart", Temporality::Cumulative);
        let meter = cart.meter("cart-meter");
        let orders = meter.u64_counter("orders").build();
        let latency = meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_boundaries(vec![0.1, 1.0])
            .build();
        let depth = meter.i64_up_down_counter("queue.depth").build();
        orders.add(3, &[KeyValue::new("region", "eu")]);
        orders.add(4, &[KeyValue::new("region", "eu")]);
        orders.add(2, &[KeyValue::new("region", "us")]);
        for seconds in [0.05, 0.5, 0.7, 3.0] {
            latency.record(seconds, &[KeyValue::new("http.route", "/cart")]);
        }
        depth.add(5, &[]);
        depth.add(-2, &[]);
        cart.force_flush().unwrap();
        cart.shutdown().unwrap();

        // A delta application: its counts must be served as running totals.
        let billing = meter_provider(&endpoint, "billing", Temporality::Delta);
        let invoices = billing
            .meter("billing-meter")
            .u64_counter("invoices")
            .build();
        for n in [5, 7, 1] {
            invoices.add(n, &[]);
            billing.force_flush().unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        billing.shutdown().unwrap();
    })
    .await
    .unwrap();

    let parsed = parsed_once(addr, |parsed| {
        family(&parsed["text"], "invoices")
            .and_then(|f| sample(f, "invoices_total", &[]))
            .is_some_and(|total| total == 13.0)
            && family(&parsed["text"], "queue_depth").is_some()
    })
    .await;
    for format in ["text", "openmetrics"] {
        let families = &parsed[format];
        let cart = [
            ("job", "shop/cart"),
            ("instance", "cart-1"),
            ("otel_scope_name", "cart-meter"),
            ("cluster", "eu-1"),
        ];
        let orders = family(families, "orders").unwrap_or_else(|| panic!("{format}: {families}"));
        assert_eq!(orders["type"], "counter");
        let eu: Vec<_> = cart.iter().copied().chain([("region", "eu")]).collect();
        assert_eq!(sample(orders, "orders_total", &eu), Some(7.0), "{format}");
        assert_eq!(
            sample(orders, "orders_total", &[("region", "us")]),
            Some(2.0)
        );

        let latency = family(families, "http_server_request_duration_seconds").unwrap();
        assert_eq!(latency["type"], "histogram");
        let route = [("http_route", "/cart"), ("job", "shop/cart")];
        let bucket = |le: &str| {
            let labels: Vec<_> = route.iter().copied().chain([("le", le)]).collect();
            sample(
                latency,
                "http_server_request_duration_seconds_bucket",
                &labels,
            )
        };
        // OpenMetrics writes whole bounds as `1.0`, the text format as `1`, as Prometheus's Go client does.
        let one = if format == "text" { "1" } else { "1.0" };
        assert_eq!(bucket("0.1"), Some(1.0), "{format}");
        assert_eq!(bucket(one), Some(3.0), "{format}");
        assert_eq!(bucket("+Inf"), Some(4.0), "{format}");
        assert_eq!(
            sample(
                latency,
                "http_server_request_duration_seconds_count",
                &route
            ),
            Some(4.0)
        );
        let sum = sample(latency, "http_server_request_duration_seconds_sum", &route).unwrap();
        assert!((sum - 4.25).abs() < 1e-9, "{sum}");

        let depth = family(families, "queue_depth").unwrap();
        assert_eq!(depth["type"], "gauge");
        assert_eq!(sample(depth, "queue_depth", &cart), Some(3.0));

        let invoices = family(families, "invoices").unwrap();
        let billing = [("job", "shop/billing"), ("instance", "billing-1")];
        assert_eq!(
            sample(invoices, "invoices_total", &billing),
            Some(13.0),
            "{format}"
        );

        let target = family(families, "target_info").unwrap();
        for job in ["shop/cart", "shop/billing"] {
            assert_eq!(
                sample(
                    target,
                    "target_info",
                    &[("job", job), ("host_name", "node-7")]
                ),
                Some(1.0),
                "{format}: {target}"
            );
        }
    }
    harness.shut_down_cleanly().await;
}

fn string_kv(key: &str, value: &str) -> opentelemetry_proto::tonic::common::v1::KeyValue {
    opentelemetry_proto::tonic::common::v1::KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// Every kind of point the SDK does not send here: exemplars, exponential histograms and summaries, each read back
/// by the parser of the format it is served in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_exponential_histograms_and_summaries_parse() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness.collector.exporter_addr("prometheus").unwrap();
    let exemplar = Exemplar {
        time_unix_nano: 1_700_000_000_250_000_000,
        trace_id: (1..=16).collect(),
        span_id: (1..=8).collect(),
        value: Some(exemplar::Value::AsDouble(0.7)),
        ..Default::default()
    };
    let cumulative = 2;
    let metrics = vec![
        Metric {
            name: "latency".into(),
            unit: "ms".into(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    start_time_unix_nano: 1,
                    time_unix_nano: 2,
                    count: 3,
                    sum: Some(8.2),
                    explicit_bounds: vec![1.0, 5.0],
                    bucket_counts: vec![1, 1, 1],
                    exemplars: vec![exemplar.clone()],
                    ..Default::default()
                }],
                aggregation_temporality: cumulative,
            })),
            ..Default::default()
        },
        Metric {
            name: "payload".into(),
            unit: "By".into(),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    time_unix_nano: 2,
                    scale: 1,
                    count: 6,
                    sum: Some(20.0),
                    zero_count: 1,
                    positive: Some(Buckets {
                        offset: 2,
                        bucket_counts: vec![2, 0, 3],
                    }),
                    ..Default::default()
                }],
                aggregation_temporality: cumulative,
            })),
            ..Default::default()
        },
        Metric {
            name: "rpc.duration".into(),
            unit: "s".into(),
            data: Some(Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    time_unix_nano: 2,
                    count: 10,
                    sum: 2.0,
                    quantile_values: vec![
                        ValueAtQuantile {
                            quantile: 0.5,
                            value: 0.1,
                        },
                        ValueAtQuantile {
                            quantile: 0.99,
                            value: 0.9,
                        },
                    ],
                    ..Default::default()
                }],
            })),
            ..Default::default()
        },
    ];
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![string_kv("service.name", "edge")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    };
    harness.submit_retrying(Batch::new(request)).await;
    let parsed = parsed_once(addr, |parsed| {
        family(&parsed["text"], "rpc_duration_seconds").is_some()
    })
    .await;

    let latency = family(&parsed["openmetrics"], "latency_milliseconds").unwrap();
    let with_exemplar: Vec<&Value> = latency["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["exemplar"].is_null())
        .collect();
    assert_eq!(with_exemplar.len(), 1, "{latency}");
    assert_eq!(with_exemplar[0]["labels"]["le"], "1.0");
    assert_eq!(
        with_exemplar[0]["exemplar"]["labels"]["trace_id"],
        "0102030405060708090a0b0c0d0e0f10"
    );
    assert_eq!(with_exemplar[0]["exemplar"]["value"], 0.7);

    for format in ["text", "openmetrics"] {
        let payload = family(&parsed[format], "payload_bytes").unwrap();
        assert_eq!(payload["type"], "histogram");
        // Scale 1: bucket i holds (2^(i/2), 2^((i+1)/2)]; buckets 2 and 4 are populated, up to √8 and √32.
        let bucket = |le: f64| {
            payload["samples"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| {
                    s["name"] == "payload_bytes_bucket"
                        && s["labels"]["le"]
                            .as_str()
                            .and_then(|v| v.parse::<f64>().ok())
                            .is_some_and(|v| v == le || (v - le).abs() < 1e-9)
                })
                .and_then(|s| s["value"].as_f64())
        };
        assert_eq!(bucket(0.0), Some(1.0), "{format}: {payload}");
        assert_eq!(bucket(8f64.sqrt()), Some(3.0), "{format}: {payload}");
        assert_eq!(bucket(32f64.sqrt()), Some(6.0), "{format}: {payload}");
        assert_eq!(bucket(f64::INFINITY), Some(6.0), "{format}: {payload}");

        let rpc = family(&parsed[format], "rpc_duration_seconds").unwrap();
        assert_eq!(rpc["type"], "summary");
        assert_eq!(
            sample(rpc, "rpc_duration_seconds", &[("quantile", "0.99")]),
            Some(0.9)
        );
        assert_eq!(sample(rpc, "rpc_duration_seconds_count", &[]), Some(10.0));
    }
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_pipeline_cannot_name_it() {
    let problems = common::config_problems(
        r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
exporters:
  prometheus: { endpoint: "127.0.0.1:0" }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [prometheus] }
"#,
    );
    assert_eq!(
        problems,
        [(
            "service.pipelines.traces.exporters".to_owned(),
            "`prometheus` does not export traces".to_owned()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_fails_the_start_and_a_shutdown_frees_it() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness.collector.exporter_addr("prometheus").unwrap();
    let same_port = CONFIG.replace(
        "endpoint: \"127.0.0.1:0\"\n    const_labels",
        &format!("endpoint: \"{addr}\"\n    const_labels"),
    );
    let config = otlp_collector::Config::from_yaml(&same_port).unwrap();
    let error = otlp_collector::Collector::new(config.clone())
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("exporters.prometheus") && error.contains(&addr.to_string()),
        "{error}"
    );
    harness.shut_down_cleanly().await;
    let restarted = otlp_collector::Collector::new(config)
        .start()
        .await
        .unwrap();
    assert_eq!(restarted.exporter_addr("prometheus"), Some(addr));
    assert!(restarted.shutdown(Duration::from_secs(5)).await.is_clean());
}

/// A reload stops the scrape endpoint before the next config binds the same port, even while a scraper holds a
/// keep-alive connection to it, as Prometheus does between scrapes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_serves_the_next_config_on_the_same_port() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness.collector.exporter_addr("prometheus").unwrap();
    let fixed = |namespace: &str| {
        let yaml = CONFIG.replace(
            "endpoint: \"127.0.0.1:0\"\n    const_labels",
            &format!("endpoint: \"{addr}\"\n    namespace: {namespace}\n    const_labels"),
        );
        otlp_collector::Config::from_yaml(&yaml).unwrap()
    };
    let gauge = |name: &str| {
        let metric = Metric {
            name: name.into(),
            data: Some(Data::Gauge(opentelemetry_proto::tonic::metrics::v1::Gauge {
                data_points: vec![opentelemetry_proto::tonic::metrics::v1::NumberDataPoint {
                    value: Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(1)),
                    ..Default::default()
                }],
            })),
            ..Default::default()
        };
        Batch::new(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![metric],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    };
    let TestCollector {
        collector,
        dir: _dir,
    } = harness;
    let scraper = reqwest::Client::new();
    // The stopped server closes the idle connection the scraper keeps: a request the client had already started on
    // it fails, and the next scrape opens a connection to the new server, as Prometheus's next scrape would.
    let scrape = || async {
        let mut failures = 0;
        loop {
            match scraper.get(format!("http://{addr}/metrics")).send().await {
                Ok(response) => return response.text().await.unwrap(),
                Err(e) if failures < 3 => {
                    failures += 1;
                    eprintln!("scrape failed, scraping again: {e}");
                }
                Err(e) => panic!("{e}"),
            }
        }
    };
    collector.submit(gauge("before")).await.unwrap();
    let mut body = scrape().await;
    for _ in 0..600 {
        if body.contains("before") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        body = scrape().await;
    }
    assert!(body.contains("\nbefore{"), "{body}");

    let reloaded = collector
        .reload(fixed("next"), fixed("unused"), Duration::from_secs(5))
        .await;
    assert!(reloaded.drained.is_clean());
    let otlp_collector::ReloadOutcome::Applied(collector) = reloaded.outcome else {
        panic!("the next config did not start: {:?}", reloaded.outcome);
    };
    assert_eq!(collector.exporter_addr("prometheus"), Some(addr));
    collector.submit(gauge("after")).await.unwrap();
    let mut body = scrape().await;
    for _ in 0..600 {
        if body.contains("next_after") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        body = scrape().await;
    }
    assert!(body.contains("\nnext_after{"), "{body}");
    assert!(
        !body.contains("before"),
        "the last config's series went with it: {body}"
    );
    assert!(collector.shutdown(Duration::from_secs(5)).await.is_clean());
}

/// `tls` serves the scrape endpoint over HTTPS with the receivers' server settings; a plaintext scraper gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_the_scrape_over_https() {
    use http_body_util::BodyExt;

    let pki = tempfile::tempdir().unwrap();
    common::pki::write_pki(pki.path());
    let dir = pki.path().display();
    let harness = TestCollector::start(&CONFIG.replace(
        "enable_open_metrics: true",
        &format!("tls: {{ cert_file: \"{dir}/server.pem\", key_file: \"{dir}/server-key.pem\" }}"),
    ))
    .await;
    let port = harness
        .collector
        .exporter_addr("prometheus")
        .unwrap()
        .port();
    let client = common::pki::https_client(pki.path(), None);
    let response = client
        .get(format!("https://127.0.0.1:{port}/metrics").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty(), "no metrics yet: {body:?}");
    let plaintext = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(plaintext.is_err(), "{plaintext:?}");
    harness.shut_down_cleanly().await;
}
