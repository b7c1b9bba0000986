//! Opening a connection to one database of the server: TCP or a Unix socket, TLS negotiated the PostgreSQL way
//! (the client asks with `SSLRequest`, then shakes hands on the same socket) with the collector's rustls, and
//! the role's password in whatever scheme the server asks for.

use crate::ClientTlsSettings;
use crate::receiver::scraper::dial::Stream;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};
use tokio_postgres::{Client, Config};

/// How to reach the server and log in; opens a connection to any of its databases.
pub(crate) struct Connector {
    /// `host:port` over TCP, or the socket's path.
    address: Address,
    user: String,
    password: String,
    /// TLS settings, when the connection is encrypted.
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The name the server's certificate must carry: the endpoint's host unless overridden.
    server_name: String,
    /// Encrypt when the server offers TLS, else go on in plain text (libpq's `sslmode=prefer`).
    prefer_tls: bool,
    /// The session's `application_name`, which the server's views show.
    application_name: String,
}

enum Address {
    Tcp(String),
    Unix(String),
}

impl Connector {
    /// A connector to `host`:`port` (TCP, or with `unix` the socket `/host/.s.PGSQL.port`, as otelcol's lib/pq
    /// reads its endpoint), encrypted with `tls` when `encrypted`; an error names the TLS file at fault.
    pub(crate) fn new(
        host: &str,
        port: u16,
        unix: bool,
        user: &str,
        password: &str,
        tls: &ClientTlsSettings,
        encrypted: bool,
    ) -> Result<Self, String> {
        let address = if unix {
            Address::Unix(format!(
                "/{}/.s.PGSQL.{port}",
                host.trim_start_matches('/').trim_end_matches('/')
            ))
        } else {
            Address::Tcp(format!("{host}:{port}"))
        };
        Ok(Connector {
            address,
            user: user.to_owned(),
            password: password.to_owned(),
            tls: if encrypted {
                Some(Arc::new(tls.rustls_config()?))
            } else {
                None
            },
            server_name: tls.server_name_override.clone().unwrap_or_else(|| {
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned()
            }),
            prefer_tls: false,
            application_name: "otlp-suite postgresql receiver".to_owned(),
        })
    }

    /// The same, encrypting only when the server offers TLS (when it is configured at all).
    pub(crate) fn preferring_tls(mut self) -> Self {
        self.prefer_tls = true;
        self
    }

    /// The same, naming its sessions `application_name`.
    pub(crate) fn named(mut self, application_name: &str) -> Self {
        application_name.clone_into(&mut self.application_name);
        self
    }

    /// Where the connections go, for log lines.
    pub(crate) fn address(&self) -> &str {
        match &self.address {
            Address::Tcp(address) | Address::Unix(address) => address,
        }
    }

    /// A connection to `database`, logged in. The connection's task ends when the client is dropped.
    pub(crate) async fn open(&self, database: &str) -> Result<Client, String> {
        let stream = match &self.address {
            Address::Tcp(address) => {
                let tcp = tokio::net::TcpStream::connect(address)
                    .await
                    .map_err(|e| format!("connecting to {address}: {e}"))?;
                // Each question is one small write answered before the next: Nagle would only delay them.
                let _ = tcp.set_nodelay(true);
                Socket::Tcp(tcp)
            }
            Address::Unix(path) => Socket::Unix(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| format!("connecting to {path}: {e}"))?,
            ),
        };
        let mut config = Config::new();
        config
            .user(&self.user)
            .password(&self.password)
            .dbname(database)
            .application_name(&self.application_name)
            .ssl_mode(match (&self.tls, self.prefer_tls) {
                (None, _) => SslMode::Disable,
                (Some(_), true) => SslMode::Prefer,
                (Some(_), false) => SslMode::Require,
            });
        let rustls = RustlsConnect {
            config: self.tls.clone(),
            server_name: self.server_name.clone(),
        };
        let (client, connection) = config.connect_raw(stream, rustls).await.map_err(|e| {
            let mut message = format!("logging in to database `{database}`: {}", describe(&e));
            if message.contains("does not support TLS") {
                // otelcol's default asks for TLS; a server without it is the usual first stumble.
                message.push_str(" (`tls: { insecure: true }` connects in plain text)");
            }
            message
        })?;
        tokio::spawn(async move {
            // Its error is the client's too: the next question fails and says why.
            let _ = connection.await;
        });
        Ok(client)
    }
}

/// What went wrong, in the server's words when it answered with an error (`FATAL 28P01: password
/// authentication failed for user "otel"`), else the client's with its cause.
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    match std::error::Error::source(error) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}

/// A connected socket. An enum rather than a `Box<dyn Stream>`: with the box, the compiler asks for the TLS hook
/// at every lifetime of the box when it checks that the scrape's future is `Send`, and finds it only at one.
enum Socket {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(tcp) => Pin::new(tcp).poll_read(context, buf),
            Socket::Unix(unix) => Pin::new(unix).poll_read(context, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(tcp) => Pin::new(tcp).poll_write(context, buf),
            Socket::Unix(unix) => Pin::new(unix).poll_write(context, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(tcp) => Pin::new(tcp).poll_flush(context),
            Socket::Unix(unix) => Pin::new(unix).poll_flush(context),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(tcp) => Pin::new(tcp).poll_shutdown(context),
            Socket::Unix(unix) => Pin::new(unix).poll_shutdown(context),
        }
    }
}

/// tokio-postgres' TLS hook, shaking hands with rustls once the server agreed to TLS.
struct RustlsConnect {
    config: Option<Arc<rustls::ClientConfig>>,
    server_name: String,
}

type Handshake<S> = Pin<Box<dyn Future<Output = Result<Encrypted<S>, io::Error>> + Send>>;

impl<S: Stream + 'static> TlsConnect<S> for RustlsConnect {
    type Stream = Encrypted<S>;
    type Error = io::Error;
    type Future = Handshake<S>;

    fn connect(self, stream: S) -> Handshake<S> {
        Box::pin(async move {
            let config = self
                .config
                .ok_or_else(|| io::Error::other("TLS is not configured"))?;
            let name = ServerName::try_from(self.server_name.clone()).map_err(|e| {
                io::Error::other(format!("tls: server name `{}`: {e}", self.server_name))
            })?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await?;
            Ok(Encrypted(stream))
        })
    }
}

/// A connection after its TLS handshake.
pub(super) struct Encrypted<S>(tokio_rustls::client::TlsStream<S>);

impl<S: Stream> TlsStream for Encrypted<S> {
    /// No channel binding: SCRAM then authenticates without `-PLUS`, which every server that offers it accepts
    /// (libpq's `channel_binding=prefer` does the same when it has none).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: Stream> AsyncRead for Encrypted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(context, buf)
    }
}

impl<S: Stream> AsyncWrite for Encrypted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(context, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(context)
    }
}
