//! What a receiver keeps of the client that sent a request: with `include_metadata: true`, the request's headers
//! (gRPC metadata) and the client's address; what its authenticator learnt of the client (`auth.<name>`). The
//! request's batches carry it ([`crate::Batch::client`]) to the components that read it, as otelcol's
//! `client.Info`.

pub use otlp_ottl::actions::ClientInfo;

use crate::auth::AuthAttributes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The client of data whose receiver kept nothing of it: every lookup finds nothing.
pub(crate) static UNKNOWN: ClientInfo = ClientInfo {
    address: None,
    metadata: BTreeMap::new(),
    auth: BTreeMap::new(),
};

/// The client of a request with these headers, from `address`.
#[cfg(test)]
pub(crate) fn from_headers(
    headers: &http::HeaderMap,
    address: Option<SocketAddr>,
) -> Arc<ClientInfo> {
    of_request(Some(headers), address, AuthAttributes::new())
}

/// What a receiver keeps of a request's client: its headers as metadata when it keeps them (`include_metadata`),
/// its address, what the authenticator learnt of it. Header names are lowercase (HTTP/2 sends them so, and `http`
/// keeps them so); values that are not text (gRPC's `-bin` metadata) are left out, as no component reading
/// metadata could use them as text.
pub(crate) fn of_request(
    headers: Option<&http::HeaderMap>,
    address: Option<SocketAddr>,
    auth: AuthAttributes,
) -> Arc<ClientInfo> {
    let mut metadata: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers.into_iter().flatten() {
        if name.as_str().ends_with("-bin") {
            continue;
        }
        if let Ok(value) = value.to_str() {
            metadata
                .entry(name.as_str().to_owned())
                .or_default()
                .push(value.to_owned());
        }
    }
    Arc::new(ClientInfo {
        address: address.map(|address| address.ip().to_string()),
        metadata,
        auth,
    })
}

/// What a `batch` processor with `metadata_keys` keeps of a client: the values of those keys alone (keys as
/// configured, matched case-insensitively), which is also what tells its batches apart.
pub(crate) fn only_keys(client: Option<&ClientInfo>, keys: &[String]) -> ClientInfo {
    let metadata = keys
        .iter()
        .filter_map(|key| {
            let values = client.map_or(&[][..], |client| client.metadata_values(key));
            (!values.is_empty()).then(|| (key.to_ascii_lowercase(), values.to_vec()))
        })
        .collect();
    ClientInfo {
        address: None,
        metadata,
        auth: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_become_metadata_by_lowercase_name_with_every_value_and_no_binary() {
        let mut headers = http::HeaderMap::new();
        headers.append("X-Scope-OrgID", "acme".parse().unwrap());
        headers.append("x-team", "a".parse().unwrap());
        headers.append("x-team", "b".parse().unwrap());
        headers.append("trace-proto-bin", "AAEC".parse().unwrap());
        let client = from_headers(&headers, Some("10.0.0.7:4711".parse().unwrap()));
        assert_eq!(client.metadata_values("x-scope-orgid"), ["acme"]);
        assert_eq!(client.metadata_values("X-SCOPE-ORGID"), ["acme"]);
        assert_eq!(client.metadata_values("x-team"), ["a", "b"]);
        assert!(client.metadata_values("trace-proto-bin").is_empty());
        assert_eq!(client.address.as_deref(), Some("10.0.0.7"));
    }

    #[test]
    fn only_the_configured_keys_are_kept_and_a_missing_key_is_absent() {
        let mut headers = http::HeaderMap::new();
        headers.append("x-scope-orgid", "acme".parse().unwrap());
        headers.append("user-agent", "sdk".parse().unwrap());
        let client = from_headers(&headers, None);
        let kept = only_keys(Some(&client), &["X-Scope-OrgID".into(), "x-region".into()]);
        assert_eq!(kept.metadata.len(), 1);
        assert_eq!(kept.metadata_values("x-scope-orgid"), ["acme"]);
        assert_eq!(
            only_keys(None, &["x-scope-orgid".into()]),
            ClientInfo::default()
        );
    }
}
