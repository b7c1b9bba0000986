use super::*;
use event::Encoded;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValueList, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Summary, SummaryDataPoint, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use serde_json::json;

fn settings(multi_metric: bool) -> Settings {
    Settings {
        metadata_keys: HecMetadataAttributes::default(),
        defaults: Metadata {
            source: "otel".into(),
            index: "main".into(),
            ..Metadata::default()
        },
        severity: SeverityFields::default(),
        multi_metric,
    }
}

fn parsed(events: &[Encoded]) -> Vec<serde_json::Value> {
    events
        .iter()
        .map(|(_, json)| serde_json::from_slice(json).unwrap())
        .collect()
}

fn logs(resource: Vec<KeyValue>, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn record(body: Option<AnyValue>, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_700_000_000_123_456_789,
        body,
        attributes,
        ..Default::default()
    }
}

#[test]
fn attributes_name_the_metadata_and_maps_are_flattened() {
    let request = logs(
        vec![
            key_value("host.name", string_value("node-7")),
            key_value("com.splunk.index", string_value("web")),
            key_value(event::TOKEN_ATTRIBUTE, string_value("client-token")),
        ],
        vec![record(
            Some(string_value("GET /")),
            vec![
                key_value("com.splunk.sourcetype", string_value("access")),
                key_value(
                    "http",
                    AnyValue {
                        value: Some(any_value::Value::KvlistValue(KeyValueList {
                            values: vec![key_value("method", string_value("GET"))],
                        })),
                    },
                ),
                key_value(
                    "ratio",
                    AnyValue {
                        value: Some(any_value::Value::DoubleValue(f64::NAN)),
                    },
                ),
            ],
        )],
    );
    let (events, refused) = logs::events(&request, &settings(false));
    assert_eq!(refused, 0);
    assert_eq!(events[0].0.as_deref(), Some("client-token"));
    assert_eq!(
        parsed(&events)[0],
        json!({
            "time": 1_700_000_000.123,
            "host": "node-7",
            "source": "otel",
            "sourcetype": "access",
            "index": "web",
            "event": "GET /",
            "fields": { "http.method": "GET", "ratio": "NaN" }
        })
    );
}

#[test]
fn a_record_without_a_body_is_refused_and_the_rest_kept() {
    let request = logs(
        Vec::new(),
        vec![
            record(None, Vec::new()),
            record(Some(string_value("")), Vec::new()),
            record(Some(string_value("kept")), Vec::new()),
        ],
    );
    let (events, refused) = logs::events(&request, &settings(false));
    assert_eq!(refused, 2);
    let events = parsed(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["host"], event::UNKNOWN_HOST);
    let (lines, refused) = logs::raw_lines(&request, &settings(false));
    assert_eq!(refused, 2);
    assert_eq!(lines[0].1, b"kept\n");
}

fn metrics(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gauge(name: &str, value: f64) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                time_unix_nano: 1_700_000_000_000_000_000,
                attributes: vec![key_value("cpu", string_value("0"))],
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

#[test]
fn a_summary_is_its_sum_count_and_quantiles_and_exponential_histograms_are_refused() {
    let summary = Metric {
        name: "rpc".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: 1_700_000_000_000_000_000,
                count: 4,
                sum: 10.0,
                quantile_values: vec![ValueAtQuantile {
                    quantile: 0.99,
                    value: 7.5,
                }],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let exponential = Metric {
        name: "sizes".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint::default(); 2],
            ..Default::default()
        })),
        ..Default::default()
    };
    let (events, refused) = metrics::events(
        &metrics(vec![summary, exponential, gauge("stale", f64::NAN)]),
        &settings(false),
    );
    assert_eq!(refused, 3, "two exponential points and a NaN");
    let fields: Vec<serde_json::Value> = parsed(&events)
        .into_iter()
        .map(|event| event["fields"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!({ "metric_name:rpc_sum": 10.0, "metric_type": "Summary" }),
            json!({ "metric_name:rpc_count": 4, "metric_type": "Summary" }),
            json!({ "metric_name:rpc": 7.5, "metric_type": "Summary", "qt": "0.99" }),
        ]
    );
}

#[test]
fn multi_metric_format_merges_points_of_the_same_time_and_dimensions() {
    let request = metrics(vec![gauge("cpu.idle", 99.5), gauge("cpu.user", 0.5)]);
    let (separate, _) = metrics::events(&request, &settings(false));
    assert_eq!(separate.len(), 2);
    let (merged, _) = metrics::events(&request, &settings(true));
    assert_eq!(
        parsed(&merged),
        [json!({
            "time": 1_700_000_000.0,
            "host": "unknown",
            "source": "otel",
            "index": "main",
            "event": "metric",
            "fields": {
                "cpu": "0",
                "metric_type": "Gauge",
                "metric_name:cpu.idle": 99.5,
                "metric_name:cpu.user": 0.5
            }
        })]
    );
}

#[test]
fn bodies_keep_to_the_length_group_by_token_and_leave_out_oversized_events() {
    let event = |token: Option<&str>, len: usize| (token.map(str::to_owned), vec![b'x'; len]);
    let (bodies, oversized) = event::bodies(
        vec![
            event(None, 40),
            event(Some("other"), 10),
            event(None, 40),
            event(None, 500),
            event(None, 30),
        ],
        100,
        200,
    );
    assert_eq!(oversized, 1);
    let shape: Vec<(Option<&str>, usize)> = bodies
        .iter()
        .map(|(token, body)| (token.as_deref(), body.len()))
        .collect();
    assert_eq!(shape, [(None, 80), (None, 30), (Some("other"), 10)]);
    let (unlimited, _) = event::bodies(vec![event(None, 40), event(None, 40)], 0, 200);
    assert_eq!(unlimited.len(), 1);
}

#[test]
fn times_are_seconds_rounded_to_the_millisecond() {
    assert_eq!(event::seconds(0), None);
    assert_eq!(
        event::seconds(1_433_188_255_500_400_000),
        Some(1_433_188_255.5)
    );
    assert_eq!(
        event::seconds(1_433_188_255_999_600_000),
        Some(1_433_188_256.0)
    );
}
