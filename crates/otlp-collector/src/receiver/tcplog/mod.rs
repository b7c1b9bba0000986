//! The `tcplog` receiver (otelcol-contrib's): log lines over TCP (plain or TLS), cut at newlines or `multiline`
//! patterns as the `filelog` receiver cuts files, each a record through the `operators` list.
//!
//! ```yaml
//! receivers:
//!   tcplog:
//!     listen_address: "0.0.0.0:54525"
//!     operators: [{ type: json_parser }]
//! ```

use super::filelog::{ByteSize, Encoding, Multiline, RetryOnFailure};
use super::stanza::Emitter;
use super::stanza::lines::{Lines, SplitFrames};
use super::stanza::listen::serve_tcp;
use super::stanza::operator::{OperatorConfig, Operators};
use super::stanza::split::Splitter;
use super::{RunningReceiver, bind};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::tls::ServerTlsSettings;
use crate::{Error, Signal};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `tcplog` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpLogConfig {
    /// `host:port` to listen on.
    pub listen_address: String,
    /// The longest record; a longer one is cut.
    #[serde(default = "one_mebibyte")]
    pub max_log_size: ByteSize,
    /// Serve TLS.
    #[serde(default)]
    pub tls: Option<ServerTlsSettings>,
    /// Add `net.transport`, `net.peer.ip`, `net.peer.port`, `net.host.ip` and `net.host.port` to each record.
    #[serde(default)]
    pub add_attributes: bool,
    /// The text encoding; only `utf-8`.
    #[serde(default)]
    pub encoding: Encoding,
    /// Where one record ends and the next begins, for records spanning lines.
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
}

pub(super) fn one_mebibyte() -> ByteSize {
    ByteSize(1024 * 1024)
}

impl TcpLogConfig {
    fn splitter(&self) -> Result<Splitter, String> {
        Splitter::new(
            self.multiline.as_ref(),
            self.max_log_size,
            self.preserve_leading_whitespaces,
            self.preserve_trailing_whitespaces,
        )
    }
}

/// The `tcplog` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = TcpLogConfig;
    const TYPE: &'static str = "tcplog";

    fn validate(&self, config: &TcpLogConfig) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if let Err(e) = config.splitter() {
            problems.push(Invalid::at("multiline", e));
        }
        if let Some((key, message)) = config.tls.as_ref().and_then(ServerTlsSettings::problems) {
            problems.push(Invalid::at(format!("tls.{key}"), message));
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
        config: &TcpLogConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let component = format!("receivers.{}", context.id);
        let fail = |message: String| context.start_error(message);
        let splitter = config.splitter().map_err(fail)?;
        let operators = Operators::build(&config.operators).map_err(|e| fail(format!("{e:?}")))?;
        let acceptor = config
            .tls
            .as_ref()
            .map(|tls| tls.acceptor(&[]))
            .transpose()
            .map_err(|e| fail(format!("tls: {e}")))?;
        let listener = bind(&component, &config.listen_address).await?;
        let (shutdown, stopping) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, "tcp");
        let emitter = Emitter::new(
            context.id.clone(),
            context.ingest,
            counters,
            stopping.clone(),
        );
        let lines = Lines::new(
            context.id,
            operators,
            emitter,
            &config.attributes,
            &config.resource,
        );
        serve_tcp(
            &mut running,
            listener,
            acceptor,
            move || SplitFrames::new(splitter.clone()),
            config.add_attributes,
            Arc::new(lines),
            stopping,
        );
        Ok(running)
    }
}
