//! OpenTelemetry for serverless functions.
//!
//! ```
//! use lambda_runtime::{Context as LambdaContext, LambdaEvent, service_fn};
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
//! use otlp_faas::FaasLayer;
//! use serde_json::{Value, json};
//! use tower::{Layer, Service, ServiceExt};
//!
//! # fn main() -> Result<(), lambda_runtime::Error> {
//! let exporter = InMemorySpanExporter::default();
//! let provider = SdkTracerProvider::builder()
//!     .with_simple_exporter(exporter.clone())
//!     .build();
//!
//! // In a function: `lambda_runtime::run(layer.layer(service_fn(handler))).await`.
//! let layer = FaasLayer::new(provider);
//! let mut function = layer.layer(service_fn(|event: LambdaEvent<Value>| async move {
//!     Ok::<_, lambda_runtime::Error>(event.payload)
//! }));
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     for request_id in ["first", "second"] {
//!         let mut context = LambdaContext::default();
//!         context.request_id = request_id.to_owned();
//!         let event = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
//!         function.ready().await?.call(LambdaEvent::new(event, context)).await?;
//!     }
//!     Ok::<_, lambda_runtime::Error>(())
//! })?;
//!
//! // Each invocation was flushed before it returned: both spans are already exported.
//! let spans = exporter.get_finished_spans()?;
//! let cold: Vec<bool> = spans
//!     .iter()
//!     .map(|span| span.attributes.iter().any(|kv| {
//!         kv.key.as_str() == "faas.coldstart" && kv.value == opentelemetry::Value::Bool(true)
//!     }))
//!     .collect();
//! assert_eq!(cold, [true, false]);
//! assert_eq!(layer.stats().flushes, 2);
//! # Ok(())
//! # }
//! ```
//!
//! What is here:
//!
//! - **Resource detectors** ([`LambdaResourceDetector`], [`AzureFunctionsResourceDetector`],
//!   [`GcpResourceDetector`], or [`FaasResourceDetector`] for whichever matches) implementing
//!   `opentelemetry_sdk::resource::ResourceDetector` with the `cloud.*` / `faas.*` conventions.
//!   Missing or malformed variables leave the attribute out; detection never fails.
//! - **[`FaasLayer`]**, a tower layer for `lambda_runtime` 1.x handlers: a span per invocation
//!   with `faas.trigger`, `faas.invocation_id`, `faas.coldstart` (true only for the process's
//!   first invocation), the init duration on the cold start, an estimated cost
//!   (memory × billed duration × price, plus the request price), and the parent read from the
//!   payload ([`InvocationEvent`]: API Gateway / ALB headers, SQS `messageAttributes` and
//!   `AWSTraceHeader`, SNS message attributes, EventBridge `detail.headers`), falling back to
//!   Lambda's X-Ray header (`Lambda-Runtime-Trace-Id` / `_X_AMZN_TRACE_ID`) only when the payload
//!   has no valid parent. Batched SQS/SNS records become span links. After the handler, the layer
//!   force-flushes the tracer provider with a deadline, before the runtime posts the response
//!   and Lambda may freeze the process.
//! - **Short-lived exporter defaults**: [`short_lived_batch_config`] (queue 512, delay 500 ms).
//! - **[`TrafficAwareSampler`]**: all traces of a quiet function, a bounded number per window of a
//!   busy one's, decided consistently on the trace ID's random bits.
//! - **Payload propagation helpers** for function-to-function calls and messages:
//!   [`inject_into_payload`], [`sqs_message_attributes`], [`sns_message_attributes`].
//! - **[`ExtensionClient`]** for the Lambda Extensions API.
//!
//! X-Ray parsing comes from `otlp-mesh`'s `XRayPropagator`; it is a required dependency because
//! Lambda's own trace header and SQS's `AWSTraceHeader` are X-Ray headers, so the layer cannot
//! read Lambda context without it.
//!
//! # Extension mode
//!
//! [`ExtensionClient`] is what an external extension (a collector running next to the function)
//! needs: register, then loop on [`ExtensionClient::next_event`], flushing after each `INVOKE`
//! and a final time on `SHUTDOWN`, within the event's deadline. Calling `next_event` again is what
//! tells Lambda the extension is done with the previous event, so flush first:
//!
//! ```no_run
//! use otlp_faas::{EventType, ExtensionClient, ExtensionEvent};
//!
//! /// Whatever the collector flushes (its exporters' queues).
//! async fn flush_pipeline(_budget: std::time::Duration) {}
//!
//! # async fn run() -> Result<(), otlp_faas::Error> {
//! let runtime_api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
//! // Lambda requires the name to be the extension's file name under /opt/extensions.
//! let client =
//!     ExtensionClient::register(&runtime_api, "otlp-suite", &[EventType::Invoke, EventType::Shutdown])
//!         .await?;
//! // ... start the OTLP receiver on 127.0.0.1:4318 here; on failure:
//! // client.init_error("Extension.ReceiverFailed", "cannot bind 127.0.0.1:4318").await?;
//! loop {
//!     let event = client.next_event().await?;
//!     // Leave some of the remaining time for Lambda itself.
//!     let budget = event.time_remaining().saturating_sub(std::time::Duration::from_millis(100));
//!     flush_pipeline(budget).await;
//!     if let ExtensionEvent::Shutdown { .. } = event {
//!         break;
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! When to flush: Lambda freezes the environment once the function has responded *and* every
//! extension has called `next`. An `INVOKE` event arrives when the invocation starts, before the
//! function has produced its spans, so an extension that flushes immediately and calls `next`
//! again flushes the previous invocation's spans, not this one's. To ship an invocation's spans
//! before the freeze, wait (bounded by [`ExtensionEvent::time_remaining`]) until the function has
//! sent them: [`FaasLayer`] exports them before the function responds, and they carry
//! `faas.invocation_id` equal to the event's `request_id`.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod detect;
mod env;
mod error;
pub mod extension;
pub mod layer;
pub mod propagation;
pub mod sampler;
pub mod telemetry_api;
pub mod trigger;

pub use detect::{
    AzureFunctionsResourceDetector, FaasResourceDetector, GcpResourceDetector, LambdaArn,
    LambdaResourceDetector,
};
pub use env::EnvSource;
pub use error::Error;
pub use extension::{EventType, ExtensionClient, ExtensionEvent, ShutdownReason};
pub use layer::{
    FaasLayer, FaasLayerBuilder, FaasService, LayerStats, estimate_cost, short_lived_batch_config,
    short_lived_batch_processor,
};
pub use propagation::{
    default_propagator, inject_headers, inject_into_payload, sns_message_attributes,
    sqs_message_attributes,
};
pub use sampler::TrafficAwareSampler;
pub use trigger::{Carrier, EventSource, InvocationEvent, TriggerContext, TriggerKind};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
