//! The `syslog` receiver (otelcol-contrib's): syslog messages over TCP (plain or TLS, newline, NUL or
//! octet-counted framing) and UDP, in RFC 5424 or RFC 3164, read as otelcol's syslog parser reads them, then
//! through the `operators` list.
//!
//! ```yaml
//! receivers:
//!   syslog:
//!     protocol: rfc5424
//!     tcp: { listen_address: "0.0.0.0:54526" }
//!     udp: { listen_address: "0.0.0.0:54526" }
//! ```
//!
//! Each record's body is the message as received; its attributes are the header's fields, its time and severity
//! the message's (`parse.rs`). `framing.rs` cuts TCP streams into messages. A message that does not parse is
//! logged and sent on with its body alone, as otelcol's parser does by default. While the pipelines are full a
//! connection is not read (its sender is held back by TCP); a datagram waits in the socket's buffer.

mod config;
mod framing;
mod parse;

pub use config::{Protocol, SyslogConfig, TcpSettings, Trailer, UdpSettings};

use super::stanza::Emitter;
use super::stanza::entry::Entry;
use super::stanza::operator::Operators;
use super::{RunningReceiver, bind, shutdown_signal};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Error, Signal};
use framing::{Frames, Framing};
use parse::Parser;
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

/// The `syslog` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = SyslogConfig;
    const TYPE: &'static str = "syslog";

    fn validate(&self, config: &SyslogConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

/// What every connection and datagram shares: how to read a message, and where it goes.
struct Reader {
    id: String,
    parser: Parser,
    operators: Operators,
    emitter: Emitter,
}

impl Reader {
    /// The records of `messages` received from `peer` on `local` over `transport`, handed to the pipelines.
    async fn receive(
        &self,
        messages: Vec<String>,
        net: Option<(&'static str, SocketAddr, SocketAddr)>,
    ) {
        let mut entries = Vec::with_capacity(messages.len());
        for message in messages {
            let mut entry = Entry::new(message);
            if let Some((transport, peer, local)) = net {
                let mut attributes = Map::new();
                attributes.insert("net.transport".into(), Value::from(transport));
                attributes.insert("net.peer.ip".into(), Value::from(peer.ip().to_string()));
                attributes.insert("net.peer.port".into(), Value::from(peer.port()));
                attributes.insert("net.host.ip".into(), Value::from(local.ip().to_string()));
                attributes.insert("net.host.port".into(), Value::from(local.port()));
                entry.attributes = Value::Object(attributes);
            }
            if let Err(error) = self.parser.apply(&mut entry) {
                tracing::warn!(receiver = %self.id, %error, "not a syslog message; sent on as received");
            }
            entries.extend(self.operators.apply(entry, &self.id));
        }
        entries.extend(self.operators.flush(std::time::Instant::now(), &self.id));
        self.emitter.emit(entries).await;
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    async fn start(
        &self,
        config: &SyslogConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let component = format!("receivers.{}", context.id);
        let fail = |message: String| Error::Start {
            component: component.clone(),
            message,
        };
        let zone = parse::zone(config.location.as_deref().unwrap_or("UTC")).map_err(fail)?;
        let (shutdown, stopping) = watch::channel(false);
        let reader = Arc::new(Reader {
            id: context.id.clone(),
            parser: Parser::new(config.protocol, zone, config.allow_skip_pri_header),
            operators: Operators::build(&config.operators).map_err(|e| fail(format!("{e:?}")))?,
            emitter: Emitter::new(
                context.id.clone(),
                context.ingest,
                ReceiverCounters::new(&context.telemetry, &context.id, "syslog"),
                stopping.clone(),
            ),
        });
        let mut running = RunningReceiver::new(shutdown);
        if let Some(tcp) = &config.tcp {
            let listener = bind(&component, &tcp.listen_address).await?;
            running.listening("tcp", &listener);
            let acceptor = tcp
                .tls
                .as_ref()
                .map(|tls| tls.acceptor(&[]))
                .transpose()
                .map_err(|e| fail(format!("tcp.tls: {e}")))?;
            let framing = match (
                config.enable_octet_counting,
                config.non_transparent_framing_trailer,
            ) {
                (true, _) => Framing::OctetCounting(config.max_octets),
                (false, Some(Trailer::Nul)) => Framing::Trailer(0),
                (false, _) => Framing::Trailer(b'\n'),
            };
            let max = usize::try_from(tcp.max_log_size.0).unwrap_or(usize::MAX);
            let add_attributes = tcp.add_attributes;
            let reader = Arc::clone(&reader);
            let stopping = stopping.clone();
            running.spawn(async move {
                let stopped = shutdown_signal(stopping.clone());
                tokio::pin!(stopped);
                loop {
                    let (stream, peer) = tokio::select! {
                        _ = &mut stopped => return Ok(()),
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(error) => {
                                tracing::warn!(receiver = %reader.id, %error, "accept failed");
                                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                                continue;
                            }
                        },
                    };
                    let local = stream.local_addr().unwrap_or(peer);
                    let net = add_attributes.then_some(("IP.TCP", peer, local));
                    let (reader, stopping, acceptor) = (Arc::clone(&reader), stopping.clone(), acceptor.clone());
                    tokio::spawn(async move {
                        let frames = Frames::new(framing, max);
                        match acceptor {
                            None => read_stream(stream, frames, &reader, net, stopping).await,
                            Some(acceptor) => match acceptor.accept(stream).await {
                                Ok(tls) => read_stream(tls, frames, &reader, net, stopping).await,
                                Err(error) => {
                                    tracing::debug!(receiver = %reader.id, %error, %peer, "TLS handshake failed")
                                }
                            },
                        }
                    });
                }
            });
        }
        if let Some(udp) = &config.udp {
            let socket = tokio::net::UdpSocket::bind(&udp.listen_address)
                .await
                .map_err(|e| fail(format!("udp.listen_address {}: {e}", udp.listen_address)))?;
            let local = socket.local_addr().map_err(|e| fail(e.to_string()))?;
            running.listening_at("udp", local);
            let (per_packet, add_attributes) = (udp.one_log_per_packet, udp.add_attributes);
            let reader = Arc::clone(&reader);
            running.spawn(async move {
                let stopped = shutdown_signal(stopping);
                tokio::pin!(stopped);
                // The largest datagram UDP carries.
                let mut buffer = vec![0; 65_536];
                loop {
                    let (length, peer) = tokio::select! {
                        _ = &mut stopped => return Ok(()),
                        received = socket.recv_from(&mut buffer) => match received {
                            Ok(received) => received,
                            Err(error) => {
                                tracing::debug!(receiver = %reader.id, %error, "receiving a datagram failed");
                                continue;
                            }
                        },
                    };
                    let text = String::from_utf8_lossy(&buffer[..length]);
                    let messages: Vec<String> = if per_packet {
                        vec![text.trim_end_matches(['\n', '\r', '\0']).to_owned()]
                    } else {
                        text.split('\n')
                            .map(|line| line.trim_end_matches(['\r', '\0']))
                            .filter(|line| !line.is_empty())
                            .map(str::to_owned)
                            .collect()
                    };
                    let net = add_attributes.then_some(("IP.UDP", peer, local));
                    reader.receive(messages, net).await;
                }
            });
        }
        Ok(running)
    }
}

/// Reads one connection until it closes or the receiver stops, handing over the messages of each read together.
async fn read_stream(
    mut stream: impl AsyncRead + Unpin,
    mut frames: Frames,
    reader: &Reader,
    net: Option<(&'static str, SocketAddr, SocketAddr)>,
    stopping: watch::Receiver<bool>,
) {
    let stopped = shutdown_signal(stopping);
    tokio::pin!(stopped);
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = tokio::select! {
            _ = &mut stopped => return,
            read = stream.read(&mut buffer) => read,
        };
        let mut messages = Vec::new();
        match read {
            Ok(0) | Err(_) => {
                frames.finish(&mut messages);
                reader.receive(messages, net).await;
                return;
            }
            Ok(n) => {
                if let Err(error) = frames.push(&buffer[..n], &mut messages) {
                    tracing::warn!(receiver = %reader.id, %error, "closing the connection");
                    reader.receive(messages, net).await;
                    return;
                }
            }
        }
        if !messages.is_empty() {
            reader.receive(messages, net).await;
        }
    }
}
