//! The `syslog` exporter (otelcol-contrib's): log records as syslog messages (RFC 5424, optionally octet-counted,
//! or RFC 3164) to a syslog server over TCP, TLS or UDP.
//!
//! ```yaml
//! exporters:
//!   syslog:
//!     endpoint: siem.example.com
//!     port: 6514
//!     protocol: rfc5424
//!     tls: { ca_file: /etc/ssl/siem-ca.pem }
//! ```
//!
//! Each record's header fields come from the attributes the `syslog` receiver sets (`format.rs`), so that a
//! relay writes messages on as they came. One connection is kept and opened again after a failure; an attempt
//! that fails is taken up again from the first message it did not send, so a retry neither loses nor repeats
//! what the server already has (a message cut by the failure aside).

mod config;
mod format;

pub use config::SyslogExporterConfig;

use super::{Delivered, Export, ExportError, Exporter, Settled};
use crate::Batch;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::{ClientTlsSettings, Signal};
use format::Protocol;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The `syslog` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = SyslogExporterConfig;
    const TYPE: &'static str = "syslog";

    fn validate(&self, config: &SyslogExporterConfig) -> Result<(), Invalid> {
        Invalid::all(config.problems().into_iter().map(|(key, message)| {
            if key.is_empty() {
                Invalid::at("sending_queue", message)
            } else {
                Invalid::at(key, message)
            }
        }))
    }
}

impl ExporterFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    fn build(
        &self,
        config: &SyslogExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let tls = if config.tls.insecure {
            None
        } else {
            let server_name = config
                .tls
                .server_name_override
                .clone()
                .unwrap_or_else(|| config.endpoint.clone());
            let name = ServerName::try_from(server_name.clone())
                .map_err(|e| format!("tls: server name `{server_name}`: {e}"))?;
            Some((connector(&config.tls)?, name))
        };
        let protocol = if config.protocol == "rfc3164" {
            Protocol::Rfc3164
        } else {
            Protocol::Rfc5424 {
                octet_counting: config.enable_octet_counting,
            }
        };
        Ok(Exporter::new(
            Syslog {
                address: format!("{}:{}", config.endpoint, config.port),
                udp: config.network.eq_ignore_ascii_case("udp"),
                tls,
                protocol,
                connection: tokio::sync::Mutex::new(None),
            },
            config.helper(),
        ))
    }
}

fn connector(tls: &ClientTlsSettings) -> Result<tokio_rustls::TlsConnector, String> {
    Ok(tokio_rustls::TlsConnector::from(Arc::new(
        tls.rustls_config()?,
    )))
}

/// A stream to the server, plain or encrypted.
trait Stream: AsyncWrite + Unpin + Send {}
impl<T: AsyncWrite + Unpin + Send> Stream for T {}

/// An open connection to the server.
enum Connection {
    Stream(Box<dyn Stream>),
    Datagrams(tokio::net::UdpSocket),
}

struct Syslog {
    /// `host:port`.
    address: String,
    udp: bool,
    /// The TLS client and the name the server's certificate must carry, unless `insecure`.
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    protocol: Protocol,
    /// Taken out while an attempt sends, so that an attempt cut short (its timeout) leaves no half-written message
    /// on a connection the next one would write after.
    connection: tokio::sync::Mutex<Option<Connection>>,
}

/// A batch's messages, and how many of them the attempts so far have sent.
struct Messages {
    lines: Vec<String>,
    sent: AtomicUsize,
}

impl Syslog {
    async fn connect(&self) -> Result<Connection, String> {
        if self.udp {
            let socket = tokio::net::UdpSocket::bind("0.0.0.0:0")
                .await
                .map_err(|e| format!("binding a UDP socket: {e}"))?;
            socket
                .connect(&self.address)
                .await
                .map_err(|e| format!("{}: {e}", self.address))?;
            return Ok(Connection::Datagrams(socket));
        }
        let tcp = tokio::net::TcpStream::connect(&self.address)
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.address))?;
        let _ = tcp.set_nodelay(true);
        Ok(Connection::Stream(match &self.tls {
            None => Box::new(tcp),
            Some((connector, name)) => Box::new(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("TLS handshake with {}: {e}", self.address))?,
            ),
        }))
    }
}

impl Export for Syslog {
    type Payload = Messages;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Messages, ExportError> {
        let request = batch
            .get::<ExportLogsServiceRequest>()
            .ok_or_else(|| ExportError::permanent("the syslog exporter sends logs only"))?;
        let lines = request
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .flat_map(|sl| &sl.log_records)
            .map(|record| format::message(record, self.protocol))
            .collect();
        Ok(Messages {
            lines,
            sent: AtomicUsize::new(0),
        })
    }

    async fn send(&self, messages: &Messages) -> Result<Delivered, ExportError> {
        let mut slot = self.connection.lock().await;
        let mut connection = match slot.take() {
            Some(connection) => connection,
            None => self.connect().await.map_err(ExportError::retryable)?,
        };
        let failed =
            |e: std::io::Error| ExportError::retryable(format!("writing to {}: {e}", self.address));
        for line in &messages.lines[messages.sent.load(Ordering::Relaxed)..] {
            match &mut connection {
                Connection::Stream(stream) => {
                    stream.write_all(line.as_bytes()).await.map_err(failed)?
                }
                Connection::Datagrams(socket) => {
                    socket.send(line.as_bytes()).await.map_err(failed)?;
                }
            }
            messages.sent.fetch_add(1, Ordering::Relaxed);
        }
        if let Connection::Stream(stream) = &mut connection {
            stream.flush().await.map_err(failed)?;
        }
        *slot = Some(connection);
        Ok(Delivered::default())
    }

    fn settled(&self, messages: &Messages) -> Settled {
        Settled {
            sent: messages.sent.load(Ordering::Relaxed),
            rejected: 0,
        }
    }
}
