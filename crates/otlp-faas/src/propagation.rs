//! Trace context in event payloads: the propagator the layer reads with, and helpers that put
//! the current context into payloads for function-to-function calls and queue messages.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use otlp_mesh::XRayPropagator;
use serde_json::{Map, Value};

use crate::trigger::PAYLOAD_HEADERS_FIELD;

/// The propagator the invocation layer uses unless told otherwise: X-Ray (`X-Amzn-Trace-Id`,
/// SQS `AWSTraceHeader`) then W3C Trace Context. Extraction applies them in that order, so a
/// valid `traceparent` wins over an X-Ray header when a carrier has both; injection writes both.
pub fn default_propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(XRayPropagator::new()),
        Box::new(TraceContextPropagator::new()),
    ])
}

/// The headers `propagator` writes for `cx` (keys as the propagator spells them).
pub fn inject_headers(cx: &Context, propagator: &dyn TextMapPropagator) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    propagator.inject_context(cx, &mut headers);
    headers
}

/// Writes `cx` into `payload.headers` (creating the object, keeping other entries) so that the
/// called function's [`InvocationEvent`](crate::InvocationEvent) reader finds it; use it for
/// direct `Invoke` payloads and EventBridge `detail` objects.
///
/// Returns `false`, leaving the payload alone, when `payload` is not a JSON object or its
/// `headers` member is something other than an object.
pub fn inject_into_payload(
    cx: &Context,
    propagator: &dyn TextMapPropagator,
    payload: &mut Value,
) -> bool {
    let Some(object) = payload.as_object_mut() else {
        return false;
    };
    let headers = object
        .entry(PAYLOAD_HEADERS_FIELD)
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(headers) = headers.as_object_mut() else {
        return false;
    };
    for (name, value) in inject_headers(cx, propagator) {
        headers.insert(name, Value::String(value));
    }
    true
}

/// `cx` as SQS `SendMessage` message attributes
/// (`{"traceparent": {"DataType": "String", "StringValue": "00-..."}}`), which the layer reads on
/// the consuming side. SQS allows 10 attributes per message; the default propagator uses two.
pub fn sqs_message_attributes(
    cx: &Context,
    propagator: &dyn TextMapPropagator,
) -> Map<String, Value> {
    message_attributes(cx, propagator, "DataType", "StringValue")
}

/// `cx` as SNS `Publish` message attributes
/// (`{"traceparent": {"DataType": "String", "StringValue": "00-..."}}`); SNS delivers them to a
/// subscribed function as `{"Type": "String", "Value": ...}`, which the layer reads.
pub fn sns_message_attributes(
    cx: &Context,
    propagator: &dyn TextMapPropagator,
) -> Map<String, Value> {
    message_attributes(cx, propagator, "DataType", "StringValue")
}

fn message_attributes(
    cx: &Context,
    propagator: &dyn TextMapPropagator,
    type_key: &str,
    value_key: &str,
) -> Map<String, Value> {
    inject_headers(cx, propagator)
        .into_iter()
        .map(|(name, value)| {
            let mut attribute = Map::new();
            attribute.insert(type_key.to_owned(), Value::String("String".to_owned()));
            attribute.insert(value_key.to_owned(), Value::String(value));
            (name, Value::Object(attribute))
        })
        .collect()
}
