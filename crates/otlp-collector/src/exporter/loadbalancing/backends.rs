//! The backends: the resolver that says which exist, the balancer that holds the ring and each backend's health,
//! and the OTLP client and self-metrics kept for each.
//!
//! Membership is applied on its own task as the resolver publishes it. Nothing queued belongs to a backend (the
//! exporter routes at send time), so a backend leaving strands nothing, and a resolver that hangs (otelcol #1690)
//! only delays the next membership: it never blocks a send.

use super::config::{OtlpProtocol, ResolverConfig, with_port};
use crate::Signal;
use crate::auth::ClientAuth;
use crate::client::ClientInfo;
use crate::exporter::otlp::OtlpGrpcExport;
use crate::exporter::{Delivered, ExportError};
use crate::telemetry::{Counter, Histogram, Telemetry};
use bytes::Bytes;
use otlp_lb::health::OutlierDetection;
use otlp_lb::policy::ConsistentHash;
use otlp_lb::resolver::{DnsConfig, DnsResolver, Resolver, StaticResolver};
use otlp_lb::{Balancer, Endpoint, EndpointId};
use otlp_model::with_signal;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// One backend: its client and its self-metrics.
pub(super) struct Backend {
    client: OtlpGrpcExport,
    /// Items delivered to it, by signal.
    pub(super) sent: [Counter; 3],
    pub(super) succeeded: Counter,
    pub(super) failed: Counter,
    pub(super) latency: Histogram,
}

impl Backend {
    /// One request with an encoded `signal` request, given as parts whose concatenation is the request, carrying
    /// the data of `client`.
    pub(super) async fn send(
        &self,
        signal: Signal,
        body: Vec<Bytes>,
        client: Option<&ClientInfo>,
    ) -> Result<Delivered, ExportError> {
        with_signal!(signal, R => self.client.send_encoded::<R>(body, client).await)
    }
}

/// The exporter's backends.
pub(super) struct Backends {
    exporter: String,
    /// The ring over the current backends, and their health (outlier ejection).
    pub(super) balancer: Arc<Balancer<ConsistentHash>>,
    protocol: OtlpProtocol,
    auth: Option<ClientAuth>,
    telemetry: Telemetry,
    clients: parking_lot::Mutex<HashMap<EndpointId, Arc<Backend>>>,
}

impl Backends {
    pub(super) fn new(
        exporter: &str,
        protocol: OtlpProtocol,
        auth: Option<ClientAuth>,
        outlier: OutlierDetection,
        telemetry: &Telemetry,
    ) -> Result<Self, String> {
        let balancer = Balancer::builder(ConsistentHash::new())
            .outlier_detection(outlier)
            .build()
            .map_err(|e| format!("outlier_detection: {e}"))?;
        Ok(Backends {
            exporter: exporter.to_owned(),
            balancer: Arc::new(balancer),
            protocol,
            auth,
            telemetry: telemetry.clone(),
            clients: parking_lot::Mutex::new(HashMap::new()),
        })
    }

    /// The client of `endpoint`, made on first use.
    pub(super) fn backend(&self, endpoint: &Endpoint) -> Result<Arc<Backend>, String> {
        let mut clients = self.clients.lock();
        if let Some(backend) = clients.get(endpoint.id()) {
            return Ok(Arc::clone(backend));
        }
        let client = OtlpGrpcExport::new(
            &self.protocol.for_backend(endpoint.address()),
            self.auth.clone(),
        )
        .map_err(|e| format!("backend {endpoint}: {e}"))?;
        let labels = [
            ("exporter", self.exporter.as_str()),
            ("endpoint", endpoint.address()),
        ];
        let outcome = |success: &str| {
            self.telemetry.counter(
                "otelcol_loadbalancer_backend_outcome",
                "Requests to each backend, by outcome (success=true|false).",
                &[labels[0], labels[1], ("success", success)],
            )
        };
        let backend = Arc::new(Backend {
            client,
            sent: Signal::ALL.map(|signal| {
                let unit = signal.item_unit();
                self.telemetry.counter(
                    &format!("otelcol_loadbalancer_backend_sent_{unit}"),
                    &format!(
                        "Number of {} delivered to each backend.",
                        unit.replace('_', " ")
                    ),
                    &labels,
                )
            }),
            succeeded: outcome("true"),
            failed: outcome("false"),
            latency: self.telemetry.histogram(
                "otelcol_loadbalancer_backend_latency",
                "Time each request to a backend took, in milliseconds.",
                &labels,
                &crate::telemetry::LATENCY_BUCKETS_MS,
            ),
        });
        clients.insert(endpoint.id().clone(), Arc::clone(&backend));
        Ok(backend)
    }

    /// Applies one membership: the ring is rebuilt (health and load of staying backends are kept), and the
    /// clients of backends that left are let go (requests in flight keep theirs until they finish).
    fn apply(&self, endpoints: &[Endpoint]) {
        if let Err(error) = self.balancer.set_endpoints(endpoints.iter().cloned()) {
            tracing::error!(exporter = %self.exporter, %error,
                "the resolver published a backend set that cannot be used; keeping the previous one");
            return;
        }
        self.clients
            .lock()
            .retain(|id, _| endpoints.iter().any(|e| e.id() == id));
        tracing::info!(exporter = %self.exporter,
            backends = ?endpoints.iter().map(Endpoint::address).collect::<Vec<_>>(), "backends changed");
    }
}

/// Keeps [`Backends`] in step with a resolver, on its own task; stops when dropped.
pub(super) struct Membership {
    task: JoinHandle<()>,
    /// Held so that it keeps resolving (a DNS resolver stops when dropped).
    _resolver: Arc<dyn Resolver>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Membership {
    /// Applies the resolver's current set now (so a static list is in place before the first batch), then every
    /// later set as it is published. `kind` labels the self-metrics (`resolver="static"`).
    pub(super) fn follow(
        backends: &Arc<Backends>,
        resolver: Arc<dyn Resolver>,
        kind: &str,
    ) -> Result<Self, String> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            "the loadbalancing exporter must be built inside a tokio runtime".to_owned()
        })?;
        let labels = [("exporter", backends.exporter.as_str()), ("resolver", kind)];
        let updates = backends.telemetry.counter(
            "otelcol_loadbalancer_num_backend_updates",
            "Number of times the resolver's backend set was applied.",
            &labels,
        );
        let weak = Arc::downgrade(backends);
        backends.telemetry.gauge(
            "otelcol_loadbalancer_num_backends",
            "Number of backends currently routed to.",
            &labels,
            move || weak.upgrade().map_or(0, |b| b.balancer.len() as u64),
        );
        let mut sets = resolver.subscribe();
        let first: Vec<Endpoint> = sets.borrow_and_update().to_vec();
        backends.apply(&first);
        updates.add(1);
        let backends = Arc::clone(backends);
        let task = runtime.spawn(async move {
            while sets.changed().await.is_ok() {
                let set: Vec<Endpoint> = sets.borrow_and_update().to_vec();
                backends.apply(&set);
                updates.add(1);
            }
        });
        Ok(Membership {
            task,
            _resolver: resolver,
        })
    }
}

/// Starts the resolver `config` describes, and registers otelcol's `otelcol_loadbalancer_num_resolutions`.
pub(super) fn start_resolver(
    config: &ResolverConfig,
    exporter: &str,
    telemetry: &Telemetry,
) -> Result<Arc<dyn Resolver>, String> {
    let help = "Number of resolutions, by outcome (success=true|false).";
    let labels = |success| {
        [
            ("exporter", exporter),
            ("resolver", config.kind()),
            ("success", success),
        ]
    };
    match config {
        ResolverConfig::Static(fixed) => {
            let endpoints = fixed
                .hostnames
                .iter()
                .map(|hostname| Endpoint::new(with_port(hostname)))
                .collect();
            let resolver =
                StaticResolver::new(endpoints).map_err(|e| format!("resolver.static: {e}"))?;
            // A static list is resolved once, successfully, as otelcol counts it.
            telemetry
                .counter(
                    "otelcol_loadbalancer_num_resolutions",
                    help,
                    &labels("true"),
                )
                .add(1);
            Ok(Arc::new(resolver))
        }
        ResolverConfig::Dns(dns) => {
            let resolver = Arc::new(
                DnsResolver::spawn(DnsConfig {
                    hostname: dns.hostname.clone(),
                    port: dns.port,
                    interval: dns.interval,
                    timeout: dns.timeout,
                })
                .map_err(|e| format!("resolver.dns: {e}"))?,
            );
            for (success, of) in [("true", true), ("false", false)] {
                // The reader outlives the resolver, so the counts stay after a shutdown instead of dropping to 0.
                let stats = resolver.stats_reader();
                telemetry.counter_fn(
                    "otelcol_loadbalancer_num_resolutions",
                    help,
                    &labels(success),
                    move || {
                        let stats = stats.read();
                        if of { stats.succeeded } else { stats.failed }
                    },
                );
            }
            Ok(resolver)
        }
        ResolverConfig::Fleet(_) => Err(FLEET_NEEDS_THE_SUITE.to_owned()),
    }
}

/// Why a `fleet` resolver cannot start in a collector that does not know fleets.
pub(super) const FLEET_NEEDS_THE_SUITE: &str = "resolver.fleet: this collector does not know fleets: run the \
    `otlp-suite` binary built with its `fleet` feature (`cargo run --release -p otlp-suite --features fleet`)";
