//! Proptest strategies for arbitrary OTLP requests of all three signals, every
//! `AnyValue` kind included, shared by the property tests of both layouts.

#![allow(dead_code)]

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point, metric, number_data_point,
    summary_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Short strings from a small alphabet, so dictionaries see repeats, plus the odd
/// arbitrary Unicode string.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-c]{0,3}", 1 => any::<String>()]
}

pub fn double() -> impl Strategy<Value = f64> {
    // NaN != NaN would make equal messages compare unequal.
    any::<f64>().prop_filter("NaN", |f| !f.is_nan())
}

pub fn any_value() -> impl Strategy<Value = AnyValue> {
    use any_value::Value;
    let leaf = prop_oneof![
        Just(None),
        text().prop_map(|s| Some(Value::StringValue(s))),
        any::<bool>().prop_map(|b| Some(Value::BoolValue(b))),
        any::<i64>().prop_map(|i| Some(Value::IntValue(i))),
        double().prop_map(|d| Some(Value::DoubleValue(d))),
        vec(any::<u8>(), 0..6).prop_map(|b| Some(Value::BytesValue(b))),
        any::<i32>().prop_map(|i| Some(Value::StringValueStrindex(i))),
    ]
    .prop_map(|value| AnyValue { value });
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values })),
            }),
            vec((text(), option::of(inner), any::<i32>()), 0..4).prop_map(|kvs| AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(key, value, key_strindex)| KeyValue {
                            key,
                            value,
                            key_strindex,
                        })
                        .collect(),
                })),
            }),
        ]
    })
}

pub fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    vec(
        (
            text(),
            option::weighted(0.9, any_value()),
            prop_oneof![3 => Just(0), 1 => any::<i32>()],
        ),
        0..4,
    )
    .prop_map(|kvs| {
        kvs.into_iter()
            .map(|(key, value, key_strindex)| KeyValue {
                key,
                value,
                key_strindex,
            })
            .collect()
    })
}

pub fn id(width: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![1 => Just(Vec::new()), 4 => vec(any::<u8>(), width)]
}

pub fn resource() -> impl Strategy<Value = Option<Resource>> {
    let entity = (text(), text(), vec(text(), 0..3), vec(text(), 0..3)).prop_map(
        |(schema_url, r#type, id_keys, description_keys)| EntityRef {
            schema_url,
            r#type,
            id_keys,
            description_keys,
        },
    );
    option::weighted(
        0.8,
        (attributes(), any::<u32>(), vec(entity, 0..2)).prop_map(
            |(attributes, dropped_attributes_count, entity_refs)| Resource {
                attributes,
                dropped_attributes_count,
                entity_refs,
            },
        ),
    )
}

pub fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    option::weighted(
        0.8,
        (text(), text(), attributes(), any::<u32>()).prop_map(
            |(name, version, attributes, dropped_attributes_count)| InstrumentationScope {
                name,
                version,
                attributes,
                dropped_attributes_count,
            },
        ),
    )
}

pub fn event() -> impl Strategy<Value = span::Event> {
    (any::<u64>(), text(), attributes(), any::<u32>()).prop_map(
        |(time_unix_nano, name, attributes, dropped_attributes_count)| span::Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count,
        },
    )
}

pub fn link() -> impl Strategy<Value = span::Link> {
    (
        id(16),
        id(8),
        text(),
        attributes(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags)| {
                span::Link {
                    trace_id,
                    span_id,
                    trace_state,
                    attributes,
                    dropped_attributes_count,
                    flags,
                }
            },
        )
}

pub fn span() -> impl Strategy<Value = Span> {
    (
        (
            id(16),
            id(8),
            text(),
            id(8),
            any::<u32>(),
            text(),
            any::<i32>(),
        ),
        (any::<u64>(), any::<u64>(), attributes(), any::<u32>()),
        (
            vec(event(), 0..3),
            any::<u32>(),
            vec(link(), 0..3),
            any::<u32>(),
        ),
        option::of((text(), any::<i32>()).prop_map(|(message, code)| Status { message, code })),
    )
        .prop_map(
            |(
                (trace_id, span_id, trace_state, parent_span_id, flags, name, kind),
                (start_time_unix_nano, end_time_unix_nano, attributes, dropped_attributes_count),
                (events, dropped_events_count, links, dropped_links_count),
                status,
            )| Span {
                trace_id,
                span_id,
                trace_state,
                parent_span_id,
                flags,
                name,
                kind,
                start_time_unix_nano,
                end_time_unix_nano,
                attributes,
                dropped_attributes_count,
                events,
                dropped_events_count,
                links,
                dropped_links_count,
                status,
            },
        )
}

pub fn traces() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope_spans =
        (scope(), vec(span(), 0..4), text()).prop_map(|(scope, spans, schema_url)| ScopeSpans {
            scope,
            spans,
            schema_url,
        });
    let resource_spans = (resource(), vec(scope_spans, 0..3), text()).prop_map(
        |(resource, scope_spans, schema_url)| ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        },
    );
    (vec(resource_spans, 0..3), any::<u64>()).prop_map(|(resource_spans, choice)| {
        let mut request = ExportTraceServiceRequest { resource_spans };
        link_parents(&mut request, choice);
        request
    })
}

/// Makes some spans children of other spans of the request (before or after them),
/// as real batches are, so in-batch parent references are exercised.
pub fn link_parents(request: &mut ExportTraceServiceRequest, choice: u64) {
    let ids: Vec<Vec<u8>> = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| s.span_id.clone())
        .collect();
    if ids.is_empty() {
        return;
    }
    let spans = request
        .resource_spans
        .iter_mut()
        .flat_map(|rs| &mut rs.scope_spans)
        .flat_map(|ss| &mut ss.spans);
    for (i, span) in spans.enumerate() {
        if (choice >> (i % 64)) & 1 == 1 {
            span.parent_span_id = ids[(i * 7 + 3) % ids.len()].clone();
        }
    }
}

pub fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    let value = option::of(prop_oneof![
        double().prop_map(exemplar::Value::AsDouble),
        any::<i64>().prop_map(exemplar::Value::AsInt),
    ]);
    vec(
        (attributes(), any::<u64>(), id(8), id(16), value).prop_map(
            |(filtered_attributes, time_unix_nano, span_id, trace_id, value)| Exemplar {
                filtered_attributes,
                time_unix_nano,
                span_id,
                trace_id,
                value,
            },
        ),
        0..2,
    )
}

pub fn number_points() -> impl Strategy<Value = Vec<NumberDataPoint>> {
    let value = option::of(prop_oneof![
        double().prop_map(number_data_point::Value::AsDouble),
        any::<i64>().prop_map(number_data_point::Value::AsInt),
    ]);
    vec(
        (
            attributes(),
            any::<u64>(),
            any::<u64>(),
            exemplars(),
            any::<u32>(),
            value,
        )
            .prop_map(
                |(attributes, start_time_unix_nano, time_unix_nano, exemplars, flags, value)| {
                    NumberDataPoint {
                        attributes,
                        start_time_unix_nano,
                        time_unix_nano,
                        exemplars,
                        flags,
                        value,
                    }
                },
            ),
        0..3,
    )
}

pub fn histogram_points() -> impl Strategy<Value = Vec<HistogramDataPoint>> {
    vec(
        (
            (
                attributes(),
                any::<u64>(),
                any::<u64>(),
                any::<u64>(),
                option::of(double()),
            ),
            (
                vec(any::<u64>(), 0..4),
                vec(double(), 0..4),
                exemplars(),
                any::<u32>(),
            ),
            (option::of(double()), option::of(double())),
        )
            .prop_map(
                |(
                    (attributes, start_time_unix_nano, time_unix_nano, count, sum),
                    (bucket_counts, explicit_bounds, exemplars, flags),
                    (min, max),
                )| HistogramDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count,
                    sum,
                    bucket_counts,
                    explicit_bounds,
                    exemplars,
                    flags,
                    min,
                    max,
                },
            ),
        0..3,
    )
}

pub fn buckets() -> impl Strategy<Value = Option<exponential_histogram_data_point::Buckets>> {
    option::of(
        (any::<i32>(), vec(any::<u64>(), 0..4)).prop_map(|(offset, bucket_counts)| {
            exponential_histogram_data_point::Buckets {
                offset,
                bucket_counts,
            }
        }),
    )
}

pub fn exp_histogram_points() -> impl Strategy<Value = Vec<ExponentialHistogramDataPoint>> {
    vec(
        (
            (
                attributes(),
                any::<u64>(),
                any::<u64>(),
                any::<u64>(),
                option::of(double()),
            ),
            (
                any::<i32>(),
                any::<u64>(),
                buckets(),
                buckets(),
                any::<u32>(),
            ),
            (
                exemplars(),
                option::of(double()),
                option::of(double()),
                double(),
            ),
        )
            .prop_map(
                |(
                    (attributes, start_time_unix_nano, time_unix_nano, count, sum),
                    (scale, zero_count, positive, negative, flags),
                    (exemplars, min, max, zero_threshold),
                )| ExponentialHistogramDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count,
                    sum,
                    scale,
                    zero_count,
                    positive,
                    negative,
                    flags,
                    exemplars,
                    min,
                    max,
                    zero_threshold,
                },
            ),
        0..3,
    )
}

pub fn summary_points() -> impl Strategy<Value = Vec<SummaryDataPoint>> {
    let quantile = (double(), double())
        .prop_map(|(quantile, value)| summary_data_point::ValueAtQuantile { quantile, value });
    vec(
        (
            attributes(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            double(),
            vec(quantile, 0..3),
            any::<u32>(),
        )
            .prop_map(
                |(
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count,
                    sum,
                    quantile_values,
                    flags,
                )| {
                    SummaryDataPoint {
                        attributes,
                        start_time_unix_nano,
                        time_unix_nano,
                        count,
                        sum,
                        quantile_values,
                        flags,
                    }
                },
            ),
        0..3,
    )
}

pub fn metric() -> impl Strategy<Value = Metric> {
    let data = option::of(prop_oneof![
        number_points().prop_map(|data_points| metric::Data::Gauge(Gauge { data_points })),
        (number_points(), any::<i32>(), any::<bool>()).prop_map(
            |(data_points, aggregation_temporality, is_monotonic)| metric::Data::Sum(Sum {
                data_points,
                aggregation_temporality,
                is_monotonic,
            })
        ),
        (histogram_points(), any::<i32>()).prop_map(|(data_points, aggregation_temporality)| {
            metric::Data::Histogram(Histogram {
                data_points,
                aggregation_temporality,
            })
        }),
        (exp_histogram_points(), any::<i32>()).prop_map(
            |(data_points, aggregation_temporality)| {
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality,
                })
            }
        ),
        summary_points().prop_map(|data_points| metric::Data::Summary(Summary { data_points })),
    ]);
    (text(), text(), text(), attributes(), data).prop_map(
        |(name, description, unit, metadata, data)| Metric {
            name,
            description,
            unit,
            metadata,
            data,
        },
    )
}

pub fn metrics() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let scope_metrics =
        (scope(), vec(metric(), 0..4), text()).prop_map(|(scope, metrics, schema_url)| {
            ScopeMetrics {
                scope,
                metrics,
                schema_url,
            }
        });
    let resource_metrics = (resource(), vec(scope_metrics, 0..3), text()).prop_map(
        |(resource, scope_metrics, schema_url)| ResourceMetrics {
            resource,
            scope_metrics,
            schema_url,
        },
    );
    vec(resource_metrics, 0..3)
        .prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}

pub fn log_record() -> impl Strategy<Value = LogRecord> {
    (
        (
            any::<u64>(),
            any::<u64>(),
            any::<i32>(),
            text(),
            option::weighted(0.8, any_value()),
        ),
        (
            attributes(),
            any::<u32>(),
            any::<u32>(),
            id(16),
            id(8),
            text(),
        ),
    )
        .prop_map(
            |(
                (time_unix_nano, observed_time_unix_nano, severity_number, severity_text, body),
                (attributes, dropped_attributes_count, flags, trace_id, span_id, event_name),
            )| LogRecord {
                time_unix_nano,
                observed_time_unix_nano,
                severity_number,
                severity_text,
                body,
                attributes,
                dropped_attributes_count,
                flags,
                trace_id,
                span_id,
                event_name,
            },
        )
}

pub fn logs() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope_logs =
        (scope(), vec(log_record(), 0..4), text()).prop_map(|(scope, log_records, schema_url)| {
            ScopeLogs {
                scope,
                log_records,
                schema_url,
            }
        });
    let resource_logs = (resource(), vec(scope_logs, 0..3), text()).prop_map(
        |(resource, scope_logs, schema_url)| ResourceLogs {
            resource,
            scope_logs,
            schema_url,
        },
    );
    vec(resource_logs, 0..3).prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}
