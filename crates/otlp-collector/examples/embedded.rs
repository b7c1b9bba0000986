//! Runs a collector inside your own program: configure it with otelcol YAML, hand it batches directly (or let
//! clients send OTLP to its receivers), then shut it down and see that everything was delivered.
//!
//! `cargo run -p otlp-collector --example embedded`

use otlp_collector::{Batch, Collector, Config};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("otlp-collector-example");
    let config = Config::from_yaml(&format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }}, http: {{ endpoint: "127.0.0.1:0" }} }} }}
processors:
  batch: {{ timeout: 50ms }}
exporters:
  file: {{ path: "{}/traces.jsonl", format: json }}
  debug: {{}}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [file, debug] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        dir.display()
    ))?;
    let collector = Collector::new(config).start().await?;
    if let (Some(grpc), Some(http), Some(admin)) = (
        collector.grpc_addr("otlp"),
        collector.http_addr("otlp"),
        collector.telemetry_addr(),
    ) {
        println!(
            "OTLP/gRPC on {grpc}, OTLP/HTTP on {http}, self-metrics on http://{admin}/metrics"
        );
    }

    let mut generator = otlp_testkit::Generator::new(1);
    for _ in 0..10 {
        collector.submit(Batch::new(generator.traces(100))).await?;
    }

    let telemetry = collector.telemetry().clone();
    let report = collector.shutdown(Duration::from_secs(5)).await;
    let sent_by =
        |exporter: &str| telemetry.value("otelcol_exporter_sent_spans", &[("exporter", exporter)]);
    println!(
        "accepted {} spans; file exporter sent {:?}, debug exporter {:?}; clean shutdown: {}; see {}",
        telemetry.total("otelcol_receiver_accepted_spans"),
        sent_by("file"),
        sent_by("debug"),
        report.is_clean(),
        dir.join("traces.jsonl").display()
    );
    Ok(())
}
