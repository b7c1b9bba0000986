//! The connectors that make metrics or logs of the spans traces pipelines export to them (`spanmetrics`,
//! `servicegraph`, `exceptions`): how a batch's requests are read (in place as received, decoded when a processor
//! before the connector changed them), and how what they made reaches the pipelines they feed: on an interval, or
//! after every batch, and once more when a feeding pipeline flushes or shuts down.

use super::{Handoff, Targets};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused, deliver};
use crate::telemetry::{DropCounter, Telemetry};
use crate::wait::{Deadline, Driver};
use crate::{Batch, OtlpRequest, Signal};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_model::wire::WireError;
use prost::Message;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How many requests of a batch are read before the task lets others run: a batch processor hands over thousands
/// of spans at once, and the receivers' requests on the same worker get their turn between requests, not after
/// the whole batch.
const REQUESTS_BETWEEN_YIELDS: usize = 8;

/// With output sent after every batch, how long a batch waits for full pipelines before its output is counted as
/// dropped: the traces pipeline must not stall behind them.
const SEND_AFTER_BATCH_WAIT: Duration = Duration::from_secs(1);

/// What a connector that makes metrics or logs from spans does with them.
pub(crate) trait FromSpans: Send + Sync + 'static {
    /// What the reading of one batch keeps until the batch is read (its time, what it could not use).
    type Reading: Send;

    /// What it makes: metrics or logs.
    type Output: OtlpRequest;

    /// Starts reading a batch.
    fn begin(&self) -> Self::Reading;

    /// Reads a request as received, in place; an error (never for a request the receiver accepted) has it
    /// decoded and read with [`read_decoded`](FromSpans::read_decoded) instead, before anything of it was used.
    fn read_encoded(&self, bytes: &[u8], reading: &mut Self::Reading) -> Result<(), WireError>;

    /// Reads a decoded request.
    fn read_decoded(&self, request: &ExportTraceServiceRequest, reading: &mut Self::Reading);

    /// Ends a batch's reading (logging what it could not use).
    fn end(&self, reading: Self::Reading);

    /// What to send now, if there is anything.
    fn output(&self) -> Option<Self::Output>;

    /// Work due every [`Schedule::housekeeping`].
    fn housekeep(&self) {}
}

/// When the output goes, and when [`FromSpans::housekeep`] runs.
pub(crate) struct Schedule {
    /// `None`: after every batch.
    pub(crate) send_every: Option<Duration>,
    pub(crate) housekeeping: Option<Duration>,
}

/// `source` as the stage its feeding pipelines end with, handing its output to `targets`.
pub(crate) fn connector<S: FromSpans>(
    source: S,
    id: &str,
    telemetry: &Telemetry,
    targets: Targets,
    schedule: Schedule,
) -> Arc<dyn Consumer> {
    let shared = Arc::new(Shared {
        id: id.to_string(),
        source,
        targets: Handoff(targets),
        dropped: DropCounter::new(telemetry, "otelcol_connector_dropped", "connector", id),
        stopping: Notify::new(),
    });
    Arc::new(Connector {
        send_after_batch: schedule.send_every.is_none(),
        ticker: Driver::spawn(tick(shared.clone(), schedule)),
        shared,
    })
}

struct Shared<S> {
    id: String,
    source: S,
    targets: Handoff,
    dropped: DropCounter,
    /// Told once when shutdown begins: the ticker stops.
    stopping: Notify,
}

impl<S: FromSpans> Shared<S> {
    fn read(&self, bytes: &[u8], reading: &mut S::Reading) {
        if self.source.read_encoded(bytes, reading).is_ok() {
            return;
        }
        // prost decides, and names what is wrong.
        match ExportTraceServiceRequest::decode(bytes) {
            Ok(request) => self.source.read_decoded(&request, reading),
            Err(error) => {
                tracing::warn!(connector = %self.id, %error, "a request that does not decode was not read");
            }
        }
    }

    /// Sends the output to the pipelines, waiting while they are full until `deadline`, then counting it as
    /// dropped.
    async fn send(&self, deadline: Instant) {
        let Some(request) = self.source.output() else {
            return;
        };
        let until = Deadline::new();
        until.set(deadline);
        deliver(
            &self.targets,
            Batch::new(request),
            &until,
            &self.dropped,
            &self.id,
        )
        .await;
    }
}

/// Sends the output and keeps house, each on its interval, until shutdown begins; a send still waiting on full
/// pipelines when the next one is due gives up.
async fn tick<S: FromSpans>(shared: Arc<Shared<S>>, schedule: Schedule) {
    let start = Instant::now();
    let mut send = schedule.send_every.map(|every| start + every);
    let mut housekeep = schedule.housekeeping.map(|every| start + every);
    loop {
        let next = match (send, housekeep) {
            (Some(send), Some(housekeep)) => send.min(housekeep),
            (Some(next), None) | (None, Some(next)) => next,
            (None, None) => return,
        };
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = shared.stopping.notified() => return,
        }
        let now = Instant::now();
        if let (Some(due), Some(every)) = (housekeep, schedule.housekeeping)
            && now >= due
        {
            shared.source.housekeep();
            housekeep = Some(now + every);
        }
        if let (Some(due), Some(every)) = (send, schedule.send_every)
            && now >= due
        {
            let next = now + every;
            send = Some(next);
            shared.send(next).await;
        }
    }
}

struct Connector<S> {
    shared: Arc<Shared<S>>,
    ticker: Driver,
    send_after_batch: bool,
}

impl<S: FromSpans> Consumer for Connector<S> {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let shared = &self.shared;
        if batch.signal() != Signal::Traces {
            let refusal = Refusal::permanent(format!(
                "{}: {} data sent to a traces connector",
                shared.id,
                batch.signal()
            ));
            return Box::pin(async move { Err(Refused::returning(refusal, batch)) });
        }
        Box::pin(async move {
            let mut reading = shared.source.begin();
            match batch.encoded() {
                Some(requests) => {
                    for (i, bytes) in requests.enumerate() {
                        if i > 0 && i % REQUESTS_BETWEEN_YIELDS == 0 {
                            tokio::task::yield_now().await;
                        }
                        shared.read(bytes, &mut reading);
                    }
                }
                None => {
                    if let Some(request) = batch.get::<ExportTraceServiceRequest>() {
                        shared.source.read_decoded(request, &mut reading);
                    }
                }
            }
            shared.source.end(reading);
            if self.send_after_batch {
                shared.send(Instant::now() + SEND_AFTER_BATCH_WAIT).await;
            }
            Ok(())
        })
    }

    fn ready(&self, _items: usize) -> BoxFuture<'_, ()> {
        // Reading spans never refuses.
        Box::pin(async {})
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(self.shared.send(deadline))
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        // Every pipeline feeding the connector shuts it down, each before the pipelines the connector feeds: each sends what
        // was read since, so spans a later feeder drains are not lost.
        Box::pin(async move {
            self.shared.stopping.notify_one();
            self.ticker.stop(deadline).await;
            self.shared.send(deadline).await;
        })
    }
}

/// Unix nanoseconds, `ago` before now: the times of the points and records made.
pub(crate) fn unix_nanos(ago: Duration) -> u64 {
    SystemTime::now()
        .checked_sub(ago)
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}
