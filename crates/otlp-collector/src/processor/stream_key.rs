//! A metric stream's identity as bytes, for the processors that keep state per stream (`cumulativetodelta`,
//! `deltatocumulative`): the resource and scope, the metric, the point's attributes in any order. Every part is
//! length-delimited, so that different streams never write the same bytes.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

/// Appends `text` with its length before it.
pub(crate) fn delimited(key: &mut Vec<u8>, text: &str) {
    prost::encoding::encode_varint(text.len() as u64, key);
    key.extend_from_slice(text.as_bytes());
}

/// Appends a resource and a scope, each with the schema URL it was sent under.
pub(crate) fn resource_and_scope(
    key: &mut Vec<u8>,
    (resource, resource_url): (Option<&Resource>, &str),
    (scope, scope_url): (Option<&InstrumentationScope>, &str),
) {
    // Encoding into a Vec cannot fail.
    match resource {
        Some(resource) => {
            key.push(1);
            let _ = resource.encode_length_delimited(key);
        }
        None => key.push(0),
    }
    delimited(key, resource_url);
    match scope {
        Some(scope) => {
            key.push(1);
            let _ = scope.encode_length_delimited(key);
        }
        None => key.push(0),
    }
    delimited(key, scope_url);
}

/// Appends a metric's name and unit and a tag for its kind of points.
pub(crate) fn metric(key: &mut Vec<u8>, name: &str, unit: &str, kind: u8) {
    delimited(key, name);
    delimited(key, unit);
    key.push(kind);
}

/// Appends a point's attributes, sorted by key: the same attributes in another order are the same stream.
pub(crate) fn attributes(key: &mut Vec<u8>, attributes: &[KeyValue]) {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    prost::encoding::encode_varint(sorted.len() as u64, key);
    for kv in sorted {
        let _ = kv.encode_length_delimited(key);
    }
}

/// Calls `keep` with every metric of `request` and the key of its resource and scope
/// ([`resource_and_scope`]); the metrics it returns `false` for are removed, and the scopes and resources they
/// leave empty.
pub(crate) fn retain_metrics(
    request: &mut ExportMetricsServiceRequest,
    mut keep: impl FnMut(&[u8], &mut Metric) -> bool,
) {
    let mut scope_key = Vec::new();
    for rm in &mut request.resource_metrics {
        for sm in &mut rm.scope_metrics {
            scope_key.clear();
            resource_and_scope(
                &mut scope_key,
                (rm.resource.as_ref(), &rm.schema_url),
                (sm.scope.as_ref(), &sm.schema_url),
            );
            sm.metrics.retain_mut(|metric| keep(&scope_key, metric));
        }
        rm.scope_metrics.retain(|sm| !sm.metrics.is_empty());
    }
    request
        .resource_metrics
        .retain(|rm| !rm.scope_metrics.is_empty());
}
