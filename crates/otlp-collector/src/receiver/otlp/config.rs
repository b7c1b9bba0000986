//! The `otlp` receiver's settings: which transports to serve and their limits.

use super::cors::CorsSettings;
use super::keepalive::GrpcKeepalive;
use crate::auth::AuthSettings;
use crate::de;
use crate::receiver::rate_limit::RateLimitConfig;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;

/// The `otlp` receiver's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpReceiverConfig {
    /// Which transports to serve.
    #[serde(default)]
    pub protocols: Protocols,
    /// How received protobuf becomes a batch (not in otelcol).
    #[serde(default)]
    pub decoding: Decoding,
    /// Token-bucket rate limits over both transports, per receiver and per tenant (not in otelcol).
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
}

/// How received protobuf becomes a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decoding {
    /// Checked in place and kept as the bytes that arrived, so nothing is decoded unless a processor needs the
    /// message tree and exporters forward the bytes as received.
    #[default]
    InPlace,
    /// Decoded into prost's message tree on arrival, as before the fast path: the reference the in-place path is
    /// tested against, kept selectable to compare the two or to rule the fast path out while chasing a bug.
    Prost,
}

/// `protocols`: each present key enables that transport (`grpc:` alone means "with defaults").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocols {
    /// OTLP/gRPC.
    #[serde(default, deserialize_with = "de::present")]
    pub grpc: Option<GrpcServerConfig>,
    /// OTLP/HTTP.
    #[serde(default, deserialize_with = "de::present")]
    pub http: Option<HttpServerConfig>,
}

/// OTLP/gRPC server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcServerConfig {
    /// `host:port` to listen on; port 0 picks a free one.
    pub endpoint: String,
    /// Largest request accepted, after decompression, in MiB.
    pub max_recv_msg_size_mib: usize,
    /// Concurrent streams allowed per HTTP/2 connection.
    pub max_concurrent_streams: Option<u32>,
    /// TLS (mutual with `client_ca_file`); plaintext without it.
    pub tls: Option<ServerTlsSettings>,
    /// The authenticator extension calls must satisfy (`UNAUTHENTICATED` otherwise).
    pub auth: Option<AuthSettings>,
    /// Connection lifetimes and pings (otelcol's `keepalive.server_parameters`).
    pub keepalive: GrpcKeepalive,
    /// otelcol's network: `tcp` (the default), `tcp4` or `tcp6` (the endpoint's address decides the family
    /// here); a Unix socket (`unix`) is refused.
    pub transport: String,
    /// otelcol's socket buffer sizes for gRPC's reads and writes: taken, with no effect (hyper sizes its own
    /// buffers, and the kernel's socket buffers are left to the system).
    pub read_buffer_size: Option<usize>,
    /// See `read_buffer_size`.
    pub write_buffer_size: Option<usize>,
    /// Keep each request's metadata and the client's address with its data, for the components that read them
    /// (`headers_setter`, the `batch` processor's `metadata_keys`, `from_context` actions).
    pub include_metadata: bool,
}

impl Default for GrpcServerConfig {
    fn default() -> Self {
        GrpcServerConfig {
            endpoint: "localhost:4317".to_string(),
            max_recv_msg_size_mib: 4,
            max_concurrent_streams: None,
            tls: None,
            auth: None,
            keepalive: GrpcKeepalive::default(),
            transport: "tcp".to_string(),
            read_buffer_size: None,
            write_buffer_size: None,
            include_metadata: false,
        }
    }
}

/// OTLP/HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpServerConfig {
    /// `host:port` to listen on; port 0 picks a free one.
    pub endpoint: String,
    /// Largest request body accepted, compressed or not, in bytes.
    pub max_request_body_size: usize,
    /// Path for traces.
    pub traces_url_path: String,
    /// Path for metrics.
    pub metrics_url_path: String,
    /// Path for logs.
    pub logs_url_path: String,
    /// TLS (mutual with `client_ca_file`); plaintext without it.
    pub tls: Option<ServerTlsSettings>,
    /// The authenticator extension requests must satisfy (401 otherwise).
    pub auth: Option<AuthSettings>,
    /// Which web origins may send from a browser (cross-origin requests); none when absent.
    pub cors: Option<CorsSettings>,
    /// Keep each request's headers and the client's address with its data, as gRPC's `include_metadata`.
    pub include_metadata: bool,
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        HttpServerConfig {
            endpoint: "localhost:4318".to_string(),
            max_request_body_size: 20 * 1024 * 1024,
            traces_url_path: "/v1/traces".to_string(),
            metrics_url_path: "/v1/metrics".to_string(),
            logs_url_path: "/v1/logs".to_string(),
            tls: None,
            auth: None,
            cors: None,
            include_metadata: false,
        }
    }
}

impl OtlpReceiverConfig {
    /// A receiver with no transport would take nothing.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.protocols.grpc.is_none() && self.protocols.http.is_none() {
            return Err("enable at least one protocol: grpc or http".into());
        }
        if let Some(grpc) = &self.protocols.grpc
            && !["tcp", "tcp4", "tcp6"].contains(&grpc.transport.as_str())
        {
            return Err(format!(
                "grpc.transport: `{}` is not supported; the receiver listens on TCP (`tcp`, `tcp4` or `tcp6`, the \
                 endpoint's address deciding the family)",
                grpc.transport
            ));
        }
        let tls = [
            (
                "grpc",
                self.protocols.grpc.as_ref().and_then(|g| g.tls.as_ref()),
            ),
            (
                "http",
                self.protocols.http.as_ref().and_then(|h| h.tls.as_ref()),
            ),
        ];
        for (transport, tls) in tls {
            if let Some((key, message)) = tls.and_then(ServerTlsSettings::problems) {
                return Err(format!("{transport}.tls.{key}: {message}"));
            }
        }
        let cors = self.protocols.http.as_ref().and_then(|h| h.cors.as_ref());
        if let Some((key, message)) = cors.and_then(CorsSettings::problem) {
            return Err(format!("http.cors.{key}: {message}"));
        }
        if let Some(rate_limit) = &self.rate_limit {
            rate_limit.validate()?;
        }
        Ok(())
    }
}
