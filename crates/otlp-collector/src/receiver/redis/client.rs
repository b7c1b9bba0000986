//! A Redis connection speaking just what the receiver needs of RESP: `AUTH` and `INFO all`, over TCP, a Unix
//! socket or TLS.

use crate::receiver::scraper::dial::{Address, Stream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The largest reply taken: `INFO all` of a busy server is tens of kilobytes.
const MAX_REPLY: usize = 16 << 20;

/// One open connection, authenticated if the settings say so.
pub(super) struct Connection {
    stream: BufReader<Box<dyn Stream>>,
}

/// What went wrong talking to the server; the message says at which step.
pub(super) type Failure = String;

impl Connection {
    /// Connects to `address` and authenticates with `password` (and `username`, for an ACL user) when given.
    pub(super) async fn open(
        address: &Address,
        username: &str,
        password: &str,
    ) -> Result<Self, Failure> {
        let stream = address.connect().await?;
        let mut connection = Connection {
            stream: BufReader::new(stream),
        };
        if !password.is_empty() {
            let reply = if username.is_empty() {
                connection.command(&["AUTH", password]).await?
            } else {
                connection.command(&["AUTH", username, password]).await?
            };
            if let Reply::Error(message) = reply {
                return Err(format!("AUTH refused: {message}"));
            }
        }
        Ok(connection)
    }

    /// The text of `INFO all`.
    pub(super) async fn info(&mut self) -> Result<String, Failure> {
        match self.command(&["INFO", "all"]).await? {
            Reply::Bulk(text) => Ok(text),
            Reply::Error(message) => Err(format!("INFO refused: {message}")),
            Reply::Simple(other) => Err(format!("INFO answered `{other}`, not its text")),
        }
    }

    async fn command(&mut self, arguments: &[&str]) -> Result<Reply, Failure> {
        let mut request = format!("*{}\r\n", arguments.len()).into_bytes();
        for argument in arguments {
            request.extend_from_slice(format!("${}\r\n", argument.len()).as_bytes());
            request.extend_from_slice(argument.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        let stream = self.stream.get_mut();
        stream
            .write_all(&request)
            .await
            .map_err(|e| format!("sending {}: {e}", arguments[0]))?;
        stream
            .flush()
            .await
            .map_err(|e| format!("sending {}: {e}", arguments[0]))?;
        read_reply(&mut self.stream)
            .await
            .map_err(|e| format!("reading the answer to {}: {e}", arguments[0]))
    }
}

/// A reply of the kinds `AUTH` and `INFO` give.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reply {
    Simple(String),
    Error(String),
    Bulk(String),
}

/// Reads one reply: a simple string, an error or a bulk string.
pub(super) async fn read_reply(
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
) -> Result<Reply, String> {
    let mut line = Vec::new();
    let read = reader
        .take(64 * 1024)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| e.to_string())?;
    if read == 0 {
        return Err("the server closed the connection".into());
    }
    let line = line
        .strip_suffix(b"\r\n")
        .ok_or("a reply line without its CRLF")?;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match line.split_first() {
        Some((b'+', rest)) => Ok(Reply::Simple(text(rest))),
        Some((b'-', rest)) => Ok(Reply::Error(text(rest))),
        Some((b'$', length)) => {
            let length: i64 = std::str::from_utf8(length)
                .ok()
                .and_then(|l| l.parse().ok())
                .ok_or_else(|| format!("a bulk length `{}`", text(length)))?;
            let length = usize::try_from(length).map_err(|_| "a null reply".to_owned())?;
            if length > MAX_REPLY {
                return Err(format!(
                    "a reply of {length} bytes, more than the {MAX_REPLY} taken"
                ));
            }
            let mut body = vec![0; length + 2];
            reader
                .read_exact(&mut body)
                .await
                .map_err(|e| e.to_string())?;
            if !body.ends_with(b"\r\n") {
                return Err("a bulk reply without its CRLF".into());
            }
            body.truncate(length);
            Ok(Reply::Bulk(text(&body)))
        }
        _ => Err(format!("an unexpected reply `{}`", text(line))),
    }
}

#[cfg(test)]
mod tests;
