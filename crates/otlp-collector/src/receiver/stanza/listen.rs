//! Listening for messages on the network, shared by the receivers that read lines off sockets (`syslog`, `tcplog`,
//! `udplog`, `statsd`, `carbon`): TCP connections (plain or TLS) cut into messages by a [`Framer`], and UDP
//! datagrams, each read's messages handed to a [`Receive`] together; and accepting connections, shared with the
//! `fluentforward` receiver.

use crate::receiver::{RunningReceiver, shutdown_signal};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Where messages came from, for the `add_attributes` keys: transport (`IP.TCP`), peer and local address.
pub(crate) type Net = Option<(&'static str, SocketAddr, SocketAddr)>;

/// What takes the messages a listener receives.
pub(crate) trait Receive: Send + Sync + 'static {
    /// The receiver's id, for its logs.
    fn id(&self) -> &str;

    /// Turns `messages` into records and hands them to the pipelines, waiting while they are full.
    fn receive(&self, messages: Vec<String>, net: Net) -> impl Future<Output = ()> + Send;

    /// How long a TCP connection may stay silent before it is closed; `None` leaves it to the client.
    fn idle_timeout(&self) -> Option<Duration> {
        None
    }
}

/// Cuts a byte stream into messages.
pub(crate) trait Framer: Send + 'static {
    /// Adds what was read, putting every complete message into `out`; an error closes the connection.
    fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), String>;

    /// What is left when the stream ends.
    fn finish(self, out: &mut Vec<String>);
}

/// The `add_attributes` of a message from `net`.
pub(crate) fn net_attributes(net: Net) -> serde_json::Map<String, serde_json::Value> {
    let mut attributes = serde_json::Map::new();
    if let Some((transport, peer, local)) = net {
        attributes.insert("net.transport".into(), transport.into());
        attributes.insert("net.peer.ip".into(), peer.ip().to_string().into());
        attributes.insert("net.peer.port".into(), peer.port().into());
        attributes.insert("net.host.ip".into(), local.ip().to_string().into());
        attributes.insert("net.host.port".into(), local.port().into());
    }
    attributes
}

/// Accepts connections on `listener` until the receiver stops, each read by a task of its own with a framer
/// `frames` makes.
/// The next connection `listener` accepts for `receiver`. A failed accept (out of file descriptors and the like) is
/// logged and tried again after a pause, rather than in a spin.
pub(crate) async fn accept(listener: &TcpListener, receiver: &str) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error) => {
                tracing::warn!(receiver = %receiver, %error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

pub(crate) fn serve_tcp<R: Receive, F: Framer>(
    running: &mut RunningReceiver,
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    frames: impl Fn() -> F + Send + Sync + 'static,
    add_attributes: bool,
    reader: Arc<R>,
    stopping: watch::Receiver<bool>,
) {
    running.listening("tcp", &listener);
    running.spawn(async move {
        let stopped = shutdown_signal(stopping.clone());
        tokio::pin!(stopped);
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stopped => return Ok(()),
                accepted = accept(&listener, reader.id()) => accepted,
            };
            let local = stream.local_addr().unwrap_or(peer);
            let net = add_attributes.then_some(("IP.TCP", peer, local));
            let (reader, stopping, acceptor, framer) =
                (Arc::clone(&reader), stopping.clone(), acceptor.clone(), frames());
            tokio::spawn(async move {
                match acceptor {
                    None => read_stream(stream, framer, &*reader, net, stopping).await,
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => read_stream(tls, framer, &*reader, net, stopping).await,
                        Err(error) => {
                            tracing::debug!(receiver = %reader.id(), %error, %peer, "TLS handshake failed")
                        }
                    },
                }
            });
        }
    });
}

/// Reads one connection until it closes or the receiver stops, handing over the messages of each read together.
async fn read_stream<R: Receive>(
    mut stream: impl AsyncRead + Unpin,
    mut framer: impl Framer,
    reader: &R,
    net: Net,
    stopping: watch::Receiver<bool>,
) {
    let stopped = shutdown_signal(stopping);
    tokio::pin!(stopped);
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = tokio::select! {
            _ = &mut stopped => return,
            read = read_within(&mut stream, &mut buffer, reader.idle_timeout()) => read,
        };
        let mut messages = Vec::new();
        match read {
            Ok(0) | Err(_) => {
                framer.finish(&mut messages);
                reader.receive(messages, net).await;
                return;
            }
            Ok(n) => {
                if let Err(error) = framer.push(&buffer[..n], &mut messages) {
                    tracing::warn!(receiver = %reader.id(), %error, "closing the connection");
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

/// One read, failing as timed out when `idle` passes without data.
async fn read_within(
    stream: &mut (impl AsyncRead + Unpin),
    buffer: &mut [u8],
    idle: Option<Duration>,
) -> std::io::Result<usize> {
    match idle {
        None => stream.read(buffer).await,
        Some(idle) => tokio::time::timeout(idle, stream.read(buffer))
            .await
            .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())),
    }
}

/// Receives datagrams on `socket` until the receiver stops, each cut into messages by `messages`.
pub(crate) fn serve_udp<R: Receive>(
    running: &mut RunningReceiver,
    socket: UdpSocket,
    messages: impl Fn(&str) -> Vec<String> + Send + 'static,
    add_attributes: bool,
    reader: Arc<R>,
    stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let local = socket.local_addr()?;
    running.listening_at("udp", local);
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
                        tracing::debug!(receiver = %reader.id(), %error, "receiving a datagram failed");
                        continue;
                    }
                },
            };
            let text = String::from_utf8_lossy(&buffer[..length]);
            let net = add_attributes.then_some(("IP.UDP", peer, local));
            reader.receive(messages(&text), net).await;
        }
    });
    Ok(())
}
