//! Asking an agent: `GET` of scalar variables (many to a request) and walks of table columns (`GetBulk` in v2c and
//! v3, `GetNext` in v1), over UDP or TCP, each request waiting at most the timeout and sent again twice over UDP.
//! v1 and v2c name a community; v3 a user (`v3.rs`), after learning the agent's engine.

use super::ber::{self, Oid, Request, Response, Value, Version};
use super::v3::{self, Incoming, UserSecurity};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Variables asked for in one `GET`, as gosnmp (otelcol's client) asks them.
const OIDS_PER_GET: usize = 60;
/// Rows asked for in one `GetBulk`.
const MAX_REPETITIONS: u32 = 25;
/// Times a UDP request is sent in all.
const ATTEMPTS: usize = 3;
/// v1's `noSuchName`: the variable at `error_index` does not exist.
const NO_SUCH_NAME: i64 = 2;
/// The largest message read.
const LARGEST_MESSAGE: usize = 65_535;

enum Transport {
    Udp(UdpSocket),
    Tcp(TcpStream),
}

/// Who the requests are from.
pub(super) enum Security {
    /// v1 or v2c, with a community.
    Community(Version, String),
    /// v3, as a user.
    User(Box<UserSecurity>),
}

/// A connection to one agent.
pub(super) struct Client {
    transport: Transport,
    timeout: Duration,
    next_id: i32,
}

impl Client {
    /// Connects to `address` (`host:port`) over `tcp` or UDP.
    pub(super) async fn connect(
        address: &str,
        tcp: bool,
        timeout: Duration,
    ) -> Result<Client, String> {
        let transport = if tcp {
            let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
                .await
                .map_err(|_| format!("not connected to {address} within {timeout:?}"))?
                .map_err(|e| format!("connecting to {address}: {e}"))?;
            Transport::Tcp(stream)
        } else {
            let peer = tokio::net::lookup_host(address)
                .await
                .map_err(|e| format!("resolving {address}: {e}"))?
                .next()
                .ok_or_else(|| format!("{address} resolves to no address"))?;
            let local = if peer.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let socket = UdpSocket::bind(local)
                .await
                .map_err(|e| format!("binding a UDP socket: {e}"))?;
            socket
                .connect(peer)
                .await
                .map_err(|e| format!("connecting to {address}: {e}"))?;
            Transport::Udp(socket)
        };
        Ok(Client {
            transport,
            timeout,
            next_id: rand::random::<i32>() & 0x3fff_ffff,
        })
    }

    fn next_id(&mut self) -> i32 {
        self.next_id = self.next_id.wrapping_add(1) & 0x3fff_ffff;
        self.next_id
    }

    /// Sends `message` and waits for the answer whose id is `id`, as `read` reads answers.
    async fn round_trip<T>(
        &mut self,
        message: &[u8],
        id: i32,
        mut read: impl FnMut(&[u8]) -> Result<(i32, T), String>,
    ) -> Result<T, String> {
        let timeout = self.timeout;
        match &mut self.transport {
            Transport::Udp(socket) => {
                let mut buffer = vec![0u8; LARGEST_MESSAGE];
                // An answer that is ours but cannot be read (a wrong digest): said instead of a timeout.
                let mut unreadable = None;
                for _ in 0..ATTEMPTS {
                    socket
                        .send(message)
                        .await
                        .map_err(|e| format!("sending: {e}"))?;
                    let deadline = tokio::time::Instant::now() + timeout;
                    // Answers to earlier attempts (or strays) are skipped until this one's arrives.
                    while let Ok(received) =
                        tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await
                    {
                        let length = received.map_err(|e| match e.kind() {
                            // The host's ICMP answer to a datagram for a port nothing listens on.
                            std::io::ErrorKind::ConnectionRefused => {
                                format!("no SNMP agent listens on that port ({e})")
                            }
                            _ => format!("receiving: {e}"),
                        })?;
                        match read(&buffer[..length]) {
                            Ok((answered, answer)) if answered == id => return Ok(answer),
                            Ok(_) => continue,
                            Err(error) => unreadable = Some(error),
                        }
                    }
                }
                Err(unreadable
                    .unwrap_or_else(|| format!("no answer in {ATTEMPTS} attempts of {timeout:?}")))
            }
            Transport::Tcp(stream) => {
                let exchange = async {
                    stream
                        .write_all(message)
                        .await
                        .map_err(|e| format!("sending: {e}"))?;
                    let mut received = Vec::new();
                    let mut chunk = vec![0u8; 16 * 1024];
                    loop {
                        if let Some(length) = ber::message_length(&received) {
                            if length > LARGEST_MESSAGE {
                                return Err(format!("a message of {length} bytes"));
                            }
                            if received.len() >= length {
                                let (answered, answer) = read(&received[..length])?;
                                if answered == id {
                                    return Ok(answer);
                                }
                                received.drain(..length);
                                continue;
                            }
                        }
                        let read = stream
                            .read(&mut chunk)
                            .await
                            .map_err(|e| format!("receiving: {e}"))?;
                        if read == 0 {
                            return Err("the agent closed the connection".to_owned());
                        }
                        received.extend_from_slice(&chunk[..read]);
                    }
                };
                tokio::time::timeout(timeout, exchange)
                    .await
                    .map_err(|_| format!("no answer within {timeout:?}"))?
            }
        }
    }

    async fn exchange(
        &mut self,
        security: &mut Security,
        kind: Request,
        oids: &[Oid],
    ) -> Result<Response, String> {
        match security {
            Security::Community(version, community) => {
                let id = self.next_id();
                let message = ber::request(*version, community, kind, id, oids);
                self.round_trip(&message, id, |bytes| {
                    ber::response(bytes).map(|response| (response.request_id, response))
                })
                .await
            }
            Security::User(user) => {
                // A second round when the agent's report corrected a stale engine time (it restarted).
                for _ in 0..2 {
                    if !user.knows_engine() {
                        let id = self.next_id();
                        let discovery = user.discovery(id);
                        match self
                            .round_trip(&discovery, id, |bytes| user.read(bytes))
                            .await?
                        {
                            Incoming::Report(_) if user.knows_engine() => {}
                            Incoming::Report(oid) => return Err(v3::report_reason(&oid)),
                            Incoming::Response(_) => {
                                return Err(
                                    "the agent answered discovery without its engine".to_owned()
                                );
                            }
                        }
                    }
                    let id = self.next_id();
                    let message = user.request(id, &ber::pdu(kind, id, oids))?;
                    match self
                        .round_trip(&message, id, |bytes| user.read(bytes))
                        .await?
                    {
                        Incoming::Response(response) => return Ok(response),
                        Incoming::Report(oid) if v3::is_resync(&oid) => continue,
                        Incoming::Report(oid) => return Err(v3::report_reason(&oid)),
                    }
                }
                Err("the agent kept reporting the engine's time as out of its window".to_owned())
            }
        }
    }

    /// The values of scalar variables; those the agent does not have are left out and named in `missing`.
    pub(super) async fn get(
        &mut self,
        security: &mut Security,
        oids: &[Oid],
        missing: &mut Vec<String>,
    ) -> Result<Vec<(Oid, Value)>, String> {
        let v1 = matches!(security, Security::Community(Version::V1, _));
        let mut found = Vec::new();
        for chunk in oids.chunks(OIDS_PER_GET) {
            let mut asked = chunk.to_vec();
            while !asked.is_empty() {
                let response = self.exchange(security, Request::Get, &asked).await?;
                // v1 answers a missing variable with an error naming it, and nothing else: ask again without it.
                if response.error_status == NO_SUCH_NAME && v1 {
                    let at = usize::try_from(response.error_index - 1)
                        .ok()
                        .filter(|at| *at < asked.len())
                        .ok_or("the agent named no variable in its error")?;
                    missing.push(asked.remove(at).to_string());
                    continue;
                }
                if response.error_status != 0 {
                    return Err(format!(
                        "the agent answered error {}",
                        response.error_status
                    ));
                }
                for (oid, value) in response.bindings {
                    match value {
                        Value::NoSuch | Value::EndOfMibView => missing.push(oid.to_string()),
                        value => found.push((oid, value)),
                    }
                }
                break;
            }
        }
        Ok(found)
    }

    /// Every row of the table column `column`, in the agent's order.
    pub(super) async fn walk(
        &mut self,
        security: &mut Security,
        column: &Oid,
    ) -> Result<Vec<(Oid, Value)>, String> {
        let kind = match security {
            Security::Community(Version::V1, _) => Request::GetNext,
            _ => Request::GetBulk {
                max_repetitions: MAX_REPETITIONS,
            },
        };
        let mut rows = Vec::new();
        let mut from = column.clone();
        loop {
            let response = self
                .exchange(security, kind, std::slice::from_ref(&from))
                .await?;
            // v1's end of the MIB.
            if response.error_status == NO_SUCH_NAME {
                return Ok(rows);
            }
            if response.error_status != 0 {
                return Err(format!(
                    "the agent answered error {}",
                    response.error_status
                ));
            }
            if response.bindings.is_empty() {
                return Ok(rows);
            }
            for (oid, value) in response.bindings {
                // Agents answer in order; one that does not would walk for ever.
                if !oid.is_below(column) || value == Value::EndOfMibView || oid <= from {
                    return Ok(rows);
                }
                from = oid.clone();
                rows.push((oid, value));
            }
        }
    }
}
