use super::*;
use crate::processor::capture::{Capture, with_context};
use crate::telemetry::Telemetry;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tokio::time::Instant;

fn build(yaml: &str, telemetry: &Telemetry) -> (Arc<dyn Consumer>, Arc<Capture>) {
    let config: GroupByTraceConfig = serde_norway::from_str(yaml).unwrap();
    Factory.validate(&config).unwrap();
    let capture = Arc::new(Capture::default());
    let next: Arc<dyn Consumer> = capture.clone();
    let stage = with_context("groupbytrace", Signal::Traces, telemetry, |context| {
        Factory.build(&config, context, next).unwrap()
    });
    (stage, capture)
}

fn batch(spans: &[(u8, &str)]) -> Batch {
    Batch::new(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: spans
                    .iter()
                    .map(|(trace, name)| Span {
                        trace_id: if *trace == 0 {
                            Vec::new()
                        } else {
                            vec![*trace; 16]
                        },
                        span_id: vec![1; 8],
                        name: (*name).to_owned(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// The span names of each batch the next stage got.
fn sent(capture: &Capture) -> Vec<Vec<String>> {
    capture
        .batches
        .lock()
        .iter()
        .map(|batch| {
            batch
                .get::<ExportTraceServiceRequest>()
                .unwrap()
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| &ss.spans)
                .map(|s| s.name.clone())
                .collect()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_trace_s_spans_go_on_together_when_its_wait_ends() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("wait_duration: 10s", &telemetry);
    stage
        .consume(batch(&[(1, "a1"), (0, "no trace")]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stage.consume(batch(&[(2, "b1"), (1, "a2")])).await.unwrap();
    assert_eq!(sent(&capture), [vec!["no trace".to_owned()]]);
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(sent(&capture)[1], ["a1", "a2"]);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sent(&capture)[2], ["b1"]);
    // A span of a trace already sent waits anew.
    stage.consume(batch(&[(1, "a3")])).await.unwrap();
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(sent(&capture)[3], ["a3"]);
}

#[tokio::test(start_paused = true)]
async fn the_oldest_trace_goes_on_early_when_too_many_wait_and_the_rest_at_shutdown() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("{ wait_duration: 1h, num_traces: 2 }", &telemetry);
    stage
        .consume(batch(&[(1, "a"), (2, "b"), (3, "c")]))
        .await
        .unwrap();
    assert_eq!(sent(&capture), [vec!["a".to_owned()]]);
    assert_eq!(
        telemetry.value(
            "otelcol_processor_groupbytrace_traces_evicted",
            &[("processor", "groupbytrace")]
        ),
        Some(1)
    );
    stage
        .shutdown(Instant::now() + Duration::from_secs(5))
        .await;
    assert_eq!(sent(&capture)[1], ["b", "c"]);
}

#[tokio::test]
async fn a_refusal_of_what_passes_on_hands_the_batch_back_and_gathers_nothing() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("wait_duration: 1h", &telemetry);
    capture
        .full_for
        .store(1, std::sync::atomic::Ordering::Relaxed);
    let refused = stage
        .consume(batch(&[(1, "a"), (0, "b")]))
        .await
        .expect_err("full");
    assert_eq!(refused.batch.expect("handed back").item_count(), 2);
    stage.flush(Instant::now()).await;
    assert!(sent(&capture).is_empty());
}
