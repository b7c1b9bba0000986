//! The `udplog` receiver (otelcol-contrib's): log lines in UDP datagrams, each datagram cut at its newlines (or
//! `multiline` patterns) unless `one_log_per_packet`, each a record through the `operators` list.
//!
//! ```yaml
//! receivers:
//!   udplog:
//!     listen_address: "0.0.0.0:54525"
//! ```

use super::filelog::{Encoding, Multiline, RetryOnFailure};
use super::stanza::Emitter;
use super::stanza::lines::{Lines, SplitFrames};
use super::stanza::listen::serve_udp;
use super::stanza::operator::{OperatorConfig, Operators};
use super::stanza::split::Splitter;
use super::tcplog::one_mebibyte;
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::de;
use crate::receiver::RunningReceiver;
use crate::telemetry::ReceiverCounters;
use crate::{Error, Signal};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `udplog` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpLogConfig {
    /// `host:port` to listen on.
    pub listen_address: String,
    /// Each datagram is one record, newlines included.
    #[serde(default)]
    pub one_log_per_packet: bool,
    /// Add `net.transport`, `net.peer.ip`, `net.peer.port`, `net.host.ip` and `net.host.port` to each record.
    #[serde(default)]
    pub add_attributes: bool,
    /// The text encoding; only `utf-8`.
    #[serde(default)]
    pub encoding: Encoding,
    /// Where one record ends and the next begins within a datagram.
    #[serde(default)]
    pub multiline: Option<Multiline>,
    /// Keep the whitespace at the start of each record.
    #[serde(default)]
    pub preserve_leading_whitespaces: bool,
    /// Keep the whitespace at the end of each record.
    #[serde(default)]
    pub preserve_trailing_whitespaces: bool,
    /// Attributes added to every record.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Resource attributes added to every record.
    #[serde(default)]
    pub resource: BTreeMap<String, String>,
    /// stanza operators applied to each record in order.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    /// otelcol's consumer retry; accepted: a full pipeline is always waited out (see the `filelog` receiver).
    #[serde(default)]
    pub retry_on_failure: RetryOnFailure,
    #[serde(default, deserialize_with = "refuse_async")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    r#async: de::Refused,
}

fn refuse_async<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>("otelcol's async readers are not needed here: datagrams are read as they come")
}

impl UdpLogConfig {
    fn splitter(&self) -> Result<Splitter, String> {
        Splitter::new(
            self.multiline.as_ref(),
            one_mebibyte(),
            self.preserve_leading_whitespaces,
            self.preserve_trailing_whitespaces,
        )
    }
}

/// The `udplog` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = UdpLogConfig;
    const TYPE: &'static str = "udplog";

    fn validate(&self, config: &UdpLogConfig) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if let Err(e) = config.splitter() {
            problems.push(Invalid::at("multiline", e));
        }
        if let Err(e) = Operators::build(&config.operators) {
            problems.push(e);
        }
        Invalid::all(problems)
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    async fn start(
        &self,
        config: &UdpLogConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let fail = |message: String| context.start_error(message);
        let splitter = config.splitter().map_err(fail)?;
        let operators = Operators::build(&config.operators).map_err(|e| fail(format!("{e:?}")))?;
        let socket = tokio::net::UdpSocket::bind(&config.listen_address)
            .await
            .map_err(|e| fail(format!("listen_address {}: {e}", config.listen_address)))?;
        let (shutdown, stopping) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, "udp");
        let emitter = Emitter::new(
            context.id.clone(),
            context.ingest.clone(),
            counters,
            stopping.clone(),
        );
        let lines = Lines::new(
            context.id.clone(),
            operators,
            emitter,
            &config.attributes,
            &config.resource,
        );
        let per_packet = config.one_log_per_packet;
        let messages = move |text: &str| -> Vec<String> {
            if per_packet {
                vec![text.trim_end_matches(['\n', '\r', '\0']).to_owned()]
            } else {
                SplitFrames::whole(&splitter, text.as_bytes())
            }
        };
        serve_udp(
            &mut running,
            socket,
            messages,
            config.add_attributes,
            Arc::new(lines),
            stopping,
        )
        .map_err(|e| fail(e.to_string()))?;
        Ok(running)
    }
}
