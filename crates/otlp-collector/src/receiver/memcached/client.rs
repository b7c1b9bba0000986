//! A memcached connection speaking just what the receiver needs of the text protocol: `stats`.

use crate::receiver::scraper::dial::{Address, Stream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The most lines taken in one answer: `stats` has about 90.
const MAX_LINES: usize = 4096;
/// The longest line taken.
const MAX_LINE: u64 = 4096;

/// One open connection.
pub(super) struct Connection {
    stream: BufReader<Box<dyn Stream>>,
}

impl Connection {
    pub(super) async fn open(address: &Address) -> Result<Self, String> {
        Ok(Connection {
            stream: BufReader::new(address.connect().await?),
        })
    }

    /// The lines of the answer to `stats`, up to its `END`.
    pub(super) async fn stats(&mut self) -> Result<Vec<String>, String> {
        let stream = self.stream.get_mut();
        stream
            .write_all(b"stats\r\n")
            .await
            .map_err(|e| format!("sending stats: {e}"))?;
        stream
            .flush()
            .await
            .map_err(|e| format!("sending stats: {e}"))?;
        read_stats(&mut self.stream).await
    }
}

/// Reads an answer to `stats`: `STAT` lines up to `END`, or the server's error.
pub(super) async fn read_stats(
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let read = reader
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("reading the answer to stats: {e}"))?;
        if read == 0 {
            return Err("the server closed the connection in the middle of its answer".into());
        }
        let Some(line) = line.strip_suffix(b"\r\n") else {
            return Err(format!(
                "an answer line longer than {MAX_LINE} bytes or without its CRLF"
            ));
        };
        let line = String::from_utf8_lossy(line).into_owned();
        if line == "END" {
            return Ok(lines);
        }
        if line == "ERROR" || line.starts_with("SERVER_ERROR") || line.starts_with("CLIENT_ERROR") {
            return Err(format!("the server refused stats: {line}"));
        }
        if lines.len() == MAX_LINES {
            return Err(format!("an answer of more than {MAX_LINES} lines"));
        }
        lines.push(line);
    }
}
