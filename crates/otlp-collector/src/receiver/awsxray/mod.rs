//! The `awsxray` receiver (otelcol-contrib's, traces only): the X-Ray daemon's UDP port, so that applications
//! instrumented with the AWS X-Ray SDKs (Java, Python, Node.js, Go, .NET, Ruby) send their segments to the
//! collector, unchanged but for the daemon's address (`AWS_XRAY_DAEMON_ADDRESS`).
//!
//! ```yaml
//! receivers:
//!   awsxray:
//!     endpoint: 0.0.0.0:2000
//!     transport: udp
//! ```
//!
//! Each datagram is a header line and one segment document with its subsegments (`segment.rs`), translated as
//! otelcol does (`translate.rs`). A datagram that is not one, or whose ids cannot be read, is dropped and counted
//! as refused (a span per segment in it, as otelcol counts), with a warning saying why; nothing else of the
//! receiver is affected. While the pipeline is full the receiver waits, and the socket's buffer holds what comes
//! meanwhile, as the daemon does.

mod config;
mod segment;
mod translate;

pub use config::AwsXrayReceiverConfig;
pub use segment::BadSegment;

use super::stanza::Emitter;
use super::{RunningReceiver, bind_udp, shutdown_signal};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error, Signal};
use otlp_model::OtlpRequest as _;

/// The largest datagram the SDKs send (the daemon's limit is 64 KiB).
const MAX_DATAGRAM: usize = 65_535;

/// The `awsxray` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = AwsXrayReceiverConfig;
    const TYPE: &'static str = "awsxray";

    fn validate(&self, config: &AwsXrayReceiverConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    async fn start(
        &self,
        config: &AwsXrayReceiverConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let ReceiverContext {
            id,
            ingest,
            telemetry,
            ..
        } = context;
        let component = format!("receivers.{id}");
        let socket = bind_udp(&component, &config.endpoint).await?;
        let local = socket.local_addr().map_err(|e| Error::Start {
            component: component.clone(),
            message: e.to_string(),
        })?;
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        running.listening_at("udp", local);
        let counters = ReceiverCounters::new(&telemetry, &id, "udp");
        let emitter = Emitter::new(id.clone(), ingest, counters.clone(), watch.clone());
        running.spawn(async move {
            serve(&id, socket, emitter, counters, watch).await;
            Ok(())
        });
        Ok(running)
    }
}

/// Reads segments until the receiver stops.
async fn serve(
    id: &str,
    socket: tokio::net::UdpSocket,
    emitter: Emitter,
    counters: ReceiverCounters,
    stopping: tokio::sync::watch::Receiver<bool>,
) {
    let stopped = shutdown_signal(stopping);
    tokio::pin!(stopped);
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let length = tokio::select! {
            _ = &mut stopped => return,
            received = socket.recv_from(&mut buffer) => match received {
                Ok((length, _)) => length,
                Err(error) => {
                    tracing::debug!(receiver = %id, %error, "receiving a datagram failed");
                    continue;
                }
            },
        };
        match batch(&buffer[..length], &counters) {
            Ok(Some(batch)) => {
                if !emitter.submit_waiting(batch).await {
                    return;
                }
            }
            Ok(None) => {}
            Err((error, spans)) => {
                counters.refused(Signal::Traces, spans);
                tracing::warn!(receiver = %id, %error, "dropped a datagram that is not an X-Ray segment");
            }
        }
    }
}

/// The datagram's segment as a batch (its spans with all-zero ids removed and counted), or why it is not one and
/// how many spans it held.
fn batch(
    datagram: &[u8],
    counters: &ReceiverCounters,
) -> Result<Option<Batch>, (BadSegment, usize)> {
    let segment = segment::from_datagram(datagram).map_err(|e| (e, 1))?;
    let spans = segment.count();
    let mut request = translate::to_otlp(segment).map_err(|e| (e, spans))?;
    if let Some(rejected) = request.remove_invalid() {
        counters.refused(
            Signal::Traces,
            usize::try_from(rejected.items).unwrap_or(usize::MAX),
        );
    }
    Ok((!request.resource_spans.is_empty()).then(|| Batch::new(request)))
}
