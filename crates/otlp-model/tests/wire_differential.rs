//! The in-place scanner against prost, the reference: on arbitrary requests of every signal they agree on what
//! decodes, how many items there are and how many `remove_invalid` would remove; on damaged bytes (flipped,
//! cut, inserted) they agree on whether the bytes decode at all.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_model::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, OtlpRequest,
    Signal, wire,
};
use proptest::prelude::*;
use prost::Message;

fn any_value(depth: u32) -> BoxedStrategy<AnyValue> {
    let leaf = prop_oneof![
        Just(None),
        "[a-z ]{0,12}".prop_map(|s| Some(any_value::Value::StringValue(s))),
        any::<bool>().prop_map(|b| Some(any_value::Value::BoolValue(b))),
        any::<i64>().prop_map(|i| Some(any_value::Value::IntValue(i))),
        any::<f64>().prop_map(|d| Some(any_value::Value::DoubleValue(d))),
        prop::collection::vec(any::<u8>(), 0..6)
            .prop_map(|b| Some(any_value::Value::BytesValue(b))),
    ];
    if depth == 0 {
        return leaf.prop_map(|value| AnyValue { value }).boxed();
    }
    prop_oneof![
        4 => leaf.prop_map(|value| AnyValue { value }),
        1 => prop::collection::vec(any_value(depth - 1), 0..3).prop_map(|values| AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue { values }))
        }),
        1 => prop::collection::vec(key_value(depth - 1), 0..3).prop_map(|values| AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList { values }))
        }),
    ]
    .boxed()
}

fn key_value(depth: u32) -> BoxedStrategy<KeyValue> {
    ("[a-z.]{0,8}", proptest::option::of(any_value(depth)))
        .prop_map(|(key, value)| KeyValue {
            key,
            value,
            ..Default::default()
        })
        .boxed()
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(key_value(2), 0..4)
}

/// Ids that are sometimes the wrong length or all zero, so `remove_invalid` has work.
fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(any::<u8>(), len..=len),
        1 => Just(vec![0; len]),
        1 => prop::collection::vec(any::<u8>(), 0..20),
    ]
}

fn resource() -> impl Strategy<Value = Option<Resource>> {
    proptest::option::of(
        (attributes(), any::<u32>()).prop_map(|(attributes, dropped)| Resource {
            attributes,
            dropped_attributes_count: dropped,
            ..Default::default()
        }),
    )
}

fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    proptest::option::of(("[a-z]{0,6}", attributes()).prop_map(|(name, attributes)| {
        InstrumentationScope {
            name,
            attributes,
            ..Default::default()
        }
    }))
}

fn span() -> impl Strategy<Value = Span> {
    (
        id(16),
        id(8),
        id(8),
        "[a-z]{0,8}",
        any::<u64>(),
        attributes(),
        prop::collection::vec((any::<u64>(), "[a-z]{0,4}", attributes()), 0..2),
        prop::collection::vec((id(16), id(8), attributes()), 0..2),
        proptest::option::of((0i32..3, "[a-z]{0,4}")),
        any::<u32>(),
    )
        .prop_map(
            |(trace_id, span_id, parent, name, start, attributes, events, links, status, flags)| {
                Span {
                    trace_id,
                    span_id,
                    parent_span_id: if parent.len() % 3 == 0 {
                        Vec::new()
                    } else {
                        parent
                    },
                    name,
                    start_time_unix_nano: start,
                    end_time_unix_nano: start.wrapping_add(5),
                    attributes,
                    events: events
                        .into_iter()
                        .map(|(time, name, attributes)| Event {
                            time_unix_nano: time,
                            name,
                            attributes,
                            dropped_attributes_count: 0,
                        })
                        .collect(),
                    links: links
                        .into_iter()
                        .map(|(trace_id, span_id, attributes)| Link {
                            trace_id,
                            span_id,
                            attributes,
                            ..Default::default()
                        })
                        .collect(),
                    status: status.map(|(code, message)| Status { code, message }),
                    flags,
                    ..Default::default()
                }
            },
        )
}

fn traces() -> impl Strategy<Value = ExportTraceServiceRequest> {
    prop::collection::vec(
        (
            resource(),
            prop::collection::vec((scope(), prop::collection::vec(span(), 0..4)), 0..3),
        ),
        0..3,
    )
    .prop_map(|resources| ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(resource, scopes)| ResourceSpans {
                resource,
                scope_spans: scopes
                    .into_iter()
                    .map(|(scope, spans)| ScopeSpans {
                        scope,
                        spans,
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            })
            .collect(),
    })
}

fn log_record() -> impl Strategy<Value = LogRecord> {
    (
        any::<u64>(),
        proptest::option::of(any_value(2)),
        attributes(),
        prop_oneof![Just(Vec::new()), id(16)],
        prop_oneof![Just(Vec::new()), id(8)],
    )
        .prop_map(|(time, body, attributes, trace_id, span_id)| LogRecord {
            time_unix_nano: time,
            body,
            attributes,
            trace_id,
            span_id,
            ..Default::default()
        })
}

fn logs() -> impl Strategy<Value = ExportLogsServiceRequest> {
    prop::collection::vec(
        (
            resource(),
            prop::collection::vec((scope(), prop::collection::vec(log_record(), 0..4)), 0..3),
        ),
        0..3,
    )
    .prop_map(|resources| ExportLogsServiceRequest {
        resource_logs: resources
            .into_iter()
            .map(|(resource, scopes)| ResourceLogs {
                resource,
                scope_logs: scopes
                    .into_iter()
                    .map(|(scope, log_records)| ScopeLogs {
                        scope,
                        log_records,
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    })
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    prop::collection::vec(
        (any::<u64>(), any::<f64>(), id(8), id(16)).prop_map(|(time, value, span_id, trace_id)| {
            Exemplar {
                time_unix_nano: time,
                value: Some(
                    opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(value),
                ),
                span_id,
                trace_id,
                ..Default::default()
            }
        }),
        0..2,
    )
}

fn metric() -> impl Strategy<Value = Metric> {
    let number = (attributes(), any::<u64>(), any::<i64>(), exemplars())
        .prop_map(|(attributes, time, value, exemplars)| NumberDataPoint {
            attributes,
            time_unix_nano: time,
            value: Some(number_data_point::Value::AsInt(value)),
            exemplars,
            ..Default::default()
        })
        .boxed();
    let histogram = (
        attributes(),
        prop::collection::vec(any::<u64>(), 0..4),
        any::<u64>(),
    )
        .prop_map(|(attributes, bucket_counts, count)| HistogramDataPoint {
            attributes,
            count,
            explicit_bounds: (0..bucket_counts.len().saturating_sub(1))
                .map(|i| i as f64)
                .collect(),
            bucket_counts,
            sum: Some(1.5),
            ..Default::default()
        });
    let exponential = (
        attributes(),
        prop::collection::vec(any::<u64>(), 0..4),
        -3i32..3,
    )
        .prop_map(
            |(attributes, bucket_counts, scale)| ExponentialHistogramDataPoint {
                attributes,
                scale,
                positive: Some(Buckets {
                    offset: -2,
                    bucket_counts,
                }),
                ..Default::default()
            },
        );
    let summary = (attributes(), any::<f64>()).prop_map(|(attributes, sum)| SummaryDataPoint {
        attributes,
        sum,
        quantile_values: vec![ValueAtQuantile {
            quantile: 0.5,
            value: sum,
        }],
        ..Default::default()
    });
    let data = prop_oneof![
        Just(None),
        prop::collection::vec(number.clone(), 0..3)
            .prop_map(|data_points| Some(Data::Gauge(Gauge { data_points }))),
        prop::collection::vec(number, 0..3).prop_map(|data_points| Some(Data::Sum(Sum {
            data_points,
            aggregation_temporality: 2,
            is_monotonic: true,
        }))),
        prop::collection::vec(histogram, 0..3).prop_map(|data_points| Some(Data::Histogram(
            Histogram {
                data_points,
                aggregation_temporality: 1,
            }
        ))),
        prop::collection::vec(exponential, 0..3).prop_map(|data_points| Some(
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points,
                aggregation_temporality: 1,
            })
        )),
        prop::collection::vec(summary, 0..3)
            .prop_map(|data_points| Some(Data::Summary(Summary { data_points }))),
    ];
    ("[a-z.]{0,8}", data, attributes()).prop_map(|(name, data, metadata)| Metric {
        name,
        data,
        metadata,
        ..Default::default()
    })
}

fn metrics() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    prop::collection::vec(
        (
            resource(),
            prop::collection::vec((scope(), prop::collection::vec(metric(), 0..3)), 0..3),
        ),
        0..3,
    )
    .prop_map(|resources| ExportMetricsServiceRequest {
        resource_metrics: resources
            .into_iter()
            .map(|(resource, scopes)| ResourceMetrics {
                resource,
                scope_metrics: scopes
                    .into_iter()
                    .map(|(scope, metrics)| ScopeMetrics {
                        scope,
                        metrics,
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    })
}

/// What prost says of `bytes`: `None` if they do not decode, else the item count and how many items
/// `remove_invalid` removes.
fn reference<R: OtlpRequest>(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut request = R::decode(bytes).ok()?;
    let items = request.item_count();
    let invalid = request
        .remove_invalid()
        .map_or(0, |rejected| rejected.items as usize);
    Some((items, invalid))
}

fn agree<R: OtlpRequest>(bytes: &[u8]) -> Result<(), TestCaseError> {
    let fast = wire::scan(R::SIGNAL, bytes)
        .ok()
        .map(|scan| (scan.items, scan.invalid));
    prop_assert_eq!(fast, reference::<R>(bytes), "bytes: {:02x?}", bytes);
    Ok(())
}

/// A damaged copy of `bytes`: one byte changed, the tail cut, or bytes inserted.
fn damage(bytes: &[u8], how: u8, at: usize, with: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return vec![with];
    }
    let at = at % out.len();
    match how % 4 {
        0 => out[at] = with,
        1 => out.truncate(at),
        2 => out.insert(at, with),
        _ => out[at] ^= 1 << (with % 8),
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn traces_agree(request in traces()) {
        agree::<ExportTraceServiceRequest>(&request.encode_to_vec())?;
    }

    #[test]
    fn logs_agree(request in logs()) {
        agree::<ExportLogsServiceRequest>(&request.encode_to_vec())?;
    }

    #[test]
    fn metrics_agree(request in metrics()) {
        agree::<ExportMetricsServiceRequest>(&request.encode_to_vec())?;
    }

    #[test]
    fn damaged_traces_agree(request in traces(), how: u8, at: usize, with: u8) {
        agree::<ExportTraceServiceRequest>(&damage(&request.encode_to_vec(), how, at, with))?;
    }

    #[test]
    fn damaged_logs_agree(request in logs(), how: u8, at: usize, with: u8) {
        agree::<ExportLogsServiceRequest>(&damage(&request.encode_to_vec(), how, at, with))?;
    }

    #[test]
    fn damaged_metrics_agree(request in metrics(), how: u8, at: usize, with: u8) {
        agree::<ExportMetricsServiceRequest>(&damage(&request.encode_to_vec(), how, at, with))?;
    }

    #[test]
    fn random_bytes_agree(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        agree::<ExportTraceServiceRequest>(&bytes)?;
        agree::<ExportLogsServiceRequest>(&bytes)?;
        agree::<ExportMetricsServiceRequest>(&bytes)?;
    }
}

#[test]
fn a_oneof_variant_sent_twice_merges_and_a_new_one_replaces() {
    let gauge = |points: usize| Metric {
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default(); points],
        })),
        ..Default::default()
    };
    let sum = |points: usize| Metric {
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint::default(); points],
            ..Default::default()
        })),
        ..Default::default()
    };
    // Concatenated encodings of one message merge field by field.
    let one = |metric: Metric| {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![metric],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    };
    let metric_bytes = |metric: Metric| metric.encode_to_vec();
    for (first, second) in [(gauge(2), gauge(3)), (gauge(2), sum(3)), (sum(4), gauge(1))] {
        let mut merged = metric_bytes(first);
        merged.extend(metric_bytes(second));
        let merged = Metric::decode(merged.as_slice()).unwrap();
        let bytes = one(merged.clone());
        assert_eq!(
            wire::scan(Signal::Metrics, &bytes).unwrap().items,
            reference::<ExportMetricsServiceRequest>(&bytes).unwrap().0
        );
    }
}

#[test]
fn nesting_beyond_prost_s_limit_is_refused_like_prost() {
    for depth in [90, 95, 96, 97, 98, 99, 100] {
        let mut value = AnyValue {
            value: Some(any_value::Value::IntValue(1)),
        };
        for _ in 0..depth {
            value = AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![value],
                })),
            };
        }
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        body: Some(value),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let bytes = request.encode_to_vec();
        assert_eq!(
            wire::scan(Signal::Logs, &bytes).ok().map(|s| s.items),
            reference::<ExportLogsServiceRequest>(&bytes).map(|r| r.0),
            "depth {depth}"
        );
    }
}

/// `bytes` as a length-delimited field.
fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![(number << 3) | 2];
    prost::encoding::encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

#[test]
fn hand_made_attributes_are_judged_like_prost() {
    // Each a `KeyValue`'s bytes: the scanner has its own loops for `KeyValue` and `AnyValue`.
    let attributes: [&[u8]; 16] = [
        &[0x0a, 0x01, b'k', 0x12, 0x03, 0x0a, 0x01, b'v'], // key "k", string value "v"
        &[0x08, 0x05],                                     // key sent as a varint
        &[0x0a, 0x01, 0xff],                               // key not UTF-8
        &[0x10, 0x01],                                     // value sent as a varint
        &[0x12, 0x03, 0x0a, 0x01, 0xff],                   // string value not UTF-8
        &[0x12, 0x03, 0x1a, 0x01, 0x00],                   // int value sent length-delimited
        &[0x12, 0x02, 0x20, 0x01],                         // double value sent as a varint
        &[0x12, 0x02, 0x48, 0x01],                         // unknown AnyValue field: skipped
        &[0x12, 0x06, 0x32, 0x04, 0x0a, 0x02, 0x08, 0x05], // key-value list whose key is a varint
        &[0x12, 0x07, 0x2a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff], // array holding a bad string
        &[0x18, 0x07],                                     // key_strindex
        &[0x1d, 0, 0, 0, 0],                               // key_strindex sent as fixed32
        &[0x2b, 0x2c],                                     // unknown group: skipped
        &[0x2c],                                           // end group without a start
        &[0x12, 0x05, 0x0a, 0x01],                         // value cut short
        &[0x12, 0x02, 0x3a, 0x00],                         // empty bytes value
    ];
    let mut accepted = 0;
    for attribute in attributes {
        let mut span = field(1, &[1; 16]);
        span.extend(field(2, &[2; 8]));
        span.extend(field(9, attribute));
        let request = field(1, &field(2, &field(2, &span)));
        agree::<ExportTraceServiceRequest>(&request).unwrap();
        accepted += usize::from(wire::scan(Signal::Traces, &request).is_ok());
        // The same attribute on the resource, the scope, an event and a log record.
        let resource = field(1, &field(1, attribute));
        agree::<ExportTraceServiceRequest>(&field(1, &resource)).unwrap();
        let scope = field(1, &field(3, attribute));
        agree::<ExportTraceServiceRequest>(&field(1, &field(2, &scope))).unwrap();
        let mut with_event = field(1, &[1; 16]);
        with_event.extend(field(2, &[2; 8]));
        with_event.extend(field(11, &field(3, attribute)));
        agree::<ExportTraceServiceRequest>(&field(1, &field(2, &field(2, &with_event)))).unwrap();
        let log = field(6, attribute);
        agree::<ExportLogsServiceRequest>(&field(1, &field(2, &field(2, &log)))).unwrap();
    }
    // The valid, skipped-unknown, key_strindex, group and empty-bytes cases; every other one is refused.
    assert_eq!(accepted, 5);
}

#[test]
fn attributes_of_the_common_shapes_are_judged_like_prost() {
    // A key, then a value holding one field: the shapes the scanner reads without its field loops, and their
    // near misses, which it must leave to the loops. Each is the `KeyValue`'s bytes after the key "k".
    let key = [0x0a, 0x01, b'k'];
    let long_text = [b'a'; 128];
    let long_value = field(1, &long_text);
    let values: Vec<Vec<u8>> = vec![
        vec![0x12, 0x03, 0x0a, 0x01, b'v'],       // string
        vec![0x12, 0x02, 0x0a, 0x00],             // empty string
        vec![0x12, 0x03, 0x0a, 0x01, 0xff],       // string not UTF-8
        vec![0x12, 0x04, 0x0a, 0x02, 0xc3, 0xa9], // "é"
        vec![0x12, 0x03, 0x0a, 0x01, 0xc3],       // half of "é"
        vec![0x12, 0x02, 0x10, 0x01],             // bool
        vec![0x12, 0x02, 0x18, 0x7f],             // int
        vec![
            0x12, 0x0b, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ], // 10-byte varint
        vec![
            0x12, 0x0b, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ], // overflows
        vec![
            0x12, 0x0c, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ], // 11 bytes
        vec![0x12, 0x02, 0x18, 0x80],             // varint cut short
        vec![0x12, 0x03, 0x18, 0x01, 0x18],       // int, then a key with no value
        vec![0x12, 0x04, 0x18, 0x01, 0x18, 0x02], // int twice: the last wins
        vec![0x12, 0x04, 0x18, 0x01, 0x0a, 0x00], // int, then a string: the oneof's last wins
        vec![0x12, 0x02, 0x40, 0x05],             // string_value_strindex
        vec![0x12, 0x09, 0x21, 1, 2, 3, 4, 5, 6, 7, 8], // double
        vec![0x12, 0x08, 0x21, 1, 2, 3, 4, 5, 6, 7], // double cut short
        vec![0x12, 0x0a, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 9], // double and a stray byte
        vec![0x12, 0x02, 0x3a, 0x00],             // empty bytes
        vec![0x12, 0x03, 0x3a, 0x01, 0xff],       // bytes are not text: any byte goes
        vec![0x12, 0x04, 0x0a, 0x01, b'v'],       // value longer than its bytes
        vec![0x12, 0x02, 0x0a, 0x01, b'v'],       // value shorter than its string
        field(2, &long_value),                    // a 128-byte string: two-byte lengths
        [field(2, &[0x0a, 0x01, b'v']), vec![0x18, 0x07]].concat(), // then key_strindex
        [field(2, &[0x0a, 0x01, 0xff]), vec![0x18, 0x07]].concat(), // the same with a bad string
        [field(2, &[0x0a, 0x01, b'v']), key.to_vec()].concat(), // then the key again
    ];
    let mut accepted = 0;
    for value in &values {
        for attribute in [
            [&key[..], value].concat(),
            [&[0x0a, 0x01, 0xff][..], value].concat(), // the same with a key that is not UTF-8
            [value.as_slice(), &key[..]].concat(),     // value first
        ] {
            let mut span = field(1, &[1; 16]);
            span.extend(field(2, &[2; 8]));
            span.extend(field(9, &attribute));
            let request = field(1, &field(2, &field(2, &span)));
            agree::<ExportTraceServiceRequest>(&request).unwrap();
            accepted += usize::from(wire::scan(Signal::Traces, &request).is_ok());
            let resource = field(1, &field(1, &attribute));
            agree::<ExportTraceServiceRequest>(&field(1, &resource)).unwrap();
            let log = field(6, &attribute);
            agree::<ExportLogsServiceRequest>(&field(1, &field(2, &field(2, &log)))).unwrap();
        }
    }
    // Some of each, so that neither answer is the only one tested.
    assert!(
        accepted > 20 && accepted < 3 * values.len() - 20,
        "{accepted}"
    );
}
