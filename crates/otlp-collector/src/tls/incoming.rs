//! A TLS listener: a task accepts TCP connections and runs each handshake in its own task (a slow or silent
//! client delays nobody else), handing finished TLS streams to the server through a channel. A connection whose
//! handshake fails (a plaintext client, a client certificate the CA did not sign) is closed and logged.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take over its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes finished but not yet taken by the server.
const PENDING: usize = 64;

/// The TLS streams a listener produces, for a server to take.
pub(crate) struct TlsConnections {
    streams: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsConnections {
    /// The next connection, or `None` once the accept loop has stopped.
    pub(crate) async fn next(&mut self) -> Option<(TlsStream<TcpStream>, SocketAddr)> {
        self.streams.recv().await
    }

    /// As a stream for tonic's `serve_with_incoming`.
    pub(crate) fn into_stream(
        self,
    ) -> impl futures::Stream<Item = Result<TlsStream<TcpStream>, io::Error>> {
        futures::stream::unfold(self, |mut connections| async move {
            let (stream, _) = connections.next().await?;
            Some((Ok(stream), connections))
        })
    }
}

impl axum::serve::Listener for TlsConnections {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.next().await {
            Some(connection) => connection,
            // The accept loop stopped: the server is shutting down and waits for its own signal.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// The task accepting connections; [`stop`](AcceptLoop::stop) closes the listening socket.
pub(crate) struct AcceptLoop(JoinHandle<()>);

impl AcceptLoop {
    /// Stops accepting and returns once the listening socket is closed.
    pub(crate) async fn stop(self) {
        self.0.abort();
        // The task ends cancelled: that is the expected outcome, and the socket is dropped with it.
        let _ = self.0.await;
    }
}

/// Accepts on `listener`, completing each handshake with `acceptor`.
pub(crate) fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    component: String,
) -> io::Result<(TlsConnections, AcceptLoop)> {
    let local = listener.local_addr()?;
    let (sender, streams) = mpsc::channel(PENDING);
    let task = tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(receiver = %component, %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Nagle's algorithm delays small responses by up to 40 ms, as for plaintext connections.
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let sender = sender.clone();
            let component = component.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        // A closed channel means the server stopped; the connection just closes.
                        let _ = sender.send((stream, peer)).await;
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(receiver = %component, %peer, %error, "TLS handshake failed");
                    }
                    Err(_) => {
                        tracing::debug!(receiver = %component, %peer, "TLS handshake timed out");
                    }
                }
            });
        }
    });
    Ok((TlsConnections { streams, local }, AcceptLoop(task)))
}
