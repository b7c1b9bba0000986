//! The mTLS peer's identity, read from its X.509 certificate.

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::Error;

/// Who is on the other end of an mTLS connection: the certificate subject and issuer, and the SPIFFE
/// ID from the first `spiffe://` URI SAN (how Istio, Linkerd and SPIRE name workloads).
///
/// Servers parse it once per connection ([`PeerIdentity::from_der`]) and put it in each request's
/// extensions; [`crate::MeshTraceLayer`] turns it into span attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The subject distinguished name, RFC 4514 style (`CN=cart,O=shop`).
    pub subject: String,
    /// The issuer distinguished name.
    pub issuer: String,
    /// The SPIFFE ID, e.g. `spiffe://cluster.local/ns/shop/sa/cart`.
    pub spiffe_id: Option<String>,
}

impl PeerIdentity {
    /// Reads a DER-encoded certificate (as rustls hands it out in `peer_certificates()`).
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let (_, certificate) = X509Certificate::from_der(der)
            .map_err(|error| Error::Certificate(error.to_string()))?;
        let spiffe_id = certificate
            .subject_alternative_name()
            .map_err(|error| Error::Certificate(error.to_string()))?
            .and_then(|extension| {
                extension
                    .value
                    .general_names
                    .iter()
                    .find_map(|name| match name {
                        GeneralName::URI(uri) if uri.starts_with("spiffe://") => {
                            Some((*uri).to_owned())
                        }
                        _ => None,
                    })
            });
        Ok(Self {
            subject: certificate.subject().to_string(),
            issuer: certificate.issuer().to_string(),
            spiffe_id,
        })
    }

    /// The trust domain of the SPIFFE ID (`cluster.local`).
    pub fn trust_domain(&self) -> Option<&str> {
        let rest = self.spiffe_id.as_deref()?.strip_prefix("spiffe://")?;
        let domain = rest.split('/').next()?;
        (!domain.is_empty()).then_some(domain)
    }

    /// Namespace and service account when the SPIFFE path follows the Kubernetes convention used by
    /// Istio and Linkerd, `/ns/{namespace}/sa/{service-account}`.
    pub fn kubernetes_workload(&self) -> Option<(&str, &str)> {
        let rest = self.spiffe_id.as_deref()?.strip_prefix("spiffe://")?;
        let mut segments = rest.split('/').skip(1);
        match (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) {
            (Some("ns"), Some(namespace), Some("sa"), Some(account), None)
                if !namespace.is_empty() && !account.is_empty() =>
            {
                Some((namespace, account))
            }
            _ => None,
        }
    }
}
