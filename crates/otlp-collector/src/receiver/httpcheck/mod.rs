//! The `httpcheck` receiver (otelcol-contrib's): synthetic checks of HTTP endpoints, with otelcol's metrics, so
//! its dashboards and alerts keep working.
//!
//! ```yaml
//! receivers:
//!   httpcheck:
//!     collection_interval: 30s
//!     targets:
//!       - endpoint: http://frontend-proxy:8080
//!       - method: HEAD
//!         endpoints: [https://opentelemetry.io, http://localhost:8080/health]
//!         headers: { Authorization: "Bearer <token>" }
//! ```
//!
//! Every `collection_interval` each URL gets one request, all at once. For each:
//! - `httpcheck.duration{http.url}`: milliseconds until the answer's head, or until the request failed;
//! - `httpcheck.status{http.url, http.method, http.status_class}`: a point for each class `1xx` to `5xx`, `1`
//!   with `http.status_code` for the answer's class and `0` without it for the others (all `0` when there was
//!   no answer);
//! - `httpcheck.error{http.url, error.message}` = 1 when there was no answer (DNS, connection, TLS, timeout);
//! - with `metrics: { httpcheck.tls.cert_remaining: { enabled: true } }`, for an `https` URL that answered,
//!   `httpcheck.tls.cert_remaining{http.url, http.tls.issuer, http.tls.cn, http.tls.san}`: seconds until the
//!   server's certificate expires, read from the certificate the TLS verifier accepted (the TLS config's seen
//!   certificates), since hyper hands over none.
//!
//! Redirects are not followed: a `3xx` is the answer. Each target's requests share a pooled client with its
//! `tls` settings.

mod config;

pub use config::{HttpCheckConfig, Target};

use super::RunningReceiver;
use super::scraper::certificate::Certificate;
use super::scraper::metric::{Builder, Clock, Enabled, Kind, Spec};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::exporter::otlphttp::client::{HttpClient, header_map, http_url};
use crate::tls::SeenCertificates;
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "httpcheck.duration",
        description: "Measures the duration of the HTTP check.",
        unit: "ms",
        kind: Kind::Gauge,
        default: true,
    },
    Spec {
        name: "httpcheck.error",
        description: "Records errors occurring during HTTP check.",
        unit: "{error}",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "httpcheck.status",
        description: "1 if the check resulted in status_code matching the status_class, otherwise 0.",
        unit: "1",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "httpcheck.tls.cert_remaining",
        description: "Time in seconds until certificate expiry, as specified by `NotAfter` field in the x.509 \
                      certificate. Negative values represent time in seconds since expiration.",
        unit: "s",
        kind: Kind::Gauge,
        default: false,
    },
];

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The `httpcheck` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = HttpCheckConfig;
    const TYPE: &'static str = "httpcheck";

    fn validate(&self, config: &HttpCheckConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &HttpCheckConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let failed = |message: String| context.start_error(message);
        let mut checks = Vec::new();
        let enabled = Enabled::new(SPECS, &config.metrics);
        let seen = enabled
            .on("httpcheck.tls.cert_remaining")
            .then(|| Arc::new(SeenCertificates::default()));
        for target in &config.targets {
            let tls = match &seen {
                Some(seen) => target.tls.rustls_config_seeing(Arc::clone(seen)),
                None => target.tls.rustls_config(),
            }
            .map_err(failed)?;
            let client =
                HttpClient::with_config(tls, &target.tls, &Default::default(), target.timeout())
                    .map_err(failed)?;
            let client = Arc::new(client);
            let headers = header_map(&target.headers).map_err(failed)?;
            let method = target.method().map_err(failed)?;
            for url in target.urls() {
                let uri = http_url(url).map_err(failed)?;
                checks.push(Check {
                    server_name: server_name(&target.tls, &uri),
                    seen: seen.clone(),
                    url: url.to_owned(),
                    uri,
                    method: method.clone(),
                    headers: headers.clone(),
                    client: Arc::clone(&client),
                });
            }
        }
        let scraper = Checks {
            checks: checks.into(),
            enabled,
            start: crate::clock::now_nanos(),
            round_timeout: config.timeout,
        };
        Ok(scraper::start(
            context,
            config.collection_interval,
            config.initial_delay,
            scraper,
        ))
    }
}

/// The name a client asks `uri`'s server for (SNI) and checks its certificate against: the override, else the
/// host (an IPv6 address without its brackets).
fn server_name(tls: &crate::ClientTlsSettings, uri: &http::Uri) -> String {
    tls.server_name_override.clone().unwrap_or_else(|| {
        let host = uri.host().unwrap_or_default();
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned()
    })
}

/// One URL, checked with its target's method, headers and client.
struct Check {
    /// The certificates the client accepted, when `httpcheck.tls.cert_remaining` is on.
    seen: Option<Arc<SeenCertificates>>,
    /// The name the server's certificate is kept under in `seen`.
    server_name: String,
    url: String,
    uri: http::Uri,
    method: http::Method,
    headers: http::HeaderMap,
    client: Arc<HttpClient>,
}

/// What one check found.
struct Outcome {
    /// When the request was sent.
    at: u64,
    elapsed: Duration,
    /// The answer's status, or why there was none.
    status: Result<u16, String>,
    /// The certificate of the server that answered over TLS, when asked for.
    certificate: Option<Certificate>,
}

impl Check {
    async fn run(&self) -> Outcome {
        let at = crate::clock::now_nanos();
        let started = Instant::now();
        let status = self
            .client
            .send(self.method.clone(), &self.uri, &self.headers)
            .await
            .map(|answer| answer.status.as_u16());
        let elapsed = started.elapsed();
        Outcome {
            at,
            elapsed,
            certificate: status.as_ref().ok().and_then(|_| self.certificate()),
            status,
        }
    }

    /// The certificate the server presented, for an `https` URL whose check keeps them; one that does not parse
    /// is logged and reported as none.
    fn certificate(&self) -> Option<Certificate> {
        if self.uri.scheme_str() != Some("https") {
            return None;
        }
        let der = self.seen.as_ref()?.of(&self.server_name)?;
        Certificate::from_der(&der)
            .inspect_err(|error| tracing::warn!(url = %self.url, %error, "the server's certificate was left out"))
            .ok()
    }

    fn record(&self, outcome: &Outcome, out: &mut Builder<'_>) {
        let url = || key_value("http.url", string_value(&self.url));
        out.record(
            "httpcheck.duration",
            Value::AsInt(outcome.elapsed.as_millis() as i64),
            vec![url()],
        );
        if let Some(certificate) = &outcome.certificate {
            let mut attributes = vec![url()];
            attributes.extend(certificate.attributes([
                "http.tls.issuer",
                "http.tls.cn",
                "http.tls.san",
            ]));
            out.record(
                "httpcheck.tls.cert_remaining",
                Value::AsInt(certificate.seconds_left(outcome.at)),
                attributes,
            );
        }
        let code = match &outcome.status {
            Ok(code) => *code,
            Err(message) => {
                out.record(
                    "httpcheck.error",
                    Value::AsInt(1),
                    vec![url(), key_value("error.message", string_value(message))],
                );
                0
            }
        };
        for (class, first_digit) in CLASSES.into_iter().zip(1..) {
            let matches = code / 100 == first_digit;
            let mut attributes = vec![url()];
            // The code only where it is the class's: a `0` point carries none, as otelcol's.
            if matches {
                attributes.push(key_value(
                    "http.status_code",
                    AnyValue {
                        value: Some(any_value::Value::IntValue(i64::from(code))),
                    },
                ));
            }
            attributes.push(key_value("http.method", string_value(self.method.as_str())));
            attributes.push(key_value("http.status_class", string_value(class)));
            out.record(
                "httpcheck.status",
                Value::AsInt(i64::from(matches)),
                attributes,
            );
        }
    }
}

/// Every configured URL.
struct Checks {
    checks: Arc<[Check]>,
    enabled: Enabled,
    /// When the receiver started: the start of its cumulative sums.
    start: u64,
    round_timeout: Duration,
}

impl Checks {
    async fn round(checks: Arc<[Check]>, round_timeout: Duration) -> Vec<Outcome> {
        let all = futures::future::join_all(checks.iter().map(Check::run));
        if round_timeout.is_zero() {
            return all.await;
        }
        match tokio::time::timeout(round_timeout, all).await {
            Ok(outcomes) => outcomes,
            Err(_) => {
                let at = crate::clock::now_nanos();
                checks
                    .iter()
                    .map(|_| Outcome {
                        at,
                        elapsed: round_timeout,
                        certificate: None,
                        status: Err(format!(
                            "the checks did not finish within the receiver's timeout of {round_timeout:?}"
                        )),
                    })
                    .collect()
            }
        }
    }
}

impl Scrape for Checks {
    fn scrape(&mut self) -> impl Future<Output = Option<ExportMetricsServiceRequest>> + Send {
        let checks = Arc::clone(&self.checks);
        let (enabled, start, round_timeout) =
            (self.enabled.clone(), self.start, self.round_timeout);
        async move {
            let outcomes = Self::round(Arc::clone(&checks), round_timeout).await;
            let now = outcomes
                .iter()
                .map(|o| o.at)
                .max()
                .unwrap_or_else(crate::clock::now_nanos);
            let mut out = Builder::new(SPECS, &enabled, Clock { now, start });
            for (check, outcome) in checks.iter().zip(&outcomes) {
                out.at(outcome.at);
                check.record(outcome, &mut out);
            }
            let metrics = out.finish();
            (!metrics.is_empty()).then(|| ExportMetricsServiceRequest {
                resource_metrics: vec![scraper::resource_metrics(
                    Resource::default(),
                    "receiver/httpcheckreceiver",
                    metrics,
                )],
            })
        }
    }
}

#[cfg(test)]
mod tests;
