//! Spans that arrive one at a time in another tracer's model (Zipkin's, Jaeger's), gathered into one OTLP
//! request: a resource per distinct set of attributes and a scope per distinct scope, in the order they first
//! appear.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

/// Key prefixes of the resource attributes of OpenTelemetry's semantic conventions. OpenTelemetry's Zipkin and
/// Jaeger exporters copy the resource onto every span's tags; tags under these prefixes go back to the resource.
const RESOURCE_PREFIXES: &[&str] = &[
    "service.",
    "telemetry.sdk.",
    "telemetry.distro.",
    "telemetry.auto.",
    "host.",
    "os.",
    "process.",
    "container.",
    "k8s.",
    "cloud.",
    "deployment.",
    "faas.",
    "device.",
    "webengine.",
    "aws.ecs.",
    "aws.eks.",
    "aws.log.",
    "gcp.cloud_run.",
    "gcp.gce.",
    "heroku.",
];

/// Whether a span's tag `key` is a resource attribute an OpenTelemetry exporter copied onto it.
pub(in crate::receiver) fn is_resource_key(key: &str) -> bool {
    RESOURCE_PREFIXES
        .iter()
        .any(|prefix| key.starts_with(prefix))
}

/// Spans gathered by resource and scope.
#[derive(Default)]
pub(in crate::receiver) struct Gathered {
    resources: Vec<(Vec<KeyValue>, Vec<ScopeSpans>)>,
}

impl Gathered {
    /// Adds `span`, of the resource with `attributes` and of `scope`.
    pub(in crate::receiver) fn push(
        &mut self,
        attributes: Vec<KeyValue>,
        scope: InstrumentationScope,
        span: Span,
    ) {
        let at = match self.resources.iter().position(|(r, _)| *r == attributes) {
            Some(at) => at,
            None => {
                self.resources.push((attributes, Vec::new()));
                self.resources.len() - 1
            }
        };
        let scopes = &mut self.resources[at].1;
        match scopes.iter_mut().find(|s| s.scope.as_ref() == Some(&scope)) {
            Some(scoped) => scoped.spans.push(span),
            None => scopes.push(ScopeSpans {
                scope: Some(scope),
                spans: vec![span],
                ..Default::default()
            }),
        }
    }

    pub(in crate::receiver) fn into_request(self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: self
                .resources
                .into_iter()
                .map(|(attributes, scope_spans)| ResourceSpans {
                    resource: Some(Resource {
                        attributes,
                        ..Default::default()
                    }),
                    scope_spans,
                    ..Default::default()
                })
                .collect(),
        }
    }
}
