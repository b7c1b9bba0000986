//! TLS settings of clients (otelcol's `tls` block of an exporter).

use serde::Deserialize;
use std::path::PathBuf;

/// Client TLS settings (otelcol's `tls` block).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTlsSettings {
    /// Plain text: no TLS at all.
    pub insecure: bool,
    /// PEM file with the CA certificates that sign the server's certificate (default: the system's roots).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// PEM client key, for mutual TLS.
    pub key_file: Option<PathBuf>,
    /// The name to check the server's certificate against, when it differs from the endpoint's host.
    pub server_name_override: Option<String>,
    /// Take any server certificate, checking neither its signer nor its name (`otlphttp` only; for tests against
    /// self-signed backends: anyone on the path can then read and change the telemetry).
    pub insecure_skip_verify: bool,
}
