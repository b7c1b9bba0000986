//! chronyd's command protocol (`candm.h`, protocol version 6, chrony 2.2 and later), for one request: `tracking`,
//! what `chronyc tracking` prints. A request is a 20-byte head padded to the length of its reply (chronyd answers
//! nothing longer than what it was sent, so it cannot be used to amplify a flood); the reply is a 28-byte head and
//! the tracking report, every number big-endian and the fractional ones in chrony's 32-bit float.

use super::config::Endpoint;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

const PROTOCOL_VERSION: u8 = 6;
const REQUEST: u8 = 1;
const REPLY: u8 = 2;
const REQUEST_TRACKING: u16 = 33;
const REPLY_TRACKING: u16 = 5;
const REPLY_HEAD: usize = 28;
/// The report up to its last number (the 4-byte end-of-record mark after it is not read).
const TRACKING_REPORT: usize = 76;
/// A tracking request: its head, padded to the reply's length with the end mark.
const TRACKING_REQUEST: usize = REPLY_HEAD + TRACKING_REPORT + 4;

/// What `chronyc tracking` prints, as numbers.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tracking {
    /// 0 while chronyd is not synchronised, otherwise one more than its source's.
    pub(super) stratum: u16,
    pub(super) leap: Leap,
    /// Seconds the system clock is being slewed by (positive: it is slow), `System time` in chronyc.
    pub(super) current_correction: f64,
    pub(super) last_offset: f64,
    pub(super) rms_offset: f64,
    /// Parts per million the clock would gain (positive) or lose without chronyd's correction.
    pub(super) frequency_ppm: f64,
    pub(super) skew_ppm: f64,
    pub(super) root_delay: f64,
}

/// How chronyd is handling leap seconds, as otelcol's `leap.status` values name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Leap {
    Normal,
    InsertSecond,
    DeleteSecond,
    Unsynchronised,
}

impl Leap {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Leap::Normal => "normal",
            Leap::InsertSecond => "insert_second",
            Leap::DeleteSecond => "delete_second",
            Leap::Unsynchronised => "unsynchronised",
        }
    }
}

/// A tracking request numbered `sequence`, which chronyd's reply repeats.
pub(super) fn request(sequence: u32) -> [u8; TRACKING_REQUEST] {
    let mut packet = [0u8; TRACKING_REQUEST];
    packet[0] = PROTOCOL_VERSION;
    packet[1] = REQUEST;
    packet[4..6].copy_from_slice(&REQUEST_TRACKING.to_be_bytes());
    packet[8..12].copy_from_slice(&sequence.to_be_bytes());
    packet
}

/// chrony's 32-bit float: a 7-bit exponent over a 25-bit coefficient, both two's complement; the value is
/// coefficient × 2^(exponent − 25).
fn chrony_float(word: u32) -> f64 {
    const COEFFICIENT_BITS: u32 = 25;
    let exponent = (word as i32 >> COEFFICIENT_BITS) - COEFFICIENT_BITS as i32;
    let coefficient = ((word << (32 - COEFFICIENT_BITS)) as i32) >> (32 - COEFFICIENT_BITS);
    f64::from(coefficient) * 2f64.powi(exponent)
}

/// Why chronyd refused a request, by its status code (`STT_*` in `candm.h`).
fn status_name(status: u16) -> &'static str {
    match status {
        1 => "failed",
        2 => "not authorised: chronyd takes this only from a client its `cmdallow` lets in",
        3 => "invalid request",
        6 => "not enabled",
        18 => "a protocol version this chronyd does not speak",
        19 => "a request of the wrong length",
        _ => "an unknown status",
    }
}

/// The tracking report in `reply` to the request numbered `sequence`. `Ok(None)`: a reply to another request (a
/// late one), which the caller skips.
pub(super) fn read_reply(reply: &[u8], sequence: u32) -> Result<Option<Tracking>, String> {
    let head = reply.get(..REPLY_HEAD).ok_or_else(|| {
        format!(
            "a reply of {} bytes, shorter than chrony's head",
            reply.len()
        )
    })?;
    let half = |at: usize| u16::from_be_bytes([head[at], head[at + 1]]);
    if head[0] != PROTOCOL_VERSION || head[1] != REPLY {
        return Err(format!(
            "not a chrony protocol {PROTOCOL_VERSION} reply (version {}, packet type {})",
            head[0], head[1]
        ));
    }
    if u32::from_be_bytes([head[16], head[17], head[18], head[19]]) != sequence {
        return Ok(None);
    }
    let status = half(8);
    if status != 0 {
        return Err(format!(
            "chronyd refused the tracking request: {} (status {status})",
            status_name(status)
        ));
    }
    if half(4) != REQUEST_TRACKING || half(6) != REPLY_TRACKING {
        return Err(format!(
            "a reply of type {} to command {}, not a tracking report",
            half(6),
            half(4)
        ));
    }
    let report = reply
        .get(REPLY_HEAD..REPLY_HEAD + TRACKING_REPORT)
        .ok_or_else(|| {
            format!(
                "a tracking reply of {} bytes, {} expected",
                reply.len(),
                REPLY_HEAD + TRACKING_REPORT
            )
        })?;
    // After the reference id (4 bytes) and the source's address (20): stratum, leap status and the reference
    // time (12); then the floats.
    let half = |at: usize| u16::from_be_bytes([report[at], report[at + 1]]);
    let float = |index: usize| {
        let at = 40 + 4 * index;
        chrony_float(u32::from_be_bytes([
            report[at],
            report[at + 1],
            report[at + 2],
            report[at + 3],
        ]))
    };
    let leap = match half(26) {
        0 => Leap::Normal,
        1 => Leap::InsertSecond,
        2 => Leap::DeleteSecond,
        _ => Leap::Unsynchronised,
    };
    Ok(Some(Tracking {
        stratum: half(24),
        leap,
        current_correction: float(0),
        last_offset: float(1),
        rms_offset: float(2),
        frequency_ppm: float(3),
        // float(4) is the residual frequency, which otelcol does not report.
        skew_ppm: float(5),
        root_delay: float(6),
    }))
}

/// A request number no earlier request of this process used, so a late reply to one is told from ours.
fn next_sequence() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let started = crate::clock::now_nanos() as u32;
    started ^ NEXT.fetch_add(1, Ordering::Relaxed).rotate_left(16)
}

/// Asks chronyd at `endpoint` for its tracking report once. The caller bounds the wait.
pub(super) async fn ask(endpoint: &Endpoint) -> Result<Tracking, String> {
    let sequence = next_sequence();
    match endpoint {
        Endpoint::Udp(address) => {
            let socket = tokio::net::UdpSocket::bind(if address.starts_with('[') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            })
            .await
            .map_err(|e| format!("binding a UDP socket: {e}"))?;
            socket
                .connect(address.as_str())
                .await
                .map_err(|e| format!("resolving {address}: {e}"))?;
            socket
                .send(&request(sequence))
                .await
                .map_err(|e| format!("sending: {}", io_problem(&e)))?;
            let mut reply = [0u8; 512];
            loop {
                let length = socket
                    .recv(&mut reply)
                    .await
                    .map_err(|e| format!("receiving: {}", io_problem(&e)))?;
                if let Some(tracking) = read_reply(&reply[..length], sequence)? {
                    return Ok(tracking);
                }
            }
        }
        Endpoint::Unix(server) => {
            if !server.exists() {
                return Err(format!(
                    "{} does not exist: chronyd is not running, or its `bindcmdaddress` names another socket",
                    server.display()
                ));
            }
            let client = ReplySocket::bind(server, sequence)?;
            client
                .socket
                .send_to(&request(sequence), server)
                .await
                .map_err(|e| format!("sending to {}: {}", server.display(), io_problem(&e)))?;
            let mut reply = [0u8; 512];
            loop {
                let length = client
                    .socket
                    .recv(&mut reply)
                    .await
                    .map_err(|e| format!("receiving: {}", io_problem(&e)))?;
                if let Some(tracking) = read_reply(&reply[..length], sequence)? {
                    return Ok(tracking);
                }
            }
        }
    }
}

/// `error`, and what a refused connection means here.
fn io_problem(error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::ConnectionRefused {
        format!("{error} (chronyd is not running, or takes no commands there)")
    } else {
        error.to_string()
    }
}

/// The socket chronyd replies to over its unix socket: a datagram socket needs a path of its own to be answered.
/// It is made beside chronyd's socket, as `chronyc` makes its own: chronyd, running as its own user and often with
/// a private `/tmp`, can reach that directory. Removed when dropped.
struct ReplySocket {
    socket: tokio::net::UnixDatagram,
    path: std::path::PathBuf,
}

impl ReplySocket {
    fn bind(server: &Path, sequence: u32) -> Result<ReplySocket, String> {
        let directory = server.parent().unwrap_or(Path::new("/"));
        let path = directory.join(format!(
            "otlp-suite.{}.{sequence:08x}.sock",
            std::process::id()
        ));
        let socket = tokio::net::UnixDatagram::bind(&path).map_err(|e| {
            format!(
                "binding a socket for chronyd's reply at {}: {e} (chronyd answers a unix socket's client there; \
                 a collector that may not write in {} can ask over `udp://127.0.0.1:323`)",
                path.display(),
                directory.display()
            )
        })?;
        let reply = ReplySocket { socket, path };
        // chronyd runs as its own user (`_chrony`, `chrony`): it needs write permission to answer.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&reply.path, std::fs::Permissions::from_mode(0o666))
            .map_err(|e| format!("opening {} to chronyd: {e}", reply.path.display()))?;
        Ok(reply)
    }
}

impl Drop for ReplySocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// chrony's `UTI_FloatHostToNetwork` (for values in its range), to build replies with.
    fn to_chrony_float(value: f64) -> u32 {
        const COEFFICIENT_MAX: i64 = (1 << 24) - 1;
        if value.abs() < 1e-100 {
            return 0;
        }
        let negative = i64::from(value < 0.0);
        let mut exponent = (value.abs().ln() / 2f64.ln()) as i32 + 1;
        let mut coefficient = (value.abs() * 2f64.powi(25 - exponent) + 0.5) as i64;
        while coefficient > COEFFICIENT_MAX + negative {
            coefficient >>= 1;
            exponent += 1;
        }
        if negative == 1 {
            coefficient = -coefficient;
        }
        ((exponent as u32 & 0x7f) << 25) | (coefficient as u32 & 0x1ff_ffff)
    }

    fn reply(sequence: u32, status: u16, stratum: u16, leap: u16, floats: [f64; 9]) -> Vec<u8> {
        let mut packet = vec![0u8; TRACKING_REQUEST];
        packet[0] = PROTOCOL_VERSION;
        packet[1] = REPLY;
        packet[4..6].copy_from_slice(&REQUEST_TRACKING.to_be_bytes());
        packet[6..8].copy_from_slice(&REPLY_TRACKING.to_be_bytes());
        packet[8..10].copy_from_slice(&status.to_be_bytes());
        packet[16..20].copy_from_slice(&sequence.to_be_bytes());
        packet[REPLY_HEAD + 24..REPLY_HEAD + 26].copy_from_slice(&stratum.to_be_bytes());
        packet[REPLY_HEAD + 26..REPLY_HEAD + 28].copy_from_slice(&leap.to_be_bytes());
        for (index, value) in floats.into_iter().enumerate() {
            let at = REPLY_HEAD + 40 + 4 * index;
            packet[at..at + 4].copy_from_slice(&to_chrony_float(value).to_be_bytes());
        }
        packet
    }

    #[test]
    fn chrony_floats_carry_sign_exponent_and_25_bits() {
        assert_eq!(chrony_float(0), 0.0);
        // Coefficient 1, exponent 0: 2^-25.
        assert_eq!(chrony_float(1), 2f64.powi(-25));
        // Coefficient −1 (all 25 bits set), exponent 25: −1.
        assert_eq!(chrony_float((25 << 25) | 0x1ff_ffff), -1.0);
        // Exponent −1 (0x7f) and coefficient 2^23: 2^23 × 2^-26 = 1/8.
        assert_eq!(chrony_float((0x7f << 25) | (1 << 23)), 0.125);
        for value in [
            -12.327,
            11.567,
            1.181,
            0.000_023_927,
            5.324e-6,
            -3.5e-9,
            1500.25,
        ] {
            let decoded = chrony_float(to_chrony_float(value));
            assert!(
                ((decoded - value) / value).abs() < 1e-7,
                "{value} came back as {decoded}"
            );
        }
    }

    #[test]
    fn a_tracking_reply_is_read_field_by_field() {
        let floats = [
            4.6e-5, 2.4e-5, 2.5e-5, -12.327, 11.567, 1.181, 5.3e-6, 5.6e-5, 2.0,
        ];
        let tracking = read_reply(&reply(7, 0, 11, 0, floats), 7).unwrap().unwrap();
        assert_eq!(tracking.stratum, 11);
        assert_eq!(tracking.leap, Leap::Normal);
        let close = |a: f64, b: f64| ((a - b) / b).abs() < 1e-7;
        assert!(close(tracking.current_correction, 4.6e-5));
        assert!(close(tracking.last_offset, 2.4e-5));
        assert!(close(tracking.rms_offset, 2.5e-5));
        assert!(close(tracking.frequency_ppm, -12.327));
        assert!(close(tracking.skew_ppm, 1.181));
        assert!(close(tracking.root_delay, 5.3e-6));
        let unsynchronised = read_reply(&reply(7, 0, 0, 3, [0.0; 9]), 7)
            .unwrap()
            .unwrap();
        assert_eq!(unsynchronised.leap.as_str(), "unsynchronised");
    }

    #[test]
    fn refusals_and_strangers_are_told_apart() {
        assert_eq!(read_reply(&reply(8, 0, 11, 0, [0.0; 9]), 7), Ok(None));
        let refused = read_reply(&reply(7, 2, 0, 0, [0.0; 9]), 7).unwrap_err();
        assert!(
            refused.contains("not authorised") && refused.contains("status 2"),
            "{refused}"
        );
        assert!(read_reply(&[6, 2, 0], 7).unwrap_err().contains("3 bytes"));
        let mut ntp = reply(7, 0, 11, 0, [0.0; 9]);
        ntp[0] = 0x23;
        assert!(
            read_reply(&ntp, 7)
                .unwrap_err()
                .contains("not a chrony protocol 6 reply")
        );
        let short = &reply(7, 0, 11, 0, [0.0; 9])[..60];
        assert!(
            read_reply(short, 7)
                .unwrap_err()
                .contains("60 bytes, 104 expected")
        );
    }

    #[test]
    fn a_request_is_as_long_as_its_reply() {
        let packet = request(0x0102_0304);
        assert_eq!(packet.len(), 108);
        assert_eq!(&packet[..12], &[6, 1, 0, 0, 0, 33, 0, 0, 1, 2, 3, 4]);
        assert!(packet[12..].iter().all(|&byte| byte == 0));
    }
}
