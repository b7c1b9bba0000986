//! Mesh facts turned into span attributes: Envoy and Linkerd headers, rollout labels, the context
//! facts other propagators extracted, and the mTLS peer.

use http::HeaderMap;
use opentelemetry::{Context, KeyValue, baggage::BaggageExt};

use crate::PeerIdentity;
use crate::context::{envoy_request, extracted_from};

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Flag,
}

/// Header → attribute, for the headers Envoy and Linkerd add on requests and responses.
const HEADER_ATTRIBUTES: &[(&str, &str, Kind)] = &[
    (
        "x-envoy-upstream-service-time",
        "envoy.upstream_service_time_ms",
        Kind::Int,
    ),
    ("x-envoy-attempt-count", "envoy.attempt_count", Kind::Int),
    (
        "x-envoy-decorator-operation",
        "envoy.decorator_operation",
        Kind::Text,
    ),
    (
        "x-envoy-expected-rq-timeout-ms",
        "envoy.expected_request_timeout_ms",
        Kind::Int,
    ),
    ("x-envoy-original-path", "envoy.original_path", Kind::Text),
    (
        "x-envoy-external-address",
        "envoy.external_address",
        Kind::Text,
    ),
    ("x-envoy-internal", "envoy.internal", Kind::Flag),
    ("x-envoy-overloaded", "envoy.overloaded", Kind::Flag),
    ("x-envoy-ratelimited", "envoy.ratelimited", Kind::Flag),
    ("x-envoy-peer-metadata-id", "istio.peer_id", Kind::Text),
    ("l5d-client-id", "linkerd.client_id", Kind::Text),
    ("l5d-server-id", "linkerd.server_id", Kind::Text),
    ("l5d-dst-override", "linkerd.dst_override", Kind::Text),
    ("l5d-dst-canonical", "linkerd.dst_canonical", Kind::Text),
    ("l5d-remote-ip", "linkerd.remote_ip", Kind::Text),
    ("l5d-proxy-error", "linkerd.proxy_error", Kind::Text),
    ("l5d-dtab", "linkerd.dtab", Kind::Text),
];

/// Envoy's fault-injection request headers (fault filter with `header_abort`/`header_delay`).
const FAULT_ATTRIBUTES: &[(&str, &str)] = &[
    (
        "x-envoy-fault-abort-request",
        "envoy.fault.abort_http_status",
    ),
    (
        "x-envoy-fault-abort-grpc-request",
        "envoy.fault.abort_grpc_status",
    ),
    ("x-envoy-fault-delay-request", "envoy.fault.delay_ms"),
    (
        "x-envoy-fault-throughput-response",
        "envoy.fault.throughput_kibps",
    ),
];

/// Where rollout labels (canary, version, A/B group) come from. Headers set at this hop win over
/// baggage set by an upstream application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshLabels {
    /// Headers whose truthy/falsy value sets `mesh.canary`.
    pub canary_headers: Vec<String>,
    /// Baggage keys for `mesh.canary`.
    pub canary_baggage: Vec<String>,
    /// Headers for `mesh.version`.
    pub version_headers: Vec<String>,
    /// Baggage keys for `mesh.version`.
    pub version_baggage: Vec<String>,
    /// Headers for `mesh.ab_group`.
    pub group_headers: Vec<String>,
    /// Baggage keys for `mesh.ab_group`.
    pub group_baggage: Vec<String>,
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

impl Default for MeshLabels {
    fn default() -> Self {
        Self {
            canary_headers: owned(&["x-canary"]),
            canary_baggage: owned(&["canary"]),
            version_headers: owned(&["x-version", "x-app-version", "x-service-version"]),
            version_baggage: owned(&["version", "app.version"]),
            group_headers: owned(&["x-ab-group", "x-experiment-group", "x-variant"]),
            group_baggage: owned(&["ab_group", "experiment.group", "variant"]),
        }
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn truthy(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "always" | "canary" => Some(true),
        "0" | "false" | "no" | "off" | "never" | "stable" => Some(false),
        _ => None,
    }
}

/// Attributes from mesh headers (request or response side).
pub(crate) fn header_attributes(headers: &HeaderMap, attributes: &mut Vec<KeyValue>) {
    for &(header, key, kind) in HEADER_ATTRIBUTES {
        let Some(value) = header_text(headers, header) else {
            continue;
        };
        match kind {
            Kind::Text => attributes.push(KeyValue::new(key, value.to_owned())),
            Kind::Int => {
                if let Ok(number) = value.parse::<i64>() {
                    attributes.push(KeyValue::new(key, number));
                }
            }
            Kind::Flag => {
                if let Some(flag) = truthy(value) {
                    attributes.push(KeyValue::new(key, flag));
                }
            }
        }
    }
    let mut fault = false;
    for &(header, key) in FAULT_ATTRIBUTES {
        if let Some(number) =
            header_text(headers, header).and_then(|value| value.parse::<i64>().ok())
        {
            attributes.push(KeyValue::new(key, number));
            fault = true;
        }
    }
    if fault {
        attributes.push(KeyValue::new("mesh.fault_injection", true));
    }
}

/// Rollout labels from headers, then baggage in `cx`.
pub(crate) fn label_attributes(
    labels: &MeshLabels,
    headers: &HeaderMap,
    cx: &Context,
    attributes: &mut Vec<KeyValue>,
) {
    let find = |header_names: &[String], baggage_keys: &[String]| -> Option<String> {
        header_names
            .iter()
            .find_map(|name| header_text(headers, name).map(str::to_owned))
            .or_else(|| {
                let baggage = cx.baggage();
                baggage_keys.iter().find_map(|key| {
                    baggage
                        .get(key.as_str())
                        .map(|value| value.as_str().to_owned())
                })
            })
    };
    if let Some(canary) =
        find(&labels.canary_headers, &labels.canary_baggage).and_then(|v| truthy(&v))
    {
        attributes.push(KeyValue::new("mesh.canary", canary));
    }
    if let Some(version) = find(&labels.version_headers, &labels.version_baggage) {
        attributes.push(KeyValue::new("mesh.version", version));
    }
    if let Some(group) = find(&labels.group_headers, &labels.group_baggage) {
        attributes.push(KeyValue::new("mesh.ab_group", group));
    }
}

/// Facts that propagators stored in `cx`.
pub(crate) fn context_attributes(cx: &Context, attributes: &mut Vec<KeyValue>) {
    if let Some(format) = extracted_from(cx) {
        attributes.push(KeyValue::new("mesh.propagation.format", format.as_str()));
    }
    if let Some(envoy) = envoy_request(cx) {
        if let Some(request_id) = &envoy.request_id {
            attributes.push(KeyValue::new("envoy.request_id", request_id.clone()));
        }
        if let Some(reason) = envoy.trace_reason {
            attributes.push(KeyValue::new("envoy.trace_reason", reason.as_str()));
        }
        if let Some(client_trace_id) = &envoy.client_trace_id {
            attributes.push(KeyValue::new(
                "envoy.client_trace_id",
                client_trace_id.clone(),
            ));
        }
        if envoy.force_trace {
            attributes.push(KeyValue::new("envoy.force_trace", true));
        }
    }
}

/// The mTLS peer. `peer_is_client` picks the semantic-convention prefix: a server sees the client's
/// certificate (`tls.client.*`), a client sees the server's (`tls.server.*`).
pub(crate) fn peer_attributes(
    peer: &PeerIdentity,
    peer_is_client: bool,
    attributes: &mut Vec<KeyValue>,
) {
    let (subject, issuer) = if peer_is_client {
        ("tls.client.subject", "tls.client.issuer")
    } else {
        ("tls.server.subject", "tls.server.issuer")
    };
    attributes.push(KeyValue::new(subject, peer.subject.clone()));
    attributes.push(KeyValue::new(issuer, peer.issuer.clone()));
    if let Some(spiffe_id) = &peer.spiffe_id {
        attributes.push(KeyValue::new("mesh.peer.spiffe_id", spiffe_id.clone()));
    }
    if let Some(domain) = peer.trust_domain() {
        attributes.push(KeyValue::new("mesh.peer.trust_domain", domain.to_owned()));
    }
    if let Some((namespace, account)) = peer.kubernetes_workload() {
        attributes.push(KeyValue::new("mesh.peer.namespace", namespace.to_owned()));
        attributes.push(KeyValue::new(
            "mesh.peer.service_account",
            account.to_owned(),
        ));
    }
}
