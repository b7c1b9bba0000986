//! The `syslog` receiver's settings, with otelcol-contrib's keys.

use crate::component::Invalid;
use crate::de;
use crate::receiver::filelog::{ByteSize, Encoding, RetryOnFailure};
use crate::receiver::stanza::operator::{OperatorConfig, Operators};
use crate::tls::ServerTlsSettings;
use serde::{Deserialize, Deserializer};

/// The `syslog` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// `rfc5424` or `rfc3164` (BSD syslog).
    pub protocol: Protocol,
    /// The time zone of RFC 3164 timestamps, which carry none (an IANA name; default UTC).
    #[serde(default)]
    pub location: Option<String>,
    /// Over TCP, messages framed by their length (RFC 6587 octet counting), as rsyslog and `logger --octet-count`
    /// send them; RFC 5424 only.
    #[serde(default)]
    pub enable_octet_counting: bool,
    /// What ends a message over TCP when not octet counting: `LF` (the default) or `NUL`.
    #[serde(default)]
    pub non_transparent_framing_trailer: Option<Trailer>,
    /// Accept messages without their `<PRI>` header (priority, facility and severity are then left out).
    #[serde(default)]
    pub allow_skip_pri_header: bool,
    /// The longest octet-counted message.
    #[serde(default = "max_octets")]
    pub max_octets: usize,
    /// Listen on TCP.
    #[serde(default)]
    pub tcp: Option<TcpSettings>,
    /// Listen on UDP.
    #[serde(default)]
    pub udp: Option<UdpSettings>,
    /// stanza operators applied to each parsed record in order.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    /// otelcol's consumer retry; accepted: a full pipeline is always waited out (see the `filelog` receiver).
    #[serde(default)]
    pub retry_on_failure: RetryOnFailure,
}

fn max_octets() -> usize {
    8192
}

/// `protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// The syslog protocol of RFC 5424.
    Rfc5424,
    /// BSD syslog, RFC 3164.
    Rfc3164,
}

/// `non_transparent_framing_trailer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Trailer {
    /// A newline.
    #[serde(rename = "LF")]
    Lf,
    /// A NUL byte.
    #[serde(rename = "NUL")]
    Nul,
}

/// `tcp`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSettings {
    /// `host:port` to listen on.
    pub listen_address: String,
    /// The longest message; a longer one is cut.
    #[serde(default = "one_mebibyte")]
    pub max_log_size: ByteSize,
    /// Add `net.transport`, `net.peer.ip`, `net.peer.port`, `net.host.ip` and `net.host.port` to each record.
    #[serde(default)]
    pub add_attributes: bool,
    /// Serve TLS.
    #[serde(default)]
    pub tls: Option<ServerTlsSettings>,
    /// The text encoding; only `utf-8`.
    #[serde(default)]
    pub encoding: Encoding,
}

/// `udp`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpSettings {
    /// `host:port` to listen on.
    pub listen_address: String,
    /// Each datagram is one message, newlines included (otherwise a datagram is cut at its newlines).
    #[serde(default)]
    pub one_log_per_packet: bool,
    /// Add `net.transport`, `net.peer.ip`, `net.peer.port`, `net.host.ip` and `net.host.port` to each record.
    #[serde(default)]
    pub add_attributes: bool,
    /// The text encoding; only `utf-8`.
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default, deserialize_with = "refuse_async")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    r#async: de::Refused,
}

fn one_mebibyte() -> ByteSize {
    ByteSize(1024 * 1024)
}

fn refuse_async<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>("otelcol's async readers are not needed here: datagrams are read as they come")
}

impl SyslogConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.tcp.is_none() && self.udp.is_none() {
            problems.push(Invalid::at(
                "tcp",
                "give `tcp: { listen_address: ... }`, `udp: { listen_address: ... }` or both",
            ));
        }
        if self.enable_octet_counting && self.protocol != Protocol::Rfc5424 {
            problems.push(Invalid::at(
                "enable_octet_counting",
                "octet counting frames RFC 5424 messages only",
            ));
        }
        if self.enable_octet_counting && self.non_transparent_framing_trailer.is_some() {
            problems.push(Invalid::at(
                "non_transparent_framing_trailer",
                "messages are framed by octet counting or by a trailer, not both",
            ));
        }
        if let Some(location) = &self.location
            && let Err(e) = crate::clock::zone(location)
        {
            problems.push(Invalid::at("location", e));
        }
        if let Some(tls) = self.tcp.as_ref().and_then(|tcp| tcp.tls.as_ref())
            && let Some((key, message)) = tls.problems()
        {
            problems.push(Invalid::at(format!("tcp.tls.{key}"), message));
        }
        if let Err(e) = Operators::build(&self.operators) {
            problems.push(e);
        }
        Invalid::all(problems)
    }
}
