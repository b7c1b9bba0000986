//! Load shedding at admission, as the `degradation` extension sets it: over gRPC from a real client,
//! a collector keeps every error span and, of the rest, exactly the spans whose randomness reaches the threshold
//! (marked with it), counts what it shed, and keeps the setting across a reload.

mod common;

use common::{is_error, read_traces, send_with_errors, span_id, spans};
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_collector::{Collector, Config, LoadShedding, ReloadOutcome};
use otlp_sampling::consistent::{Randomness, Threshold, ot_from_w3c};
use otlp_sampling::shed::Shed;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

fn config(file: &Path) -> Config {
    Config::from_yaml(&format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  file: {{ path: "{}", format: json }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        file.display()
    ))
    .unwrap()
}

/// The span's randomness as the specification orders it: its `rv`, else its trace ID.
fn randomness(span: &Span) -> Randomness {
    ot_from_w3c(&span.trace_state)
        .ok()
        .and_then(|ot| ot.randomness)
        .unwrap_or_else(|| Randomness::from_trace_id(span.trace_id.as_slice().try_into().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shedding_keeps_errors_and_whole_traces_above_the_threshold_and_survives_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.jsonl");
    let shedding = LoadShedding::default();
    let collector = Collector::new(config(&file))
        .with_shedding(shedding.clone())
        .start()
        .await
        .unwrap();
    let grpc = collector.grpc_addr("otlp").unwrap().to_string();

    // Moderate: keep 10%.
    let threshold = Threshold::from_probability(0.1).unwrap();
    shedding.set(Shed::Below(threshold));
    let sent = send_with_errors(&grpc, 1, 20).await;
    assert!(collector.flush(Duration::from_secs(10)).await);
    let written = spans(&read_traces(&file, true));
    let expected: BTreeSet<_> = sent
        .iter()
        .filter(|span| is_error(span) || threshold.should_sample(randomness(span)))
        .map(span_id)
        .collect();
    let got: BTreeSet<_> = written.iter().map(span_id).collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected);
    assert!(
        sent.iter()
            .filter(|s| is_error(s))
            .all(|s| got.contains(&span_id(s)))
    );
    // Shedding was real: most non-error spans went.
    assert!(
        expected.len() < sent.len() / 2,
        "{} of {}",
        expected.len(),
        sent.len()
    );
    // What was sampled carries a threshold at least as strict as the shedding one.
    for span in written
        .iter()
        .filter(|s| threshold.should_sample(randomness(s)))
    {
        let th = ot_from_w3c(&span.trace_state).unwrap().threshold.unwrap();
        assert!(th >= threshold, "{}", span.trace_state);
    }
    let telemetry = collector.telemetry();
    assert_eq!(
        telemetry.total_with_label("otelcol_processor_dropped_spans", "reason", "degraded"),
        (sent.len() - expected.len()) as u64
    );
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_spans"),
        sent.len() as u64
    );

    // A reload keeps the setting: at Emergency only errors come through the new pipelines.
    shedding.set(Shed::AllButErrors);
    let next_file = dir.path().join("next.jsonl");
    let reloaded = collector
        .reload(config(&next_file), config(&file), Duration::from_secs(10))
        .await;
    let ReloadOutcome::Applied(collector) = reloaded.outcome else {
        panic!("{:?}", reloaded.outcome);
    };
    assert_eq!(collector.shedding().current(), Some(Shed::AllButErrors));
    let grpc = collector.grpc_addr("otlp").unwrap().to_string();
    let sent = send_with_errors(&grpc, 2, 10).await;
    assert!(collector.flush(Duration::from_secs(10)).await);
    let written: BTreeSet<_> = spans(&read_traces(&next_file, true))
        .iter()
        .map(span_id)
        .collect();
    let errors: BTreeSet<_> = sent.iter().filter(|s| is_error(s)).map(span_id).collect();
    assert!(!errors.is_empty());
    assert_eq!(written, errors);

    // Back to Normal: everything.
    shedding.keep_all();
    let sent = send_with_errors(&grpc, 3, 5).await;
    assert!(collector.flush(Duration::from_secs(10)).await);
    let written = spans(&read_traces(&next_file, true)).len();
    assert_eq!(written, errors.len() + sent.len());
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
}
