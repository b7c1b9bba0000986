//! Writes generated traces to an Arrow IPC file, reads it back and prints a summary:
//! spans per service and the time range covered.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use otlp_arrow::{AnyRequest, ArrowIpcReader, ArrowIpcWriter, IpcFormat, Signal, WriterOptions};
use otlp_testkit::Generator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join("otlp-arrow-example.arrow");
    let mut generator = Generator::new(7);
    let mut writer = ArrowIpcWriter::new(
        std::fs::File::create(&path)?,
        Signal::Traces,
        WriterOptions::new(IpcFormat::File),
    )?;
    for _ in 0..5 {
        writer.write(&generator.traces(1000))?;
    }
    writer.finish()?.sync_all()?;
    println!(
        "wrote {} ({} bytes)",
        path.display(),
        std::fs::metadata(&path)?.len()
    );

    let mut per_service: BTreeMap<String, usize> = BTreeMap::new();
    let (mut first, mut last) = (u64::MAX, 0);
    for request in ArrowIpcReader::new(std::fs::File::open(&path)?, IpcFormat::File)? {
        let AnyRequest::Traces(request) = request? else {
            continue;
        };
        for rs in &request.resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "unknown".into());
            for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                *per_service.entry(service.clone()).or_default() += 1;
                first = first.min(span.start_time_unix_nano);
                last = last.max(span.end_time_unix_nano);
            }
        }
    }
    for (service, spans) in &per_service {
        println!("{service:>30}: {spans} spans");
    }
    println!(
        "time range: {:.3} s",
        (last.saturating_sub(first)) as f64 / 1e9
    );
    Ok(())
}
