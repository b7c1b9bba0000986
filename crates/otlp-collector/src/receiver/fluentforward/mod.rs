//! The `fluentforward` receiver (otelcol-contrib's): logs from Fluentd and Fluent Bit `forward` outputs (and
//! anything speaking the Forward Protocol v1) over TCP.
//!
//! ```yaml
//! receivers:
//!   fluentforward:
//!     endpoint: 0.0.0.0:8006
//! ```
//!
//! Every mode of the protocol is taken: Message, Forward, PackedForward and gzip'd CompressedPackedForward. Each
//! event's records are handed to the pipelines together, waiting while they are full (the sender is held back by
//! its connection); an event with a `chunk` option is acknowledged (`{"ack": chunk}`) once they took it, so a
//! sender with `require_ack_response` sends again what was not. What is not the protocol closes the connection
//! with a warning; the events before it on that connection were taken.

mod event;

use super::msgpack::{self, Incomplete};
use super::stanza::emit::Emitter;
use super::stanza::listen::accept;
use super::{RunningReceiver, shutdown_signal};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde::Deserialize;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The most bytes one event may take on the wire: a connection that sends more without completing one is closed.
const MAX_EVENT: usize = 64 << 20;

/// The `fluentforward` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FluentForwardConfig {
    /// Where to listen for TCP connections (`localhost:8006`).
    pub endpoint: String,
}

impl Default for FluentForwardConfig {
    fn default() -> Self {
        FluentForwardConfig {
            endpoint: "localhost:8006".to_owned(),
        }
    }
}

/// The `fluentforward` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = FluentForwardConfig;
    const TYPE: &'static str = "fluentforward";

    fn validate(&self, config: &FluentForwardConfig) -> Result<(), Invalid> {
        if config.endpoint.starts_with("unix://") {
            return Err(Invalid::at(
                "endpoint",
                "Unix sockets are not supported here; listen on a TCP `host:port`",
            ));
        }
        Ok(())
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    async fn start(
        &self,
        config: &FluentForwardConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let listener = tokio::net::TcpListener::bind(&config.endpoint)
            .await
            .map_err(|e| context.start_error(format!("endpoint {}: {e}", config.endpoint)))?;
        let (shutdown, stopping) = watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        running.listening("tcp", &listener);
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, "tcp");
        let id: Arc<str> = Arc::from(context.id.as_str());
        let emitter = Arc::new(Emitter::new(
            context.id,
            context.ingest,
            counters,
            stopping.clone(),
        ));
        running.spawn(async move {
            let stopped = shutdown_signal(stopping.clone());
            tokio::pin!(stopped);
            loop {
                let (stream, peer) = tokio::select! {
                    _ = &mut stopped => return Ok(()),
                    accepted = accept(&listener, &id) => accepted,
                };
                let (emitter, stopping, id) =
                    (Arc::clone(&emitter), stopping.clone(), Arc::clone(&id));
                tokio::spawn(async move {
                    if let Err(error) = serve(stream, &emitter, stopping).await {
                        tracing::warn!(receiver = %id, %peer, %error, "closing the connection");
                    }
                });
            }
        });
        Ok(running)
    }
}

/// Reads a connection's events until it closes, the receiver stops, or it sends what is not the protocol.
async fn serve(
    mut stream: TcpStream,
    emitter: &Emitter,
    stopping: watch::Receiver<bool>,
) -> Result<(), String> {
    let stopped = shutdown_signal(stopping);
    tokio::pin!(stopped);
    let mut pending: Vec<u8> = Vec::new();
    let mut read = vec![0; 64 * 1024];
    loop {
        let n = tokio::select! {
            _ = &mut stopped => return Ok(()),
            n = stream.read(&mut read) => n.map_err(|e| e.to_string())?,
        };
        if n == 0 {
            return if pending.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "the connection closed inside an event ({} bytes)",
                    pending.len()
                ))
            };
        }
        pending.extend_from_slice(&read[..n]);
        let mut used = 0;
        loop {
            let (value, length) = match msgpack::decode(&pending[used..]) {
                Ok(decoded) => decoded,
                Err(Incomplete::More) => break,
                Err(Incomplete::Invalid(why)) => return Err(format!("not MessagePack: {why}")),
            };
            used += length;
            let event = event::event(value)?;
            if !event.records.is_empty()
                && !emitter
                    .submit_waiting(Batch::new(request(event.records)))
                    .await
            {
                // The receiver stopped before the pipelines took it: no acknowledgement, so it is sent again.
                return Ok(());
            }
            if let Some(chunk) = event.chunk {
                stream
                    .write_all(&ack(&chunk))
                    .await
                    .map_err(|e| format!("acknowledging: {e}"))?;
            }
        }
        pending.drain(..used);
        if pending.len() > MAX_EVENT {
            return Err(format!("an event larger than {MAX_EVENT} bytes"));
        }
    }
}

fn request(log_records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource::default()),
            scope_logs: vec![ScopeLogs {
                log_records,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

/// `{"ack": chunk}` in MessagePack.
fn ack(chunk: &str) -> Vec<u8> {
    let mut out = vec![0x81, 0xa3, b'a', b'c', b'k'];
    let length = chunk.len();
    match length {
        0..=31 => out.push(0xa0 | length as u8),
        32..=255 => out.extend_from_slice(&[0xd9, length as u8]),
        256..=65_535 => {
            out.push(0xda);
            out.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend_from_slice(&(length as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(chunk.as_bytes());
    out
}
