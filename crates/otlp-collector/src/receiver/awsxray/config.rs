//! The `awsxray` receiver's settings, with otelcol-contrib's keys.

use crate::component::Invalid;
use serde::Deserialize;

/// The `awsxray` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsXrayReceiverConfig {
    /// `host:port` the X-Ray SDKs send segments to (`localhost:2000`, the X-Ray daemon's port).
    pub endpoint: String,
    /// `udp`, the only transport X-Ray SDKs send segments over.
    pub transport: String,
    /// otelcol's proxy of the SDKs' sampling requests to AWS X-Ray: refused with the reason.
    pub proxy_server: Option<serde_norway::Value>,
}

impl Default for AwsXrayReceiverConfig {
    fn default() -> Self {
        AwsXrayReceiverConfig {
            endpoint: "localhost:2000".to_owned(),
            transport: "udp".to_owned(),
            proxy_server: None,
        }
    }
}

impl AwsXrayReceiverConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.transport != "udp" {
            problems.push(Invalid::at(
                "transport",
                format!(
                    "`{}` is not a transport of X-Ray segments: `udp`",
                    self.transport
                ),
            ));
        }
        if self.proxy_server.is_some() {
            problems.push(Invalid::at(
                "proxy_server",
                "forwarding the SDKs' sampling requests to AWS X-Ray (signed with AWS credentials) is not \
                 supported: remove `proxy_server`; the SDKs then sample by their local rules, and the \
                 collector's own samplers (`probabilistic_sampler`, `tail_sampling`) decide what is kept",
            ));
        }
        Invalid::all(problems)
    }
}
