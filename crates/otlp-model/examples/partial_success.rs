//! A receiver's core written once for all three signals: decode, drop what is malformed, answer with partial
//! success. Run with `cargo run -p otlp-model --example partial_success`.

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_model::{
    AnyRequest, ExportTraceServiceRequest, OtlpRequest, OtlpResponse, Signal, with_signal,
};
use prost::Message;

/// Decodes `body` as the request of `R`'s signal and answers it.
fn answer<R: OtlpRequest>(body: &[u8]) -> Result<(AnyRequest, R::Response), prost::DecodeError> {
    let mut request = R::decode(body)?;
    let rejected = request.remove_invalid();
    Ok((request.into_any(), R::Response::with_rejected(rejected)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    Span {
                        trace_id: vec![1; 16],
                        span_id: vec![1; 8],
                        name: "GET /".into(),
                        ..Default::default()
                    },
                    Span {
                        trace_id: vec![0; 16],
                        span_id: vec![2; 8],
                        name: "bad".into(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let body = request.encode_to_vec();
    // The signal comes from the URL path or gRPC method; everything after is generic.
    let signal: Signal = "traces".parse()?;
    let (kept, response) = with_signal!(signal, R => {
        let (kept, response) = answer::<R>(&body)?;
        (kept, format!("{response:?}"))
    });
    println!(
        "kept {} {}; answered {response}",
        kept.item_count(),
        signal.item_unit()
    );
    Ok(())
}
