//! Receivers: where data enters the collector. Each is a folder with its config and a `Factory`; what they share
//! is here: handing requests to the pipelines ([`Ingest`]), binding listeners, and stopping
//! ([`RunningReceiver`]).

pub mod apache;
pub mod arrow_flight;
pub mod awsxray;
pub mod carbon;
pub mod chrony;
pub mod collectd;
pub mod datadog;
pub mod filelog;
pub mod filestats;
pub mod fluentforward;
pub mod haproxy;
pub mod hostmetrics;
mod http_server;
pub mod httpcheck;
pub mod influxdb;
pub mod jaeger;
pub mod journald;
pub mod loki;
pub mod memcached;
mod msgpack;
pub mod mysql;
pub mod namedpipe;
pub mod nginx;
pub mod nop;
pub mod ntp;
mod number_points;
pub mod otlp;
pub mod otlpjsonfile;
pub mod postgresql;
pub mod prometheus;
pub mod prometheusremotewrite;
pub mod rabbitmq;
mod rate_limit;
pub mod redis;
mod scraper;
pub mod snmp;
mod spans;
pub mod splunk_hec;
pub mod sqlquery;
mod stanza;
mod state_store;
pub mod statsd;
pub mod syslog;
pub mod tcpcheck;
pub mod tcplog;
pub mod tlscheck;
pub mod udplog;
pub mod webhookevent;
pub mod zipkin;
pub mod zookeeper;

pub use rate_limit::{RateLimitConfig, TenantRateLimitConfig};

use crate::pipeline::{Consumer, Refusal};
use crate::shed::LoadShedding;
pub use crate::telemetry::ReceiverCounters;
use crate::telemetry::{DropCounter, Telemetry};
use crate::{Batch, Error, Signal};
use rate_limit::RateLimiter;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{OwnedRwLockWriteGuard, RwLock};
use tokio::task::JoinHandle;

/// The pipelines of each signal, indexed by [`Signal::index`].
pub type Pipelines = [Vec<Arc<dyn Consumer>>; 3];

/// Hands decoded requests to the pipelines of their signal, counting what was accepted and refused.
///
/// The pipelines can be replaced while the receiver keeps serving (a reload that leaves the receiver as it was):
/// the reload waits for the requests being handed over and holds back new ones until the new pipelines run, so
/// no client sees it.
pub struct Ingest {
    /// Shared with the rate-limited copy a receiver may make, so replacing the pipelines reaches both.
    pipelines: Arc<RwLock<Pipelines>>,
    /// Which signals have a pipeline; fixed for the receiver's life, since its routes are built from it.
    serves: [bool; 3],
    /// What to drop at admission while overloaded, and where the drops are counted.
    shedding: Option<(LoadShedding, DropCounter)>,
    /// The receiver's rate limits, checked before anything else.
    rate_limit: Option<Arc<RateLimiter>>,
}

/// An [`Ingest`] holding back requests until it is given its next pipelines.
pub(crate) struct PausedIngest {
    pipelines: OwnedRwLockWriteGuard<Pipelines>,
}

impl PausedIngest {
    /// Hands the requests held back, and every later one, to `pipelines`.
    pub(crate) fn resume(mut self, pipelines: Pipelines) {
        *self.pipelines = pipelines;
    }
}

impl Ingest {
    /// The pipelines of each signal, indexed by [`Signal::index`].
    pub fn new(pipelines: Pipelines) -> Self {
        Ingest {
            serves: Signal::ALL.map(|signal| !pipelines[signal.index()].is_empty()),
            pipelines: Arc::new(RwLock::new(pipelines)),
            shedding: None,
            rate_limit: None,
        }
    }

    /// Waits until no request is being handed to the pipelines, then holds back new ones until the returned
    /// handle is resumed.
    pub(crate) async fn pause(&self) -> PausedIngest {
        PausedIngest {
            pipelines: Arc::clone(&self.pipelines).write_owned().await,
        }
    }

    /// The same pipelines and shedding behind receiver `receiver`'s rate limits.
    pub(crate) fn rate_limited(
        &self,
        receiver: &str,
        config: &RateLimitConfig,
    ) -> Result<Self, String> {
        Ok(Ingest {
            pipelines: Arc::clone(&self.pipelines),
            serves: self.serves,
            shedding: self.shedding.clone(),
            rate_limit: Some(Arc::new(RateLimiter::new(receiver, config)?)),
        })
    }

    /// The same, shedding load as `shedding` says before any pipeline sees a batch; what it drops is counted as
    /// `otelcol_processor_dropped_spans{processor="load_shedding", reason="degraded"}`.
    pub fn with_shedding(mut self, shedding: LoadShedding, telemetry: &Telemetry) -> Self {
        let dropped = DropCounter::new(
            telemetry,
            "otelcol_processor_dropped",
            "processor",
            "load_shedding",
        );
        self.shedding = Some((shedding, dropped));
        self
    }

    /// For each signal (by [`Signal::index`]), whether some pipeline takes it.
    pub(crate) fn served(&self) -> [bool; 3] {
        self.serves
    }

    /// True when some pipeline takes `signal`.
    pub fn serves(&self, signal: Signal) -> bool {
        self.serves[signal.index()]
    }

    /// Offers the batch to every pipeline of its signal. A refusal from any of them is the client's answer (as in
    /// otelcol, pipelines that took their copy keep it).
    pub async fn submit(&self, batch: Batch, counters: &ReceiverCounters) -> Result<(), Refusal> {
        let signal = batch.signal();
        let n = batch.item_count();
        if n == 0 {
            return Ok(());
        }
        if !self.serves(signal) {
            counters.refused(signal, n);
            return Err(Refusal::permanent(format!(
                "this collector has no {signal} pipeline"
            )));
        }
        if let Some(rate_limit) = &self.rate_limit
            && let Err(refusal) = rate_limit.admit(&batch, n)
        {
            counters.refused(signal, n);
            return Err(refusal);
        }
        let mut batch = batch;
        if let Some((shedding, dropped)) = &self.shedding {
            dropped.add(signal, shedding.apply(&mut batch), "degraded");
            if batch.item_count() == 0 {
                // Taken and dropped on purpose: the client is not asked to send it again.
                counters.accepted(signal, n);
                return Ok(());
            }
        }
        // Held while the batch is handed over, so that a reload's pause waits for it.
        let by_signal = self.pipelines.read().await;
        let pipelines = &by_signal[signal.index()];
        if pipelines.is_empty() {
            // A reload that could start no config left the receiver to stop: the client may try again later.
            counters.refused(signal, n);
            return Err(Refusal::shutting_down("receiver"));
        }
        let last = pipelines.len() - 1;
        let mut batch = Some(batch);
        for (i, pipeline) in pipelines.iter().enumerate() {
            let copy = if i == last {
                batch.take()
            } else {
                batch.clone()
            };
            let Some(copy) = copy else { break };
            if let Err(refused) = pipeline.consume(copy).await {
                counters.refused(signal, n);
                return Err(refused.refusal);
            }
        }
        counters.accepted(signal, n);
        Ok(())
    }
}

/// A running receiver: its listeners by transport, and the tasks serving them.
pub struct RunningReceiver {
    listeners: Vec<(&'static str, SocketAddr)>,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<Result<(), Error>>>,
}

impl RunningReceiver {
    /// A receiver whose tasks stop when `shutdown` is set to `true`.
    pub fn new(shutdown: tokio::sync::watch::Sender<bool>) -> Self {
        RunningReceiver {
            listeners: Vec::new(),
            shutdown,
            tasks: Vec::new(),
        }
    }

    /// Records that the receiver listens on `listener` for `transport` (`grpc`, `http`, `flight`).
    pub fn listening(&mut self, transport: &'static str, listener: &TcpListener) {
        if let Ok(addr) = listener.local_addr() {
            self.listeners.push((transport, addr));
        }
    }

    /// Records that the receiver listens at `addr` for `transport` (`udp`), for a socket that is no
    /// [`TcpListener`].
    pub fn listening_at(&mut self, transport: &'static str, addr: SocketAddr) {
        self.listeners.push((transport, addr));
    }

    /// Runs a serving task until shutdown.
    pub fn spawn(&mut self, serve: impl Future<Output = Result<(), Error>> + Send + 'static) {
        self.tasks.push(tokio::spawn(serve));
    }

    /// Where the receiver listens for `transport` (`grpc`, `http`, `flight`).
    pub fn addr(&self, transport: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| *a)
    }

    /// Every listener, by transport.
    pub fn listeners(&self) -> &[(&'static str, SocketAddr)] {
        &self.listeners
    }

    /// Stops accepting connections and waits until `deadline` for requests in progress to be answered; past it, the
    /// serving tasks are cut short. Either way every listening socket is closed when this returns, so a config
    /// started next (a reload, or the previous config restored after a failed one) can bind the same ports.
    pub async fn shutdown(self, deadline: tokio::time::Instant) -> Vec<Error> {
        let _ = self.shutdown.send(true);
        let mut errors = Vec::new();
        for mut task in self.tasks {
            let finished = match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(finished) => finished,
                Err(_) => {
                    // An aborted task's future, and with it the listener, is dropped before its handle resolves.
                    task.abort();
                    let finished = task.await;
                    tracing::warn!(
                        "receiver did not finish its requests before the deadline; its connections were closed"
                    );
                    finished
                }
            };
            match finished {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e),
                Err(e) if e.is_cancelled() => {}
                Err(e) => errors.push(Error::Serve {
                    component: "receiver".into(),
                    message: e.to_string(),
                }),
            }
        }
        errors
    }
}

/// The largest HTTP/2 frame the gRPC receivers let a client send (`SETTINGS_MAX_FRAME_SIZE`), in place of the
/// protocol's 16 KiB.
///
/// A client cuts a request into frames of at most this size and writes each with a syscall of its own; the
/// receiver wakes and reads about once per frame. At 16 KiB a request of 100 spans was three frames, and the
/// `otlp` exporter's batches of 8192 spans, two hundred. Measured in the tail-sampling config under `loadgen --max`
/// (`perf stat` on the collector over 5 s, about 1.1 million spans, the sink another collector): `recvfrom` calls
/// 68 600 at 16 KiB, 34 000 at 256 KiB, 33 700 at 1 MiB; `writev` 40 700, 14 100, 12 700. Larger frames save
/// little more, and one frame holds up the connection's other streams until it is through.
///
/// Only clients that read the setting gain: Rust's `h2` (tonic, opentelemetry-otlp) does, grpc-go and grpc-java
/// send 16 KiB frames whatever a server allows. The receiver reserves room for a frame once its header is in, so a
/// connection may hold a 256 KiB buffer where it held 16 KiB, resident only as the frame's bytes arrive. That is not
/// the larger reservation: tonic reserves a request's whole stated length (up to `max_recv_msg_size_mib`) on its
/// first five bytes.
pub(crate) const HTTP2_MAX_FRAME: u32 = 256 * 1024;

/// Binds the first address `endpoint` resolves to that accepts.
pub async fn bind(component: &str, endpoint: &str) -> Result<TcpListener, Error> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(endpoint)
        .await
        .map_err(|source| Error::Bind {
            component: component.to_string(),
            endpoint: endpoint.to_string(),
            source,
        })?
        .collect();
    let mut last_error = None;
    for addr in addrs {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(Error::bind(component, endpoint, addr, e)),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::NoAddress {
        component: component.to_string(),
        endpoint: endpoint.to_string(),
    }))
}

/// Binds a UDP socket to the first address `endpoint` resolves to that accepts.
pub(crate) async fn bind_udp(
    component: &str,
    endpoint: &str,
) -> Result<tokio::net::UdpSocket, Error> {
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(endpoint)
        .await
        .map_err(|source| Error::Bind {
            component: component.to_owned(),
            endpoint: endpoint.to_owned(),
            source,
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        match tokio::net::UdpSocket::bind(addr).await {
            Ok(socket) => return Ok(socket),
            Err(e) => last = Some(Error::bind(component, endpoint, addr, e)),
        }
    }
    Err(last.unwrap_or_else(|| Error::NoAddress {
        component: component.to_owned(),
        endpoint: endpoint.to_owned(),
    }))
}

/// Resolves once `watch` says shut down (or its sender is gone).
pub async fn shutdown_signal(mut watch: tokio::sync::watch::Receiver<bool>) {
    while !*watch.borrow() {
        if watch.changed().await.is_err() {
            return;
        }
    }
}
