//! Exporters, and the exporter helper around each (otelcol's `exporterhelper`): a bounded sending queue drained
//! by a pool of consumers, a retry policy with exponential backoff, and a timeout per attempt, each a part of its
//! own under [`helper`](self) that every exporter gets without writing it.
//!
//! An exporter implements [`Export`]: it [`prepare`](Export::prepare)s a batch once (encodes and compresses it)
//! and [`send`](Export::send)s the prepared payload, as many times as the retry policy asks, without encoding
//! again. Each exporter type is a folder with its config and a `Factory`.

pub mod arrow_flight;
pub mod carbon;
pub mod debug;
pub mod file;
pub(crate) mod helper;
pub mod influxdb;
pub mod loadbalancing;
pub mod nop;
pub mod otlp;
pub mod otlphttp;
pub mod prometheus;
pub mod prometheusremotewrite;
pub mod splunk_hec;
pub mod syslog;
pub mod zipkin;

pub use helper::{
    CircuitBreakerConfig, HelperSettings, QueueBatchConfig, QueueConfig, RetryConfig, Sizer,
};

pub(crate) use helper::{ExporterFanout, ExporterHandle, flush_all, shutdown_all};

use crate::Batch;
use crate::pipeline::BoxFuture;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What came of one export attempt that did not fail as a whole.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Items the backend refused while accepting the rest (OTLP partial success).
    pub rejected: usize,
    /// The backend's explanation for `rejected`.
    pub message: String,
}

/// What the attempts at one batch so far have settled, for an exporter that delivers a batch in parts (to several
/// destinations) and retries only the parts that failed: the helper counts these items once, as sent or rejected,
/// and only the rest as failed if it gives up on the batch or a shutdown cuts it short.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Items delivered.
    pub sent: usize,
    /// Items a destination refused for good (partial success, or a permanent error for their part).
    pub rejected: usize,
}

/// Why an export attempt failed.
#[derive(Debug, Clone)]
pub enum ExportError {
    /// Worth trying again, after `retry_after` if the backend said so.
    Retryable {
        /// What went wrong.
        message: String,
        /// The backend's throttling hint, which replaces the backoff schedule.
        retry_after: Option<Duration>,
    },
    /// Trying again cannot help (bad data, bad credentials, a 4xx).
    Permanent {
        /// What went wrong.
        message: String,
    },
    /// The destination takes no request this large (gRPC `RESOURCE_EXHAUSTED` for a message over its limit,
    /// HTTP 413): the same request would be refused again, but its halves may be taken. Given up on like a
    /// permanent failure once a batch cannot be halved.
    TooLarge {
        /// What went wrong.
        message: String,
    },
}

impl ExportError {
    /// A failure worth retrying on the backoff schedule.
    pub fn retryable(message: impl Into<String>) -> Self {
        ExportError::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        ExportError::Permanent {
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        match self {
            ExportError::Retryable { message, .. }
            | ExportError::Permanent { message }
            | ExportError::TooLarge { message } => message,
        }
    }
}

/// A destination for batches of any signal. One instance serves every pipeline that names the exporter.
pub trait Export: Send + Sync + 'static {
    /// What one attempt sends (an encoded, compressed request body, or the batch itself): built once per batch
    /// by [`prepare`](Self::prepare) and reused by every retry.
    type Payload: Send + Sync + 'static;

    /// Turns a batch into what is sent. The batch is shared (`Arc`) because one batch goes to every exporter of
    /// a pipeline. An error here is not retried.
    fn prepare(&self, batch: &Arc<Batch>) -> Result<Self::Payload, ExportError>;

    /// One attempt to deliver a prepared payload. The helper bounds it with the exporter's timeout.
    fn send(
        &self,
        payload: &Self::Payload,
    ) -> impl Future<Output = Result<Delivered, ExportError>> + Send;

    /// Makes everything exported so far durable (files: complete and sync). Called on flush and at shutdown.
    fn flush(&self) -> impl Future<Output = Result<(), ExportError>> + Send {
        async { Ok(()) }
    }

    /// Starts what the exporter serves by itself (the `prometheus` exporter's scrape endpoint), once the whole
    /// collector is built. Called once for each signal the exporter serves: only the first call may start anything.
    fn start(&self) {}

    /// Stops what [`start`](Self::start) started, after the last flush of a shutdown. Called once for each signal
    /// the exporter serves, like `start`.
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Where the exporter serves, when it does (the `prometheus` exporter).
    fn local_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// What earlier attempts at `payload` settled although the batch as a whole is not done: only an exporter that
    /// sends a batch in parts and retries the failed parts alone has anything to report (the default is nothing).
    /// When an attempt succeeds, its [`Delivered`] covers the whole batch, parts settled earlier included.
    fn settled(&self, payload: &Self::Payload) -> Settled {
        let _ = payload;
        Settled::default()
    }
}

/// A built exporter: its [`Export`] and the helper settings (queue, retry, timeout) it runs with.
pub struct Exporter {
    pub(crate) export: Arc<dyn DynExport>,
    pub(crate) settings: HelperSettings,
}

impl Exporter {
    /// An exporter run by the helper with `settings`.
    pub fn new<E: Export>(export: E, settings: HelperSettings) -> Self {
        Exporter {
            export: Arc::new(Erased(Arc::new(export))),
            settings,
        }
    }
}

/// [`Export`] behind a trait object: the payload type disappears into the prepared [`Attempt`].
pub(crate) trait DynExport: Send + Sync {
    fn prepare(&self, batch: &Arc<Batch>) -> Result<Arc<dyn Attempt>, ExportError>;
    fn flush(&self) -> BoxFuture<'_, Result<(), ExportError>>;
    fn start(&self);
    fn shutdown(&self) -> BoxFuture<'_, ()>;
    fn local_addr(&self) -> Option<SocketAddr>;
}

/// A prepared batch, ready to be sent as many times as needed.
pub(crate) trait Attempt: Send + Sync {
    fn send(&self) -> BoxFuture<'_, Result<Delivered, ExportError>>;

    /// What the attempts so far settled ([`Export::settled`]).
    fn settled(&self) -> Settled {
        Settled::default()
    }
}

struct Erased<E>(Arc<E>);

struct Prepared<E: Export> {
    export: Arc<E>,
    payload: E::Payload,
}

impl<E: Export> DynExport for Erased<E> {
    fn prepare(&self, batch: &Arc<Batch>) -> Result<Arc<dyn Attempt>, ExportError> {
        Ok(Arc::new(Prepared {
            payload: self.0.prepare(batch)?,
            export: self.0.clone(),
        }))
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), ExportError>> {
        Box::pin(self.0.flush())
    }

    fn start(&self) {
        self.0.start();
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.0.shutdown())
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.0.local_addr()
    }
}

impl<E: Export> Attempt for Prepared<E> {
    fn send(&self) -> BoxFuture<'_, Result<Delivered, ExportError>> {
        Box::pin(self.export.send(&self.payload))
    }

    fn settled(&self) -> Settled {
        self.export.settled(&self.payload)
    }
}
