//! The `jaeger` receiver's settings, with otelcol-contrib's keys and default ports.

use crate::auth::AuthSettings;
use crate::de;
use crate::receiver::otlp::{CorsSettings, GrpcServerConfig};
use crate::tls::ServerTlsSettings;
use serde::{Deserialize, Deserializer};

/// The `jaeger` receiver's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JaegerReceiverConfig {
    /// Each present key enables that protocol (`thrift_compact:` alone means "with defaults").
    #[serde(default)]
    pub protocols: JaegerProtocols,
}

/// `protocols`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JaegerProtocols {
    /// `jaeger.api_v2.CollectorService/PostSpans` (otelcol's default `localhost:14250`), with the `otlp`
    /// receiver's gRPC settings.
    #[serde(default, deserialize_with = "grpc")]
    pub grpc: Option<GrpcServerConfig>,
    /// Thrift-encoded batches over HTTP on `/api/traces` (`localhost:14268`).
    #[serde(default, deserialize_with = "thrift_http")]
    pub thrift_http: Option<ThriftHttpConfig>,
    /// Agents' `emitBatch` over UDP, Thrift compact protocol (`localhost:6831`).
    #[serde(default, deserialize_with = "thrift_compact")]
    pub thrift_compact: Option<UdpConfig>,
    /// The same in Thrift's binary protocol (`localhost:6832`).
    #[serde(default, deserialize_with = "thrift_binary")]
    pub thrift_binary: Option<UdpConfig>,
}

/// `thrift_http`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThriftHttpConfig {
    /// `host:port` to listen on.
    pub endpoint: String,
    /// Largest request body accepted, in bytes.
    pub max_request_body_size: usize,
    /// TLS (mutual with `client_ca_file`); plaintext without it.
    pub tls: Option<ServerTlsSettings>,
    /// The authenticator extension requests must satisfy (401 otherwise).
    pub auth: Option<AuthSettings>,
    /// Which web origins may send from a browser.
    pub cors: Option<CorsSettings>,
}

impl Default for ThriftHttpConfig {
    fn default() -> Self {
        ThriftHttpConfig {
            endpoint: "localhost:14268".to_owned(),
            max_request_body_size: 20 * 1024 * 1024,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}

/// `thrift_compact` and `thrift_binary`: an agent's UDP port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UdpConfig {
    /// `host:port` to listen on.
    pub endpoint: String,
    /// The largest datagram taken; a larger one is cut short by the socket and dropped as malformed.
    pub max_packet_size: usize,
    /// otelcol's reader queue and goroutines: taken, with no effect (one task reads the socket and hands each
    /// batch on, waiting while the pipeline is full, as the kernel's socket buffer fills meanwhile).
    pub queue_size: usize,
    /// See `queue_size`.
    pub workers: usize,
    /// The socket's receive buffer: taken, with no effect (the system's default applies).
    pub socket_buffer_size: usize,
}

impl UdpConfig {
    fn with_endpoint(endpoint: &str) -> Self {
        UdpConfig {
            endpoint: endpoint.to_owned(),
            max_packet_size: 65_000,
            queue_size: 1000,
            workers: 10,
            socket_buffer_size: 0,
        }
    }
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig::with_endpoint("localhost:6831")
    }
}

fn grpc<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GrpcServerConfig>, D::Error> {
    de::present_with_endpoint(d, "localhost:14250")
}

fn thrift_http<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ThriftHttpConfig>, D::Error> {
    de::present_with_endpoint(d, "localhost:14268")
}

fn thrift_compact<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UdpConfig>, D::Error> {
    de::present_with_endpoint(d, "localhost:6831")
}

fn thrift_binary<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UdpConfig>, D::Error> {
    de::present_with_endpoint(d, "localhost:6832")
}

impl JaegerReceiverConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        let p = &self.protocols;
        if p.grpc.is_none()
            && p.thrift_http.is_none()
            && p.thrift_compact.is_none()
            && p.thrift_binary.is_none()
        {
            return Err(
                "enable at least one protocol: grpc, thrift_http, thrift_compact or thrift_binary"
                    .into(),
            );
        }
        for (protocol, udp) in [
            ("thrift_compact", &p.thrift_compact),
            ("thrift_binary", &p.thrift_binary),
        ] {
            if let Some(udp) = udp
                && !(1..=65_535).contains(&udp.max_packet_size)
            {
                return Err(format!(
                    "{protocol}.max_packet_size: must be 1 to 65535 (a UDP datagram's most)"
                ));
            }
        }
        Ok(())
    }

    pub(super) fn warnings(&self) -> Vec<(String, String)> {
        let mut warnings = Vec::new();
        let p = &self.protocols;
        for (protocol, udp) in [
            ("thrift_compact", &p.thrift_compact),
            ("thrift_binary", &p.thrift_binary),
        ] {
            let Some(udp) = udp else { continue };
            let defaults = UdpConfig::default();
            for (key, set, default) in [
                ("queue_size", udp.queue_size, defaults.queue_size),
                ("workers", udp.workers, defaults.workers),
                (
                    "socket_buffer_size",
                    udp.socket_buffer_size,
                    defaults.socket_buffer_size,
                ),
            ] {
                if set != default {
                    warnings.push((
                        format!("protocols.{protocol}.{key}"),
                        "taken, with no effect: one task reads the socket and waits while the pipeline is full".into(),
                    ));
                }
            }
        }
        warnings
    }
}
