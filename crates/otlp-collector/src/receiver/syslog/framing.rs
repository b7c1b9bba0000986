//! Where one syslog message ends on a TCP stream (RFC 6587): at a trailer byte (a newline, or NUL), or after as
//! many bytes as the length in front of it says (octet counting).

/// How messages are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Each message ends with this byte.
    Trailer(u8),
    /// Each message is `LEN SP MSG`, at most this long.
    OctetCounting(usize),
}

/// The bytes of a stream not yet cut into messages.
pub(super) struct Frames {
    framing: Framing,
    max_log_size: usize,
    buffer: Vec<u8>,
}

impl Frames {
    pub(super) fn new(framing: Framing, max_log_size: usize) -> Self {
        Frames {
            framing,
            max_log_size,
            buffer: Vec::new(),
        }
    }

    /// Adds what was read and takes out every complete message; an error means the stream cannot be framed
    /// any more (a length that is not one), and the connection should close.
    pub(super) fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        self.buffer.extend_from_slice(bytes);
        let mut at = 0;
        match self.framing {
            Framing::Trailer(trailer) => loop {
                let rest = &self.buffer[at..];
                match rest.iter().position(|b| *b == trailer) {
                    Some(end) if end <= self.max_log_size => {
                        let message = &rest[..end];
                        push(out, message.strip_suffix(b"\r").unwrap_or(message));
                        at += end + 1;
                    }
                    // A message past the limit is cut there, as the other receivers cut theirs.
                    _ if rest.len() > self.max_log_size => {
                        push(out, &rest[..self.max_log_size]);
                        at += self.max_log_size;
                    }
                    _ => break,
                }
            },
            Framing::OctetCounting(most) => loop {
                let rest = &self.buffer[at..];
                let skipped = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
                let rest = &rest[skipped..];
                let Some(space) = rest.iter().position(|b| *b == b' ') else {
                    if rest.len() > 10 || !rest.iter().all(u8::is_ascii_digit) {
                        return Err(
                            "the stream is not octet counted: no length before a message".into(),
                        );
                    }
                    at += skipped;
                    break;
                };
                let length: usize = std::str::from_utf8(&rest[..space])
                    .ok()
                    .and_then(|digits| digits.parse().ok())
                    .ok_or_else(|| {
                        format!(
                            "the stream is not octet counted: `{}` is not a length",
                            String::from_utf8_lossy(&rest[..space.min(20)])
                        )
                    })?;
                if length > most {
                    return Err(format!(
                        "a message of {length} bytes is longer than max_octets ({most})"
                    ));
                }
                let Some(message) = rest.get(space + 1..space + 1 + length) else {
                    at += skipped;
                    break;
                };
                push(out, message);
                at += skipped + space + 1 + length;
            },
        }
        self.buffer.drain(..at);
        Ok(())
    }

    /// What is left when the stream ends: a last message without its trailer.
    pub(super) fn finish(self, out: &mut Vec<String>) {
        if let Framing::Trailer(_) = self.framing {
            push(out, &self.buffer);
        }
    }
}

fn push(out: &mut Vec<String>, message: &[u8]) {
    let message = message.strip_suffix(b"\0").unwrap_or(message);
    if !message.is_empty() {
        out.push(String::from_utf8_lossy(message).into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(framing: Framing, max: usize, chunks: &[&[u8]]) -> Result<Vec<String>, String> {
        let mut frames = Frames::new(framing, max);
        let mut out = Vec::new();
        for chunk in chunks {
            frames.push(chunk, &mut out)?;
        }
        frames.finish(&mut out);
        Ok(out)
    }

    #[test]
    fn trailers_end_messages_across_reads() {
        assert_eq!(
            frame(
                Framing::Trailer(b'\n'),
                100,
                &[b"<13>1 a\r\n<13>1 b", b"c\n\n<13>1 d"]
            )
            .unwrap(),
            ["<13>1 a", "<13>1 bc", "<13>1 d"]
        );
        assert_eq!(
            frame(Framing::Trailer(0), 100, &[b"x\n y\0z\0"]).unwrap(),
            ["x\n y", "z"]
        );
        assert_eq!(
            frame(Framing::Trailer(b'\n'), 3, &[b"abcdefg\n"]).unwrap(),
            ["abc", "def", "g"]
        );
    }

    #[test]
    fn octet_counting_reads_lengths() {
        assert_eq!(
            frame(
                Framing::OctetCounting(100),
                100,
                &[b"5 hello11 hello", b" world\n3 abc"]
            )
            .unwrap(),
            ["hello", "hello world", "abc"]
        );
        assert!(frame(Framing::OctetCounting(100), 100, &[b"<13>1 not counted"]).is_err());
        assert!(
            frame(Framing::OctetCounting(4), 100, &[b"5 hello"])
                .unwrap_err()
                .contains("longer than max_octets (4)")
        );
    }
}
