//! Reaching a server that a scraper reads over the server's own protocol (Redis, memcached): `host:port` over TCP,
//! over TLS when the settings ask for it, or a Unix socket; and keeping the connection between scrapes.

use crate::ClientTlsSettings;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Where the server is and how to reach it.
#[derive(Clone)]
pub(crate) struct Address {
    /// `host:port`, or a socket path with `unix`.
    pub(crate) endpoint: String,
    unix: bool,
    /// TLS settings, when the connection is encrypted.
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The name the server's certificate must carry: the endpoint's host unless overridden.
    server_name: String,
}

/// An open connection of any transport.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl Address {
    /// `endpoint` over `transport` (`tcp` or `unix`), encrypted with `tls` when `encrypted`.
    pub(crate) fn new(
        endpoint: &str,
        transport: &str,
        tls: &ClientTlsSettings,
        encrypted: bool,
    ) -> Result<Self, String> {
        let tls_config = if encrypted {
            Some(Arc::new(tls.rustls_config()?))
        } else {
            None
        };
        let host = endpoint
            .rsplit_once(':')
            .map_or(endpoint, |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        Ok(Address {
            endpoint: endpoint.to_owned(),
            unix: transport == "unix",
            tls: tls_config,
            server_name: tls
                .server_name_override
                .clone()
                .unwrap_or_else(|| host.to_owned()),
        })
    }

    /// Connects, and shakes hands when encrypted; the error says which step failed.
    pub(crate) async fn connect(&self) -> Result<Box<dyn Stream>, String> {
        if self.unix {
            let stream = tokio::net::UnixStream::connect(&self.endpoint)
                .await
                .map_err(|e| format!("connecting to {}: {e}", self.endpoint))?;
            return Ok(Box::new(stream));
        }
        let tcp = tokio::net::TcpStream::connect(&self.endpoint)
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.endpoint))?;
        // Requests are one small write each, answered before the next: Nagle would only delay them.
        let _ = tcp.set_nodelay(true);
        let Some(config) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let name = ServerName::try_from(self.server_name.clone())
            .map_err(|e| format!("tls: server name `{}`: {e}", self.server_name))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
        let stream = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {}: {e}", self.endpoint))?;
        Ok(Box::new(stream))
    }
}

/// A connection kept open between scrapes: opened when first needed, and dropped after a failure or a late answer
/// (which could still arrive, out of step with the next question).
pub(crate) struct Kept<C> {
    connection: Option<C>,
}

impl<C> Default for Kept<C> {
    fn default() -> Self {
        Kept { connection: None }
    }
}

impl<C> Kept<C> {
    /// `ask` on the kept connection, or on one `open` makes, within `timeout` for both.
    pub(crate) async fn ask<T>(
        &mut self,
        timeout: Duration,
        open: impl AsyncFnOnce() -> Result<C, String>,
        ask: impl AsyncFnOnce(&mut C) -> Result<T, String>,
    ) -> Result<T, String> {
        let exchange = async {
            let connection = match &mut self.connection {
                Some(connection) => connection,
                None => self.connection.insert(open().await?),
            };
            ask(connection).await
        };
        let answer = match tokio::time::timeout(timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        };
        if answer.is_err() {
            self.connection = None;
        }
        answer
    }
}
