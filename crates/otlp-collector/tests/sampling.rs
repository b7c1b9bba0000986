//! The `tail_sampling` and `probabilistic_sampler` processors in a running collector: what is kept is exactly what
//! the policies select, late spans follow the decision, and everything not kept is counted with a reason. The
//! `probabilistic_sampler` samples received (encoded) batches in their bytes and decoded ones on the prost tree;
//! both give the same spans and counts.

mod common;

use common::{TestCollector, read_logs, read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, status::StatusCode,
};
use otlp_collector::processor::probabilistic_sampler::sample_batch;
use otlp_collector::{Batch, Config, Signal};
use otlp_sampling::probabilistic::{ProbabilisticSampler, ProbabilisticSamplerConfig};
use otlp_testkit::Generator;
use prost::Message;
use std::collections::BTreeSet;
use std::time::Duration;

const TAIL: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
processors:
  tail_sampling:
    decision_wait: 200ms
    num_traces: 10000
    policies:
      - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
exporters:
  file: { path: "{dir}/traces.jsonl" }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [tail_sampling], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

fn trace_ids_with_errors(requests: &[ExportTraceServiceRequest]) -> BTreeSet<Vec<u8>> {
    spans(requests)
        .into_iter()
        .filter(|s| {
            s.status
                .as_ref()
                .is_some_and(|st| st.code == StatusCode::Error as i32)
        })
        .map(|s| s.trace_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_sampling_keeps_exactly_the_traces_its_policies_select() {
    keeps_exactly_the_traces_with_errors(false).await;
}

/// As receivers hand them on: the requests' bytes, which the engine buffers without decoding the spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_sampling_of_encoded_batches_keeps_exactly_the_same_traces() {
    keeps_exactly_the_traces_with_errors(true).await;
}

async fn keeps_exactly_the_traces_with_errors(encoded: bool) {
    let harness = TestCollector::start(TAIL).await;
    let mut generator = Generator::new(21).with_error_rate(0.2).unwrap();
    let requests: Vec<_> = (0..20).map(|_| generator.whole_traces(200)).collect();
    let all = spans(&requests);
    let wanted = trace_ids_with_errors(&requests);
    assert!(
        !wanted.is_empty()
            && wanted.len()
                < all
                    .iter()
                    .map(|s| &s.trace_id)
                    .collect::<BTreeSet<_>>()
                    .len()
    );
    for request in &requests {
        let batch = if encoded {
            let items = request
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum();
            Batch::from_encoded(Signal::Traces, request.encode_to_vec().into(), items)
        } else {
            Batch::new(request.clone())
        };
        harness.submit_retrying(batch).await;
    }

    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    let report = collector.shutdown(Duration::from_secs(10)).await;
    assert!(report.is_clean(), "{report:?}");
    let written = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
    let written_traces: BTreeSet<_> = written.iter().map(|s| s.trace_id.clone()).collect();
    assert_eq!(
        written_traces, wanted,
        "exactly the traces with an error are kept"
    );
    let expected_spans = all.iter().filter(|s| wanted.contains(&s.trace_id)).count();
    assert_eq!(
        written.len(),
        expected_spans,
        "every span of a kept trace is kept"
    );
    let not_sampled =
        telemetry.total_with_label("otelcol_processor_dropped_spans", "reason", "not_sampled");
    assert_eq!(not_sampled as usize, all.len() - expected_spans);
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_spans"),
        telemetry.total("otelcol_exporter_sent_spans")
            + telemetry.total("otelcol_processor_dropped_spans")
    );
}

fn one_span(trace: u8, span: u8, error: bool) -> Batch {
    Batch::new(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![trace; 16],
                    span_id: vec![span; 8],
                    name: format!("span {span}"),
                    status: error.then(|| Status {
                        code: StatusCode::Error as i32,
                        message: "boom".into(),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_spans_follow_the_decision_already_made() {
    let harness = TestCollector::start(TAIL).await;
    let collector = &harness.collector;
    collector.submit(one_span(1, 1, true)).await.unwrap(); // trace 1 will be sampled
    collector.submit(one_span(2, 1, false)).await.unwrap(); // trace 2 will not
    let telemetry = collector.telemetry().clone();
    // Wait (bounded) for both decisions: one span sent, one dropped.
    for _ in 0..200 {
        if telemetry.total("otelcol_exporter_sent_spans") == 1
            && telemetry.total("otelcol_processor_dropped_spans") == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 1);

    collector.submit(one_span(1, 2, false)).await.unwrap(); // late, in a sampled trace: kept
    collector.submit(one_span(2, 2, true)).await.unwrap(); // late, in a dropped trace: dropped, error or not

    let TestCollector { collector, dir } = harness;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    let written: BTreeSet<_> = spans(&read_traces(&dir.path().join("traces.jsonl"), true))
        .into_iter()
        .map(|s| (s.trace_id[0], s.span_id[0]))
        .collect();
    assert_eq!(written, BTreeSet::from([(1, 1), (1, 2)]));
    assert_eq!(
        telemetry.total_with_label(
            "otelcol_processor_dropped_spans",
            "reason",
            "late_not_sampled"
        ),
        1
    );
}

/// At shutdown the traces still waiting are decided on what arrived, or, with otelcol's
/// `drop_pending_traces_on_shutdown`, dropped and counted under `pending_at_shutdown`: a choice, so the shutdown is
/// still clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_pending_at_shutdown_are_decided_or_dropped_as_configured() {
    for drop_pending in [false, true] {
        let config = TAIL.replace(
            "decision_wait: 200ms",
            &format!("decision_wait: 1h\n    drop_pending_traces_on_shutdown: {drop_pending}"),
        );
        let harness = TestCollector::start(&config).await;
        harness
            .collector
            .submit(one_span(1, 1, true))
            .await
            .unwrap();
        harness
            .collector
            .submit(one_span(2, 1, false))
            .await
            .unwrap();
        let TestCollector { collector, dir } = harness;
        let telemetry = collector.telemetry().clone();
        assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
        let written = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
        let dropped = |reason| {
            telemetry.total_with_label("otelcol_processor_dropped_spans", "reason", reason)
        };
        if drop_pending {
            assert!(written.is_empty());
            assert_eq!(
                (dropped("pending_at_shutdown"), dropped("not_sampled")),
                (2, 0)
            );
        } else {
            assert_eq!(written.len(), 1, "the trace with an error is kept");
            assert_eq!(
                (dropped("pending_at_shutdown"), dropped("not_sampled")),
                (0, 1)
            );
        }
    }
}

/// A decoded batch (as a processor before this one leaves it) may hold a span a receiver would have refused: it is
/// counted, not released among the sampled bytes that exporters read as checked; the rest of its trace goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_with_a_bad_span_id_is_counted_and_the_rest_kept() {
    let harness = TestCollector::start(TAIL).await;
    let mut batch = one_span(3, 1, true);
    batch.edit(|request| {
        let Some(request) = request.get_mut::<ExportTraceServiceRequest>() else {
            return;
        };
        let spans = &mut request.resource_spans[0].scope_spans[0].spans;
        let mut bad = spans[0].clone();
        bad.span_id = vec![7; 5];
        spans.push(bad);
    });
    assert_eq!(batch.item_count(), 2);
    harness.collector.submit(batch).await.unwrap();

    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    let written = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].span_id, vec![1; 8]);
    assert_eq!(
        telemetry.total_with_label("otelcol_processor_dropped_spans", "reason", "invalid_ids"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probabilistic_sampler_keeps_its_share_and_writes_the_threshold() {
    let harness = TestCollector::start(
        r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
processors:
  probabilistic_sampler: { mode: proportional, sampling_percentage: 25 }
  probabilistic_sampler/logs: { sampling_percentage: 50 }
exporters:
  file/traces: { path: "{dir}/traces.jsonl" }
  file/logs: { path: "{dir}/logs.jsonl" }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [probabilistic_sampler], exporters: [file/traces] }
    logs: { receivers: [otlp], processors: [probabilistic_sampler/logs], exporters: [file/logs] }
  telemetry:
    metrics: { level: none }
"#,
    )
    .await;
    let mut generator = Generator::new(8);
    let total_spans = 8000;
    let total_logs = 4000;
    for _ in 0..8 {
        harness
            .submit_retrying(Batch::new(generator.traces(total_spans / 8)))
            .await;
        harness
            .submit_retrying(Batch::new(generator.logs(total_logs / 8)))
            .await;
    }
    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());

    // Whole traces are kept or dropped together, so the spread is that of ~500 traces, not 8000 spans: ±0.1 is
    // about five binomial standard deviations of the kept share.
    let written = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
    let share = written.len() as f64 / total_spans as f64;
    assert!((share - 0.25).abs() < 0.1, "kept {share:.3} of the spans");
    assert!(
        written.iter().all(|s| s.trace_state.contains("ot=th:c")),
        "every kept span carries th:c"
    );
    assert_eq!(
        telemetry.total_with_label("otelcol_processor_dropped_spans", "reason", "not_sampled")
            as usize,
        total_spans - written.len()
    );

    let records: usize = read_logs(&dir.path().join("logs.jsonl"), true)
        .iter()
        .map(otlp_testkit::log_record_count)
        .sum();
    let share = records as f64 / total_logs as f64;
    let sigma = (0.25f64 / total_logs as f64).sqrt();
    assert!(
        (share - 0.5).abs() < 5.0 * sigma + 0.05,
        "kept {share:.3} of the log records"
    );
    assert_eq!(
        telemetry.total("otelcol_processor_dropped_log_records") as usize + records,
        total_logs
    );
}

/// Realistic requests with every kind of sampling information the processor reads: besides the generator's spans
/// (no tracestate, other vendors' entries, `th:0` with `rv`), spans with a malformed `th`, with a `th` their `rv`
/// contradicts, with a trace id of the wrong length, and with `sampling.priority` 0 and 5.
fn requests_with_sampling_information(seed: u64, count: usize) -> Vec<ExportTraceServiceRequest> {
    let mut generator = Generator::new(seed);
    (0..count)
        .map(|_| {
            let mut request = generator.traces(300);
            let spans = request
                .resource_spans
                .iter_mut()
                .flat_map(|rs| &mut rs.scope_spans)
                .flat_map(|ss| &mut ss.spans);
            for (index, span) in spans.enumerate() {
                let priority = |value: i64| KeyValue {
                    key: "sampling.priority".to_owned(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::IntValue(value)),
                    }),
                    ..Default::default()
                };
                match index % 23 {
                    3 => span.trace_state = "ot=th:zz,rojo=1".to_owned(),
                    7 => span.trace_state = "ot=th:fffff;rv:00000000000001".to_owned(),
                    11 => span.attributes.push(priority(0)),
                    13 => span.attributes.insert(0, priority(5)),
                    17 => span.trace_id.truncate(15),
                    _ => {}
                }
            }
            request
        })
        .collect()
}

fn encoded_batch(request: &ExportTraceServiceRequest) -> Batch {
    let bytes = request.encode_to_vec();
    let items = otlp_model::wire::scan(Signal::Traces, &bytes)
        .unwrap()
        .items;
    Batch::from_encoded(Signal::Traces, bytes.into(), items)
}

/// Every span with its resource and scope, encoded, in order: what a batch holds, compared as bytes after decoding.
fn encoded_spans(batch: &Batch) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let request = ExportTraceServiceRequest::decode(batch.to_protobuf()).unwrap();
    let mut spans = Vec::new();
    for rs in &request.resource_spans {
        // The headers: the resource (or scope) and its schema URL.
        let resource = ResourceSpans {
            scope_spans: Vec::new(),
            ..rs.clone()
        }
        .encode_to_vec();
        for ss in &rs.scope_spans {
            let scope = ScopeSpans {
                spans: Vec::new(),
                ..ss.clone()
            }
            .encode_to_vec();
            for span in &ss.spans {
                spans.push((resource.clone(), scope.clone(), span.encode_to_vec()));
            }
        }
    }
    spans
}

/// The processor's work on a batch of received requests (sampled in their bytes) against the same requests decoded
/// (sampled on the prost tree), for every mode: the same spans, byte for byte once decoded, the same counts, and the
/// batch still encoded.
#[test]
fn probabilistic_sampler_samples_encoded_batches_like_decoded_ones() {
    let requests = requests_with_sampling_information(5, 4);
    for yaml in [
        "{ sampling_percentage: 30, hash_seed: 77 }",
        "{ mode: proportional, sampling_percentage: 25 }",
        "{ mode: proportional, sampling_percentage: 100, sampling_precision: 7 }",
        "{ mode: equalizing, sampling_percentage: 10, fail_closed: false }",
        "{ mode: equalizing, sampling_percentage: 0 }",
    ] {
        let config: ProbabilisticSamplerConfig = serde_norway::from_str(yaml).unwrap();
        let sampler = ProbabilisticSampler::new(config).unwrap();
        let mut encoded = Batch::empty(Signal::Traces);
        let mut decoded = Batch::new(ExportTraceServiceRequest::default());
        for request in &requests {
            encoded.append(encoded_batch(request)).unwrap();
            decoded.append(Batch::new(request.clone())).unwrap();
        }
        assert_eq!(encoded.encoded().map(|chunks| chunks.len()), Some(4));
        assert!(decoded.encoded().is_none());

        let wire_counts = sample_batch(&sampler, &mut encoded).unwrap();
        let prost_counts = sample_batch(&sampler, &mut decoded).unwrap();
        assert_eq!(wire_counts, prost_counts, "{yaml}");
        assert!(
            encoded.encoded().is_some(),
            "{yaml}: the batch stays encoded"
        );
        assert_eq!(encoded.item_count(), decoded.item_count(), "{yaml}");
        assert_eq!(encoded.item_count() as u64, wire_counts.kept, "{yaml}");
        assert_eq!(encoded_spans(&encoded), encoded_spans(&decoded), "{yaml}");
        // The rewritten requests pass the receivers' check, hold the items the batch counts, and none is empty.
        let scanned: Vec<usize> = encoded
            .encoded()
            .into_iter()
            .flatten()
            .map(|chunk| otlp_model::wire::scan(Signal::Traces, chunk).unwrap().items)
            .collect();
        assert!(scanned.iter().all(|items| *items > 0), "{yaml}");
        assert_eq!(
            scanned.iter().sum::<usize>(),
            encoded.item_count(),
            "{yaml}"
        );
    }
}

const PROBABILISTIC_TO_FILE: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
processors:
  probabilistic_sampler: { mode: proportional, sampling_percentage: 25 }
exporters:
  # Room for every batch: a refused batch that the client offers again is sampled, and its drops counted, again.
  file: { path: "{dir}/traces.binpb", format: proto, sending_queue: { queue_size: 64 } }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [probabilistic_sampler], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

/// What a collector wrote and counted for `requests`, submitted as received requests or decoded.
async fn sample_in_collector(
    requests: &[ExportTraceServiceRequest],
    encoded: bool,
) -> (Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>, [u64; 3]) {
    let harness = TestCollector::start(PROBABILISTIC_TO_FILE).await;
    for request in requests {
        let batch = if encoded {
            encoded_batch(request)
        } else {
            Batch::new(request.clone())
        };
        harness.submit_retrying(batch).await;
    }
    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    let written = read_traces(&dir.path().join("traces.binpb"), false);
    let mut spans: Vec<_> = written
        .into_iter()
        .flat_map(|request| encoded_spans(&Batch::new(request)))
        .collect();
    // The exporter's queue may write batches in another order than they were submitted.
    spans.sort();
    let counters = [
        telemetry.total_with_label("otelcol_processor_dropped_spans", "reason", "not_sampled"),
        telemetry.total_with_label(
            "otelcol_processor_dropped_spans",
            "reason",
            "invalid_sampling_information",
        ),
        telemetry.total("otelcol_exporter_sent_spans"),
    ];
    (spans, counters)
}

/// The same requests through a running collector twice, as received requests (sampled in their bytes) and decoded
/// (sampled on the prost tree): the same spans written, byte for byte once decoded, and the same drop counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probabilistic_sampler_writes_and_counts_the_same_for_encoded_and_decoded_batches() {
    let requests = requests_with_sampling_information(9, 8);
    let total: usize = requests.iter().map(otlp_testkit::span_count).sum();
    let (wire_spans, wire_counters) = sample_in_collector(&requests, true).await;
    let (prost_spans, prost_counters) = sample_in_collector(&requests, false).await;
    assert_eq!(wire_counters, prost_counters);
    let [not_sampled, invalid, sent] = wire_counters;
    assert!(
        invalid > 0 && not_sampled > 0 && sent > 0,
        "{wire_counters:?}"
    );
    assert_eq!((not_sampled + invalid + sent) as usize, total);
    assert_eq!(wire_spans.len() as u64, sent);
    assert!(wire_spans == prost_spans, "the written spans differ");
}

/// otelcol-contrib's README example of `tail_sampling`, every policy type in it, is a config here as written (its
/// `100_000` cache sizes and its `ottl_condition` included).
#[test]
fn otelcols_tail_sampling_example_is_a_valid_config_as_written() {
    let yaml = format!(
        "{}{}",
        r#"
receivers: { otlp: { protocols: { grpc: } } }
exporters: { debug: }
service: { pipelines: { traces: { receivers: [otlp], processors: [tail_sampling], exporters: [debug] } } }
"#,
        OTELCOL_EXAMPLE
    );
    let config = Config::from_yaml(&yaml).unwrap();
    let tail = config
        .processors
        .values()
        .find_map(|c| c.get::<otlp_sampling::tail::TailSamplingConfig>())
        .unwrap();
    assert_eq!(tail.decision_cache.sampled_cache_size, 100_000);
    assert_eq!(tail.policies.len(), 16);
}

const OTELCOL_EXAMPLE: &str = r#"
processors:
  tail_sampling:
    decision_wait: 10s
    num_traces: 100
    expected_new_traces_per_sec: 10
    decision_cache:
      sampled_cache_size: 100_000
      non_sampled_cache_size: 100_000
    policies:
      [
          { name: test-policy-1, type: always_sample },
          { name: test-policy-2, type: latency, latency: {threshold_ms: 5000, upper_threshold_ms: 10000} },
          { name: test-policy-3, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100} },
          { name: test-policy-4, type: probabilistic, probabilistic: {sampling_percentage: 10} },
          { name: test-policy-5, type: status_code, status_code: {status_codes: [ERROR, UNSET]} },
          { name: test-policy-6, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]} },
          { name: test-policy-7, type: string_attribute, string_attribute: {key: key2, values: [value1, val*], enabled_regex_matching: true, cache_max_size: 10} },
          { name: test-policy-8, type: rate_limiting, rate_limiting: {spans_per_second: 35} },
          { name: test-policy-9, type: bytes_limiting, bytes_limiting: {bytes_per_second: 1024000, burst_capacity: 2048000} },
          { name: test-policy-10, type: span_count, span_count: {min_spans: 2, max_spans: 20} },
          { name: test-policy-11, type: trace_state, trace_state: { key: key3, values: [value1, value2] } },
          { name: test-policy-12, type: boolean_attribute, boolean_attribute: {key: key4, value: true} },
          {
              name: test-policy-13,
              type: ottl_condition,
              ottl_condition: {
                   error_mode: ignore,
                   span: [
                        "attributes[\"test_attr_key_1\"] == \"test_attr_val_1\"",
                        "attributes[\"test_attr_key_2\"] != \"test_attr_val_1\"",
                   ],
                   spanevent: [
                        "name != \"test_span_event_name\"",
                        "attributes[\"test_event_attr_key_2\"] != \"test_event_attr_val_1\"",
                   ]
              }
         },
         { name: and-policy-1, type: and, and: { and_sub_policy: [
                { name: test-and-policy-1, type: numeric_attribute, numeric_attribute: { key: key1, min_value: 50, max_value: 100 } },
                { name: test-and-policy-2, type: string_attribute, string_attribute: { key: key2, values: [ value1, value2 ] } },
              ] } },
         { name: drop-policy-1, type: drop, drop: { drop_sub_policy: [
                { name: test-drop-policy-1, type: string_attribute, string_attribute: {key: url.path, values: [\/health, \/metrics], enabled_regex_matching: true} }
              ] } },
         { name: composite-policy-1, type: composite, composite: {
                max_total_spans_per_second: 1000,
                policy_order: [test-composite-policy-1, test-composite-policy-2, test-composite-policy-3],
                composite_sub_policy: [
                    { name: test-composite-policy-1, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50} },
                    { name: test-composite-policy-2, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]} },
                    { name: test-composite-policy-3, type: always_sample }
                  ],
                rate_allocation: [ { policy: test-composite-policy-1, percent: 50 }, { policy: test-composite-policy-2, percent: 25 } ]
              } },
        ]
"#;

#[test]
fn sampling_processors_are_rejected_where_they_cannot_work() {
    let error = Config::from_yaml(
        r#"
receivers: { otlp: { protocols: { grpc: } } }
processors: { tail_sampling: { decision_wait: 1s, policies: [{ name: all, type: always_sample }] } }
exporters: { debug: }
service: { pipelines: { metrics: { receivers: [otlp], processors: [tail_sampling], exporters: [debug] } } }
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("does not process metrics"), "{error}");

    let error = Config::from_yaml(
        r#"
receivers: { otlp: { protocols: { grpc: } } }
processors: { tail_sampling: { policies: [{ name: bad, type: string_attribute, string_attribute: { key: k, values: ["("], enabled_regex_matching: true } }] } }
exporters: { debug: }
service: { pipelines: { traces: { receivers: [otlp], processors: [tail_sampling], exporters: [debug] } } }
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("processors.tail_sampling"), "{error}");

    // An OTTL condition is compiled when the config is read, every mistake named at its key.
    let error = Config::from_yaml(
        r#"
receivers: { otlp: { protocols: { grpc: } } }
processors:
  tail_sampling:
    policies:
      - { name: slow-checkout, type: ottl_condition, ottl_condition: { span: ['nmae == "checkout"', 'name == "x"'], spanevent: ['name =='] } }
exporters: { debug: }
service: { pipelines: { traces: { receivers: [otlp], processors: [tail_sampling], exporters: [debug] } } }
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("policy `slow-checkout`: ottl_condition.span[0]: invalid OTTL at column 1"),
        "{error}"
    );
    assert!(error.contains("did you mean `span.name`?"), "{error}");
    assert!(
        error.contains("; ottl_condition.spanevent[0]: syntax error"),
        "{error}"
    );
    assert!(!error.contains("span[1]"), "{error}");

    let error = Config::from_yaml(
        r#"
receivers: { otlp: { protocols: { grpc: } } }
processors: { tail_sampling: { decision_wiat: 1s } }
exporters: { debug: }
service: { pipelines: { traces: { receivers: [otlp], processors: [tail_sampling], exporters: [debug] } } }
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("processors.tail_sampling.decision_wiat"),
        "{error}"
    );
}
