//! The four processors of a typical otelcol pipeline, configured in otelcol's YAML and applied
//! to a synthetic request: `resource` upserts `deployment.environment`, `attributes` deletes an
//! authorization header, `filter` drops health checks, `transform` sets an attribute.
//!
//! ```text
//! cargo run -p otlp-ottl --example transform
//! ```

use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_ottl::actions::{
    AttributesConfig, AttributesProcessor, ClientInfo, ResourceConfig, ResourceProcessor,
};
use otlp_ottl::{
    Filter, FilterConfig, Signal, Transform, TransformConfig, key_value, string_value,
};
use otlp_testkit::{Generator, span_count};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let resource: ResourceConfig = serde_norway::from_str(
        r#"
attributes:
  - {key: deployment.environment, value: production, action: upsert}
"#,
    )?;
    let attributes: AttributesConfig = serde_norway::from_str(
        r#"
actions:
  - {key: http.request.header.authorization, action: delete}
"#,
    )?;
    let filter: FilterConfig = serde_norway::from_str(
        r#"
error_mode: ignore
traces:
  span:
    - 'attributes["http.route"] == "/healthz"'
"#,
    )?;
    let transform: TransformConfig = serde_norway::from_str(
        r#"
error_mode: ignore
trace_statements:
  - set(span.attributes["whose_fault"], "ours") where span.attributes["http.response.status_code"] >= 500
"#,
    )?;
    let resource = ResourceProcessor::new(&resource)?;
    let attributes = AttributesProcessor::new(&attributes, Signal::Traces)?;
    let filter = Filter::new(&filter)?;
    let transform = Transform::new(&transform)?;

    let mut request = Generator::new(42).with_error_rate(0.2)?.traces(1_000);
    // A load balancer's health checks, with the header the attributes processor removes.
    let scope = &mut request.resource_spans[0].scope_spans[0];
    for n in 1..=5u8 {
        scope.spans.push(Span {
            trace_id: vec![n; 16],
            span_id: vec![n; 8],
            name: "GET /healthz".to_owned(),
            attributes: vec![
                key_value("http.route", string_value("/healthz")),
                key_value(
                    "http.request.header.authorization",
                    string_value("Bearer t0ken"),
                ),
            ],
            ..Default::default()
        });
    }
    let before = span_count(&request);

    let client = ClientInfo::default();
    resource.process_traces(&mut request, &client);
    attributes.process_traces(&mut request, &client);
    let dropped = filter.filter_traces(&mut request)?;
    let stats = transform.apply_traces(&mut request)?;

    let marked = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .filter(|span| span.attributes.iter().any(|kv| kv.key == "whose_fault"))
        .count();
    println!(
        "spans in: {before}, dropped as health checks: {}",
        dropped.spans
    );
    println!(
        "spans out: {}, marked whose_fault=ours: {marked}",
        span_count(&request)
    );
    println!("statement errors ignored: {}", stats.errors);
    Ok(())
}
