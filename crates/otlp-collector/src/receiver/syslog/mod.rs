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
use super::stanza::listen::{Framer, Net, Receive, net_attributes, serve_tcp, serve_udp};
use super::stanza::operator::Operators;
use super::{RunningReceiver, bind};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Error, Signal};
use framing::{Frames, Framing};
use parse::Parser;
use serde_json::Value;
use std::sync::Arc;
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

impl Receive for Reader {
    fn id(&self) -> &str {
        &self.id
    }

    async fn receive(&self, messages: Vec<String>, net: Net) {
        let mut entries = Vec::with_capacity(messages.len());
        for message in messages {
            let mut entry = Entry::new(message);
            entry.attributes = Value::Object(net_attributes(net));
            if let Err(error) = self.parser.apply(&mut entry) {
                tracing::warn!(receiver = %self.id, %error, "not a syslog message; sent on as received");
            }
            entries.extend(self.operators.apply(entry, &self.id));
        }
        entries.extend(self.operators.flush(std::time::Instant::now(), &self.id));
        self.emitter.emit(entries).await;
    }
}

impl Framer for Frames {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        Frames::push(self, bytes, out)
    }

    fn finish(self, out: &mut Vec<String>) {
        Frames::finish(self, out);
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
        let fail = |message: String| context.start_error(message);
        let zone = crate::clock::zone(config.location.as_deref().unwrap_or("UTC")).map_err(fail)?;
        let (shutdown, stopping) = watch::channel(false);
        let reader = Arc::new(Reader {
            id: context.id.clone(),
            parser: Parser::new(config.protocol, zone, config.allow_skip_pri_header),
            operators: Operators::build(&config.operators).map_err(|e| fail(format!("{e:?}")))?,
            emitter: Emitter::new(
                context.id.clone(),
                context.ingest.clone(),
                ReceiverCounters::new(&context.telemetry, &context.id, "syslog"),
                stopping.clone(),
            ),
        });
        let mut running = RunningReceiver::new(shutdown);
        if let Some(tcp) = &config.tcp {
            let listener = bind(&component, &tcp.listen_address).await?;
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
            serve_tcp(
                &mut running,
                listener,
                acceptor,
                move || Frames::new(framing, max),
                tcp.add_attributes,
                Arc::clone(&reader),
                stopping.clone(),
            );
        }
        if let Some(udp) = &config.udp {
            let socket = tokio::net::UdpSocket::bind(&udp.listen_address)
                .await
                .map_err(|e| fail(format!("udp.listen_address {}: {e}", udp.listen_address)))?;
            let per_packet = udp.one_log_per_packet;
            let messages = move |text: &str| -> Vec<String> {
                if per_packet {
                    vec![text.trim_end_matches(['\n', '\r', '\0']).to_owned()]
                } else {
                    text.split('\n')
                        .map(|line| line.trim_end_matches(['\r', '\0']))
                        .filter(|line| !line.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
            };
            serve_udp(
                &mut running,
                socket,
                messages,
                udp.add_attributes,
                reader,
                stopping,
            )
            .map_err(|e| fail(format!("udp: {e}")))?;
        }
        Ok(running)
    }
}
