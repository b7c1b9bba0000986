//! Behaviour of the generator: determinism, exact counts, structural validity of the traces,
//! error rate, realistic sizes and protobuf round trips, for traces, metrics and logs.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::SeverityNumber;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otlp_testkit::{Error, Generator, data_point_count, log_record_count, span_count};
use prost::Message;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Spans of a request with the `service.name` of their resource.
fn spans_with_service(request: &ExportTraceServiceRequest) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    for resource_spans in &request.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
            .and_then(|a| a.value.as_ref())
            .and_then(|v| match &v.value {
                Some(Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .expect("every resource has a string service.name");
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans.scope.as_ref().expect("every span has a scope");
            assert!(!scope.name.is_empty() && !scope.version.is_empty());
            for span in &scope_spans.spans {
                out.push((service.clone(), span.clone()));
            }
        }
    }
    out
}

/// Generates `calls` requests of `batch` spans, then drains the carried-over rest, and
/// returns all spans grouped by trace id.
fn traces_by_id(
    generator: &mut Generator,
    calls: usize,
    batch: usize,
) -> BTreeMap<Vec<u8>, Vec<Span>> {
    let mut traces: BTreeMap<Vec<u8>, Vec<Span>> = BTreeMap::new();
    let mut requests: Vec<ExportTraceServiceRequest> =
        (0..calls).map(|_| generator.traces(batch)).collect();
    requests.push(generator.whole_traces(0));
    assert_eq!(generator.carried_over_spans(), 0);
    for request in &requests {
        for (_, span) in spans_with_service(request) {
            traces.entry(span.trace_id.clone()).or_default().push(span);
        }
    }
    traces
}

fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| match a.value.as_ref()?.value {
            Some(Value::IntValue(v)) => Some(v),
            _ => None,
        })
}

#[test]
fn same_seed_gives_identical_bytes_and_different_seeds_differ() {
    let encode_all = |seed: u64| {
        let mut generator = Generator::new(seed);
        let mut bytes = Vec::new();
        for n in [1, 100, 333] {
            bytes.extend(generator.traces(n).encode_to_vec());
            bytes.extend(generator.metrics(n).encode_to_vec());
            bytes.extend(generator.logs(n).encode_to_vec());
        }
        bytes
    };
    assert_eq!(encode_all(7), encode_all(7));
    assert_ne!(encode_all(7), encode_all(8));
}

#[test]
fn signals_use_independent_random_streams() {
    let mut only_traces = Generator::new(5);
    let mut mixed = Generator::new(5);
    let expected = only_traces.traces(200);
    let _ = mixed.metrics(500);
    let _ = mixed.logs(500);
    assert_eq!(mixed.traces(200), expected);
}

#[test]
fn generator_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<Generator>();
    let mut generator = Generator::new(6);
    let expected = generator.clone().traces(10);
    let from_thread = std::thread::spawn(move || generator.traces(10))
        .join()
        .expect("thread");
    assert_eq!(from_thread, expected);
}

#[test]
fn clone_continues_where_the_original_stands() {
    let mut generator = Generator::new(11);
    let _ = generator.traces(37);
    let mut clone = generator.clone();
    assert_eq!(clone.traces(50), generator.traces(50));
}

#[test]
fn requests_hold_exactly_the_requested_number_of_items() {
    let mut generator = Generator::new(3);
    for n in [0, 1, 7, 1000, 1, 0, 64, 999] {
        assert_eq!(span_count(&generator.traces(n)), n, "spans for n={n}");
        assert_eq!(
            data_point_count(&generator.metrics(n)),
            n,
            "data points for n={n}"
        );
        assert_eq!(
            log_record_count(&generator.logs(n)),
            n,
            "log records for n={n}"
        );
    }
    assert!(generator.traces(0).resource_spans.is_empty());
}

#[test]
fn traces_are_valid_trees_across_request_boundaries() {
    let mut generator = Generator::new(21);
    let traces = traces_by_id(&mut generator, 40, 97);
    assert!(traces.len() > 100, "only {} traces", traces.len());
    let mut kinds = HashSet::new();
    for (trace_id, spans) in &traces {
        assert_eq!(trace_id.len(), 16);
        assert!(trace_id.iter().any(|b| *b != 0));
        let by_id: HashMap<&[u8], &Span> =
            spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
        assert_eq!(
            by_id.len(),
            spans.len(),
            "span ids are unique within a trace"
        );
        let roots: Vec<&Span> = spans
            .iter()
            .filter(|s| s.parent_span_id.is_empty())
            .collect();
        assert_eq!(roots.len(), 1, "one root per trace");
        assert_eq!(
            roots[0].kind,
            SpanKind::Server as i32,
            "the root is the edge server span"
        );
        for span in spans {
            kinds.insert(span.kind);
            assert_eq!(span.span_id.len(), 8);
            assert!(span.span_id.iter().any(|b| *b != 0));
            assert!(!span.name.is_empty());
            assert_eq!(span.flags & 0x3, 0x3, "sampled and random flags");
            assert!(
                span.start_time_unix_nano < span.end_time_unix_nano,
                "{} has no duration",
                span.name
            );
            for event in &span.events {
                let inside = span.start_time_unix_nano..=span.end_time_unix_nano;
                assert!(
                    inside.contains(&event.time_unix_nano),
                    "event {} of {}",
                    event.name,
                    span.name
                );
            }
            if span.parent_span_id.is_empty() {
                continue;
            }
            let parent = by_id
                .get(span.parent_span_id.as_slice())
                .unwrap_or_else(|| panic!("parent of {} is in the same trace", span.name));
            assert!(
                span.start_time_unix_nano >= parent.start_time_unix_nano,
                "{} starts before {}",
                span.name,
                parent.name
            );
            assert!(
                span.end_time_unix_nano <= parent.end_time_unix_nano,
                "{} ends after {}",
                span.name,
                parent.name
            );
            let remote =
                span.kind == SpanKind::Server as i32 || span.kind == SpanKind::Consumer as i32;
            assert_eq!(
                span.flags & 0x200 != 0,
                remote,
                "is-remote flag of {}",
                span.name
            );
            if remote {
                let expected_parent_kind = if span.kind == SpanKind::Server as i32 {
                    SpanKind::Client
                } else {
                    SpanKind::Producer
                };
                assert_eq!(
                    parent.kind, expected_parent_kind as i32,
                    "parent of {}",
                    span.name
                );
            }
            if span.kind == SpanKind::Consumer as i32 {
                assert_eq!(span.links.len(), 1);
                assert_eq!(
                    span.links[0].span_id, span.parent_span_id,
                    "the consumer links to its producer"
                );
            }
        }
    }
    for kind in [
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Internal,
        SpanKind::Producer,
        SpanKind::Consumer,
    ] {
        assert!(
            kinds.contains(&(kind as i32)),
            "{kind:?} spans are generated"
        );
    }
}

#[test]
fn spans_carry_semantic_convention_attributes_for_their_kind() {
    let request = Generator::new(4).traces(2000);
    let mut seen = HashSet::new();
    for (service, span) in spans_with_service(&request) {
        assert!(!service.is_empty());
        let keys: HashSet<&str> = span.attributes.iter().map(|a| a.key.as_str()).collect();
        seen.extend(keys.iter().map(|k| k.to_string()));
        if keys.contains("http.request.method") {
            assert!(
                keys.contains("http.response.status_code") && keys.contains("server.address"),
                "{}",
                span.name
            );
        }
        if keys.contains("rpc.system") {
            assert!(
                keys.contains("rpc.service")
                    && keys.contains("rpc.method")
                    && keys.contains("rpc.grpc.status_code")
            );
        }
        if keys.contains("db.system.name") {
            assert!(keys.contains("db.operation.name") && keys.contains("db.query.text"));
        }
        if keys.contains("messaging.system") {
            assert!(
                keys.contains("messaging.destination.name")
                    && keys.contains("messaging.operation.type")
            );
        }
    }
    for key in [
        "http.route",
        "url.path",
        "user_agent.original",
        "network.protocol.version",
        "server.port",
        "db.namespace",
        "app.user.id",
        "app.cart.items",
        "app.order.amount",
        "app.feature_flags",
        "app.cache.hit",
    ] {
        assert!(seen.contains(key), "some span has {key}");
    }
    let states: HashSet<String> = spans_with_service(&request)
        .into_iter()
        .map(|(_, s)| s.trace_state)
        .collect();
    assert!(
        states
            .iter()
            .any(|s| s.starts_with("ot=th:0;rv:") && s.len() == "ot=th:0;rv:".len() + 14)
    );
    assert!(states.contains(""));
}

#[test]
fn share_of_failed_traces_matches_the_error_rate() {
    for rate in [0.02, 0.2] {
        let mut generator = Generator::new(99)
            .with_error_rate(rate)
            .expect("valid rate");
        let traces = traces_by_id(&mut generator, 60, 1000);
        let failed = traces
            .values()
            .filter(|spans| {
                spans.iter().any(|s| {
                    s.status
                        .as_ref()
                        .is_some_and(|st| st.code == StatusCode::Error as i32)
                })
            })
            .count();
        let observed = failed as f64 / traces.len() as f64;
        // Four standard deviations of a binomial share: deterministic for the seed, and
        // far from both neighbouring rates.
        let tolerance = 4.0 * (rate * (1.0 - rate) / traces.len() as f64).sqrt();
        assert!(
            (observed - rate).abs() < tolerance,
            "rate {rate}: observed {observed} over {} traces",
            traces.len()
        );
        for spans in traces.values() {
            let exceptions: Vec<&Span> = spans
                .iter()
                .filter(|s| s.events.iter().any(|e| e.name == "exception"))
                .collect();
            let has_error = spans.iter().any(|s| {
                s.status
                    .as_ref()
                    .is_some_and(|st| st.code == StatusCode::Error as i32)
            });
            assert_eq!(
                exceptions.len(),
                usize::from(has_error),
                "one exception per failed trace"
            );
            for span in exceptions {
                let event = span
                    .events
                    .iter()
                    .find(|e| e.name == "exception")
                    .expect("exception event");
                let keys: Vec<&str> = event.attributes.iter().map(|a| a.key.as_str()).collect();
                assert_eq!(
                    keys,
                    [
                        "exception.type",
                        "exception.message",
                        "exception.stacktrace"
                    ]
                );
            }
            for span in spans.iter().filter(|s| {
                s.status
                    .as_ref()
                    .is_some_and(|st| st.code == StatusCode::Error as i32)
            }) {
                if let Some(code) = int_attribute(span, "http.response.status_code") {
                    assert_eq!(code, 500);
                }
                if let Some(code) = int_attribute(span, "rpc.grpc.status_code") {
                    assert_ne!(code, 0);
                }
            }
        }
    }
    let mut healthy = Generator::new(99).with_error_rate(0.0).expect("valid rate");
    let request = healthy.traces(5000);
    assert!(
        spans_with_service(&request)
            .iter()
            .all(|(_, s)| s.status.is_none())
    );
}

#[test]
fn invalid_error_rate_is_rejected() {
    let error = Generator::new(1)
        .with_error_rate(-0.1)
        .expect_err("negative rate");
    assert!(matches!(error, Error::InvalidErrorRate(_)));
    assert!(error.to_string().contains("-0.1"));
}

#[test]
fn encoded_span_size_is_in_a_production_like_band() {
    let mut generator = Generator::new(17);
    for batch in [100, 512, 5000] {
        let request = generator.traces(batch);
        let per_span = request.encoded_len() as f64 / batch as f64;
        assert!(
            (250.0..900.0).contains(&per_span),
            "{per_span} bytes per span in a batch of {batch}"
        );
    }
}

#[test]
fn protobuf_round_trip_is_lossless() {
    let mut generator = Generator::new(23);
    let traces = generator.traces(500);
    assert_eq!(
        ExportTraceServiceRequest::decode(traces.encode_to_vec().as_slice()).expect("decode"),
        traces
    );
    let metrics = generator.metrics(500);
    assert_eq!(
        ExportMetricsServiceRequest::decode(metrics.encode_to_vec().as_slice()).expect("decode"),
        metrics
    );
    let logs = generator.logs(500);
    assert_eq!(
        ExportLogsServiceRequest::decode(logs.encode_to_vec().as_slice()).expect("decode"),
        logs
    );
}

#[test]
fn start_time_moves_the_timeline() {
    let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let start_ns = 1_800_000_000_000_000_000u64;
    let mut generator = Generator::new(2).with_start_time(start);
    let request = generator.traces(300);
    for (_, span) in spans_with_service(&request) {
        assert!(
            span.start_time_unix_nano >= start_ns
                && span.start_time_unix_nano < start_ns + 3_600_000_000_000
        );
    }
    let logs = generator.logs(10);
    let record = &logs.resource_logs[0].scope_logs[0].log_records[0];
    assert!(record.time_unix_nano >= start_ns);
    let now = Generator::new(2)
        .with_start_time(SystemTime::now())
        .traces(1);
    assert_ne!(now, Generator::new(2).traces(1));
}

#[test]
fn metrics_cover_every_point_type_and_cumulative_series_only_grow() {
    let mut generator = Generator::new(8);
    let mut types = HashSet::new();
    let mut last_cumulative: HashMap<(String, String, String), f64> = HashMap::new();
    let mut exemplars = 0;
    for _ in 0..6 {
        let request = generator.metrics(700);
        for resource in &request.resource_metrics {
            let service = format!("{:?}", resource.resource.as_ref().map(|r| &r.attributes[0]));
            for metric in resource.scope_metrics.iter().flat_map(|s| &s.metrics) {
                let data = metric.data.as_ref().expect("every metric has data");
                let mut observe = |attributes: String, value: f64| {
                    let key = (service.clone(), metric.name.clone(), attributes);
                    if let Some(previous) = last_cumulative.insert(key, value) {
                        assert!(
                            value >= previous,
                            "{} went down from {previous} to {value}",
                            metric.name
                        );
                    }
                };
                match data {
                    Data::Gauge(g) => {
                        types.insert("gauge");
                        assert!(g.data_points.iter().all(|p| p.start_time_unix_nano == 0));
                    }
                    Data::Sum(s) => {
                        types.insert(if s.aggregation_temporality == 1 {
                            "delta sum"
                        } else {
                            "cumulative sum"
                        });
                        for p in &s.data_points {
                            assert!(p.time_unix_nano > p.start_time_unix_nano);
                            let value = match p.value {
                                Some(number_data_point::Value::AsInt(v)) => v as f64,
                                Some(number_data_point::Value::AsDouble(v)) => v,
                                None => panic!("number point without value"),
                            };
                            if s.is_monotonic && s.aggregation_temporality == 2 {
                                observe(format!("{:?}", p.attributes), value);
                            }
                        }
                    }
                    Data::Histogram(h) => {
                        types.insert("histogram");
                        for p in &h.data_points {
                            assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
                            assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
                            assert!(p.min <= p.max);
                            observe(format!("{:?}", p.attributes), p.count as f64);
                            exemplars += p.exemplars.len();
                            for e in &p.exemplars {
                                assert_eq!((e.trace_id.len(), e.span_id.len()), (16, 8));
                            }
                        }
                    }
                    Data::ExponentialHistogram(h) => {
                        types.insert("exponential histogram");
                        for p in &h.data_points {
                            let positive = p.positive.as_ref().expect("positive buckets");
                            assert_eq!(
                                positive.bucket_counts.iter().sum::<u64>() + p.zero_count,
                                p.count
                            );
                            observe(format!("{:?}", p.attributes), p.count as f64);
                            exemplars += p.exemplars.len();
                        }
                    }
                    Data::Summary(s) => {
                        types.insert("summary");
                        for p in &s.data_points {
                            let quantiles: Vec<f64> =
                                p.quantile_values.iter().map(|q| q.value).collect();
                            assert!(
                                quantiles.windows(2).all(|w| w[0] <= w[1]),
                                "quantiles are ordered"
                            );
                            observe(format!("{:?}", p.attributes), p.count as f64);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(types.len(), 6, "{types:?}");
    assert!(exemplars > 0);
}

#[test]
fn logs_have_a_realistic_severity_mix_bodies_and_correlation() {
    let request = Generator::new(12).logs(5000);
    let records: Vec<_> = request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .collect();
    let count = |severity: SeverityNumber| {
        records
            .iter()
            .filter(|r| r.severity_number == severity as i32)
            .count()
    };
    let info = count(SeverityNumber::Info);
    assert!(info > records.len() * 7 / 10, "mostly INFO: {info}");
    assert!(count(SeverityNumber::Warn) > 0 && count(SeverityNumber::Error) > 0);
    let structured = records
        .iter()
        .filter(|r| {
            matches!(
                r.body.as_ref().and_then(|b| b.value.as_ref()),
                Some(Value::KvlistValue(_))
            )
        })
        .count();
    assert!(structured > 0 && structured < records.len());
    let correlated = records
        .iter()
        .filter(|r| r.trace_id.len() == 16 && r.span_id.len() == 8)
        .count();
    assert!(
        correlated > records.len() * 3 / 4,
        "most records carry a trace context: {correlated}"
    );
    assert!(records.iter().any(|r| !r.event_name.is_empty()));
    for record in &records {
        assert!(record.observed_time_unix_nano >= record.time_unix_nano);
        assert!(!record.severity_text.is_empty());
        assert!(record.trace_id.is_empty() || record.trace_id.iter().any(|b| *b != 0));
    }
}
