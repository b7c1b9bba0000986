//! The `tcpcheck` receiver (otelcol-contrib's): whether TCP servers accept connections, and how long connecting
//! takes, every `collection_interval`.
//!
//! ```yaml
//! receivers:
//!   tcpcheck:
//!     targets:
//!       - endpoint: db.internal:5432
//!         dialer: { timeout: 5s }
//!       - endpoint: localhost:6379
//!     collection_interval: 30s
//! ```
//!
//! Each check connects to every target at once and closes the connection as soon as it is made. As otelcol's:
//!
//! - `tcpcheck.status{tcpcheck.endpoint}` = 1 when the connection was made, 0 when not;
//! - `tcpcheck.duration{tcpcheck.endpoint}` = the milliseconds connecting took (name resolution included), when
//!   it was made;
//! - `tcpcheck.error{tcpcheck.endpoint, error.code}`, a cumulative count of the target's failed checks since the
//!   receiver started, when this one failed; `error.code` says how: `connection_refused` (refused, reset, or no
//!   route to the host), `connection_timeout`, `invalid_endpoint` (the name does not resolve),
//!   `network_unreachable`, or `unknown_error`. The failure itself is logged.

mod config;

pub use config::{Dialer, TcpCheckConfig, TcpTarget};

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled, Kind, Spec};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

/// The metrics, as otelcol's generated `documentation.md` lists them.
const SPECS: &[Spec] = &[
    Spec::on(
        "tcpcheck.duration",
        "Measures the duration of TCP connection.",
        "ms",
        Kind::Gauge,
    ),
    Spec::on(
        "tcpcheck.error",
        "Records errors occurring during TCP check.",
        "{errors}",
        Kind::Counter,
    ),
    Spec::on(
        "tcpcheck.status",
        "1 if the TCP client successfully connected, otherwise 0.",
        "1",
        Kind::Gauge,
    ),
];

/// The `tcpcheck` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = TcpCheckConfig;
    const TYPE: &'static str = "tcpcheck";

    fn validate(&self, config: &TcpCheckConfig) -> Result<(), Invalid> {
        config.validate(SPECS)
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &TcpCheckConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let targets = config
            .targets
            .iter()
            .map(|target| {
                let timeout = if target.dialer.timeout.is_zero() {
                    config.collection_interval
                } else {
                    target.dialer.timeout
                };
                (target.endpoint.clone(), timeout)
            })
            .collect();
        let scraper = TcpCheckScraper {
            targets,
            enabled: Enabled::new(SPECS, &config.metrics),
            errors: HashMap::new(),
            start: crate::clock::now_nanos(),
            id: context.id.clone(),
        };
        Ok(scraper::start(
            context,
            config.collection_interval,
            config.initial_delay,
            scraper,
        ))
    }
}

struct TcpCheckScraper {
    /// Each endpoint and how long connecting to it may take.
    targets: Vec<(String, Duration)>,
    enabled: Enabled,
    /// Failed checks so far, by endpoint.
    errors: HashMap<String, i64>,
    /// When the error counts started.
    start: u64,
    id: String,
}

/// How a connection failed, as otelcol's `error.code` names it.
fn error_code(error: &std::io::Error) -> &'static str {
    match error.kind() {
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset | ErrorKind::HostUnreachable => {
            "connection_refused"
        }
        ErrorKind::TimedOut => "connection_timeout",
        ErrorKind::NetworkUnreachable | ErrorKind::NetworkDown => "network_unreachable",
        ErrorKind::InvalidInput | ErrorKind::AddrNotAvailable => "invalid_endpoint",
        // tokio's resolver reports a name that does not resolve as an uncategorized error.
        _ if error.to_string().contains("lookup address") => "invalid_endpoint",
        _ => "unknown_error",
    }
}

/// Connects to `endpoint` and closes the connection: how long it took, or why it failed.
async fn connect(endpoint: &str, timeout: Duration) -> Result<Duration, std::io::Error> {
    let began = Instant::now();
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(endpoint)).await {
        Ok(Ok(_connection)) => Ok(began.elapsed()),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(std::io::Error::new(
            ErrorKind::TimedOut,
            format!("not connected within {timeout:?}"),
        )),
    }
}

impl Scrape for TcpCheckScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let checks = self.targets.iter().map(|(endpoint, timeout)| async move {
            (endpoint.clone(), connect(endpoint, *timeout).await)
        });
        let results = futures::future::join_all(checks).await;
        let clock = Clock {
            now: crate::clock::now_nanos(),
            start: self.start,
        };
        let mut out = Builder::new(SPECS, &self.enabled, clock);
        for (endpoint, result) in results {
            let target = [("tcpcheck.endpoint", endpoint.as_str())];
            match result {
                Ok(took) => {
                    let millis = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
                    out.int("tcpcheck.duration", millis, &target);
                    out.int("tcpcheck.status", 1, &target);
                }
                Err(error) => {
                    tracing::warn!(receiver = %self.id, %endpoint, %error, "the TCP check failed");
                    let failed = self.errors.entry(endpoint.clone()).or_insert(0);
                    *failed += 1;
                    out.int(
                        "tcpcheck.error",
                        *failed,
                        &[
                            ("tcpcheck.endpoint", endpoint.as_str()),
                            ("error.code", error_code(&error)),
                        ],
                    );
                    out.int("tcpcheck.status", 0, &target);
                }
            }
        }
        let metrics = out.finish();
        (!metrics.is_empty()).then(|| ExportMetricsServiceRequest {
            resource_metrics: vec![scraper::resource_metrics(
                Resource::default(),
                "receiver/tcpcheckreceiver",
                metrics,
            )],
        })
    }
}

#[cfg(test)]
mod tests;
