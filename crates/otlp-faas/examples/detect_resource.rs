//! Prints the resource this process would report, as JSON (attribute → value), so an operator
//! can check a function's configuration: run it with the function's environment.
//!
//! ```text
//! cargo run -p otlp-faas --example detect_resource              # environment only
//! cargo run -p otlp-faas --example detect_resource -- --gcp-metadata
//! ```

use std::time::Duration;

use opentelemetry::{Array, Value};
use opentelemetry_sdk::resource::ResourceDetector;
use otlp_faas::FaasResourceDetector;
use otlp_faas::detect::GCP_METADATA_ADDRESS;
use serde_json::{Map, Value as Json};

fn to_json(value: &Value) -> Json {
    match value {
        Value::Bool(flag) => Json::Bool(*flag),
        Value::I64(number) => Json::from(*number),
        Value::F64(number) => Json::from(*number),
        Value::String(text) => Json::String(text.to_string()),
        Value::Array(Array::Bool(items)) => Json::from(items.clone()),
        Value::Array(Array::I64(items)) => Json::from(items.clone()),
        Value::Array(Array::F64(items)) => Json::from(items.clone()),
        Value::Array(Array::String(items)) => Json::from(
            items
                .iter()
                .map(|item| item.to_string())
                .collect::<Vec<_>>(),
        ),
        other => Json::String(other.to_string()),
    }
}

fn main() {
    let mut detector = FaasResourceDetector::new();
    if std::env::args().any(|arg| arg == "--gcp-metadata") {
        detector =
            detector.with_gcp_metadata_server(GCP_METADATA_ADDRESS, Duration::from_millis(300));
    }
    let resource = detector.detect();
    let attributes: Map<String, Json> = resource
        .iter()
        .map(|(key, value)| (key.to_string(), to_json(value)))
        .collect();
    match serde_json::to_string_pretty(&Json::Object(attributes)) {
        Ok(json) => println!("{json}"),
        Err(error) => eprintln!("cannot render the resource: {error}"),
    }
}
