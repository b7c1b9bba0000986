//! A tour: a rule sampler installed in an `SdkTracerProvider`, then the tail engine over
//! synthetic OTLP spans with a config written as in an otelcol YAML file.
//!
//! Run with `cargo run -p otlp-sampling --example sampling_tour`.

use std::time::{Duration, Instant};

use opentelemetry::trace::{Span, Tracer, TracerProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use otlp_sampling::head::{AttributeMatcher, Rule, RuleSampler, SpanMatcher, parent_based};
use otlp_sampling::tail::{TailSampler, TailSamplingConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Head: checkout always, server errors always, everything else at 5%.
    let sampler = RuleSampler::new("shop", 0.05)?
        .rule(Rule::new(SpanMatcher::any().name("POST /checkout"), 1.0)?)
        .rule(Rule::new(
            SpanMatcher::any().attribute(AttributeMatcher::range(
                "http.response.status_code",
                500.0,
                599.0,
            )?),
            1.0,
        )?);
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(parent_based(sampler))
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("tour");
    for i in 0..1_000 {
        let name = if i % 100 == 0 {
            "POST /checkout"
        } else {
            "GET /items"
        };
        tracer.start(name).end();
    }
    provider.force_flush()?;
    let exported = exporter.get_finished_spans()?;
    println!(
        "head: {} of 1000 spans sampled; first tracestate: {:?}",
        exported.len(),
        exported
            .first()
            .map(|s| s.span_context.trace_state().header())
    );

    // Tail: the collector's `tail_sampling` block.
    let config: TailSamplingConfig = serde_norway::from_str(
        "decision_wait: 5s
num_traces: 10000
policies:
  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
  - {name: slow, type: latency, latency: {threshold_ms: 250}}
  - {name: baseline, type: probabilistic, probabilistic: {sampling_percentage: 5}}",
    )?;
    let mut engine = TailSampler::new(config)?;
    let request = otlp_testkit::Generator::new(1).traces(5_000);
    let start = Instant::now();
    let mut out = engine.ingest(request.resource_spans, start);
    out.merge(engine.tick(start + Duration::from_secs(5)));
    out.merge(engine.flush(start + Duration::from_secs(6)));
    println!(
        "tail: {} traces sampled, {} not; {} spans released",
        out.sampled_traces, out.not_sampled_traces, out.released_spans
    );
    for (reason, spans) in out.dropped.iter().filter(|(_, n)| *n > 0) {
        println!("  dropped {spans} spans: {}", reason.as_str());
    }
    Ok(())
}
