//! The `syslog` exporter's settings, with otelcol-contrib's keys and defaults.

use crate::ClientTlsSettings;
use crate::de;
use crate::exporter::{CircuitBreakerConfig, HelperSettings, QueueConfig, RetryConfig};
use serde::Deserialize;
use std::time::Duration;

/// The `syslog` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogExporterConfig {
    /// The syslog server's host; required.
    pub endpoint: String,
    /// Its port.
    pub port: u16,
    /// `tcp` or `udp`.
    pub network: String,
    /// `rfc5424` or `rfc3164`.
    pub protocol: String,
    /// RFC 6587's octet counting: each RFC 5424 message preceded by its length, instead of ended by a newline
    /// alone.
    pub enable_octet_counting: bool,
    /// TLS over TCP, on unless `insecure: true`, as otelcol's: verified against `ca_file` (else the system's
    /// roots) unless `insecure_skip_verify`; `cert_file`/`key_file` for mutual TLS.
    pub tls: ClientTlsSettings,
    /// Time allowed for one attempt at a batch, connecting included.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// The sending queue.
    pub sending_queue: QueueConfig,
    /// Retries: a failed attempt is taken up from the first message it did not send.
    pub retry_on_failure: RetryConfig,
    /// Stop calling a failing server for a while (not in otelcol).
    pub circuit_breaker: CircuitBreakerConfig,
}

impl Default for SyslogExporterConfig {
    fn default() -> Self {
        SyslogExporterConfig {
            endpoint: String::new(),
            port: 514,
            network: "tcp".to_owned(),
            protocol: "rfc5424".to_owned(),
            enable_octet_counting: false,
            tls: ClientTlsSettings::default(),
            timeout: Duration::from_secs(5),
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
        }
    }
}

impl SyslogExporterConfig {
    /// Each problem of the settings, with the key it is about.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.endpoint.is_empty() {
            problems.push(("endpoint", "must name the syslog server's host".to_owned()));
        }
        if self.port == 0 {
            problems.push(("port", "must be from 1 to 65535".to_owned()));
        }
        match self.network.to_ascii_lowercase().as_str() {
            "tcp" => {}
            "udp" if !self.tls.insecure => problems.push((
                "network",
                "TLS needs tcp: with udp, set `tls: { insecure: true }`".to_owned(),
            )),
            "udp" => {}
            other => problems.push(("network", format!("`{other}` is not tcp or udp"))),
        }
        match self.protocol.as_str() {
            "rfc5424" => {}
            "rfc3164" if self.enable_octet_counting => problems.push((
                "enable_octet_counting",
                "octet counting frames rfc5424 messages only".to_owned(),
            )),
            "rfc3164" => {}
            other => problems.push(("protocol", format!("`{other}` is not rfc5424 or rfc3164"))),
        }
        for check in [
            self.sending_queue.validate(),
            self.retry_on_failure.validate(),
            self.circuit_breaker.validate(),
        ] {
            if let Err(message) = check {
                problems.push(("", message));
            }
        }
        problems
    }

    pub(super) fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }
}
