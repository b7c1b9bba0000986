//! One NTP client exchange (RFC 5905, mode 3): the request, and the clock offset of the server's answer.

use std::time::Duration;

/// Seconds from the NTP era's start (1900) to the Unix epoch.
const UNIX_FROM_NTP: u64 = 2_208_988_800;

/// Now, as NTP's 64-bit timestamp: seconds since 1900 in the high half, the fraction in the low.
fn ntp_now() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ntp_timestamp(since_epoch)
}

/// `since_epoch` (since 1970) as NTP's timestamp, in the era its seconds wrap into.
fn ntp_timestamp(since_epoch: Duration) -> u64 {
    let seconds = since_epoch.as_secs().wrapping_add(UNIX_FROM_NTP);
    let fraction = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

/// The request of protocol `version` (3 or 4), sent at `sent` (NTP time), which the server echoes as the
/// answer's origin.
pub(super) fn request(version: u8, sent: u64) -> [u8; 48] {
    let mut packet = [0u8; 48];
    packet[0] = (version << 3) | 3;
    packet[40..48].copy_from_slice(&sent.to_be_bytes());
    packet
}

/// The server's clock less ours, in nanoseconds, of `answer` to the request sent at `sent` and received at
/// `received` (NTP times): ((T2 − T1) + (T3 − T4)) / 2. Differences are taken modulo 2^64, so an era boundary
/// (2036) between the clocks changes nothing.
pub(super) fn offset(answer: &[u8], sent: u64, received: u64) -> Result<i64, String> {
    let answer: &[u8; 48] = answer
        .get(..48)
        .and_then(|head| head.try_into().ok())
        .ok_or_else(|| format!("an answer of {} bytes, not an NTP packet", answer.len()))?;
    let word = |at: usize| u64::from_be_bytes(answer[at..at + 8].try_into().unwrap_or_default());
    let (leap, mode, stratum) = (answer[0] >> 6, answer[0] & 7, answer[1]);
    if mode != 4 {
        return Err(format!("an answer of mode {mode}, not a server's (4)"));
    }
    if stratum == 0 {
        let code = String::from_utf8_lossy(&answer[12..16]).into_owned();
        return Err(format!(
            "the server sent a kiss-o'-death ({code}): it asks to be asked less"
        ));
    }
    if leap == 3 {
        return Err("the server's clock is not synchronized (leap indicator 3)".to_owned());
    }
    let (origin, receive, transmit) = (word(24), word(32), word(40));
    if origin != sent {
        return Err("the answer is not to this request (its origin time differs)".to_owned());
    }
    let difference = |later: u64, earlier: u64| i128::from(later.wrapping_sub(earlier) as i64);
    let units = (difference(receive, sent) + difference(transmit, received)) / 2;
    // 2^-32 s units to nanoseconds.
    i64::try_from((units * 1_000_000_000) >> 32)
        .map_err(|_| "an offset beyond 292 years".to_owned())
}

/// Asks `endpoint` (`host:port`) once with protocol `version`: the server's clock less ours, in nanoseconds.
pub(super) async fn ask(endpoint: &str, version: u8) -> Result<i64, String> {
    let socket = tokio::net::UdpSocket::bind(if endpoint.starts_with('[') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    })
    .await
    .map_err(|e| format!("binding a UDP socket: {e}"))?;
    socket
        .connect(endpoint)
        .await
        .map_err(|e| format!("resolving {endpoint}: {e}"))?;
    let sent = ntp_now();
    socket
        .send(&request(version, sent))
        .await
        .map_err(|e| format!("sending: {e}"))?;
    let mut answer = [0u8; 128];
    loop {
        let length = socket
            .recv(&mut answer)
            .await
            .map_err(|e| format!("receiving: {e}"))?;
        let received = ntp_now();
        match offset(&answer[..length], sent, received) {
            // A stray or late datagram of another exchange: wait for ours (the caller's timeout bounds this).
            Err(e) if e.contains("origin time differs") => continue,
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(leap: u8, stratum: u8, origin: u64, receive: u64, transmit: u64) -> [u8; 48] {
        let mut packet = [0u8; 48];
        packet[0] = (leap << 6) | (4 << 3) | 4;
        packet[1] = stratum;
        packet[12..16].copy_from_slice(b"RATE");
        packet[24..32].copy_from_slice(&origin.to_be_bytes());
        packet[32..40].copy_from_slice(&receive.to_be_bytes());
        packet[40..48].copy_from_slice(&transmit.to_be_bytes());
        packet
    }

    const SECOND: u64 = 1 << 32;

    #[test]
    fn the_offset_is_the_mean_of_the_two_legs() {
        let t1 = 1_000 * SECOND;
        // The server is 2 s ahead; each leg takes 0.5 s: T2 = T1 + 2.5, T3 = T2, T4 = T1 + 1.
        let packet = answer(0, 2, t1, t1 + 5 * SECOND / 2, t1 + 5 * SECOND / 2);
        assert_eq!(offset(&packet, t1, t1 + SECOND), Ok(2_000_000_000));
        // Behind by 1.25 s, no delay.
        let behind = t1 - 5 * SECOND / 4;
        assert_eq!(
            offset(&answer(0, 2, t1, behind, behind), t1, t1),
            Ok(-1_250_000_000)
        );
    }

    #[test]
    fn an_era_boundary_between_the_clocks_changes_nothing() {
        let t1 = u64::MAX - SECOND / 2; // just before 2036's wrap
        let server = t1.wrapping_add(SECOND); // just after it
        assert_eq!(
            offset(&answer(0, 1, t1, server, server), t1, t1),
            Ok(1_000_000_000)
        );
    }

    #[test]
    fn answers_that_are_no_time_are_refused() {
        let t1 = 7 * SECOND;
        assert!(
            offset(&answer(0, 0, t1, t1, t1), t1, t1)
                .unwrap_err()
                .contains("kiss-o'-death (RATE)")
        );
        assert!(
            offset(&answer(3, 2, t1, t1, t1), t1, t1)
                .unwrap_err()
                .contains("not synchronized")
        );
        assert!(
            offset(&answer(0, 2, t1 + 1, t1, t1), t1, t1)
                .unwrap_err()
                .contains("not to this request")
        );
        assert!(offset(&[0u8; 12], t1, t1).unwrap_err().contains("12 bytes"));
        let mut client = answer(0, 2, t1, t1, t1);
        client[0] = (4 << 3) | 3;
        assert!(offset(&client, t1, t1).unwrap_err().contains("mode 3"));
        assert_eq!(request(4, t1)[0], 0b0010_0011);
    }

    #[test]
    fn timestamps_count_from_1900() {
        assert_eq!(ntp_timestamp(Duration::ZERO), UNIX_FROM_NTP << 32);
        assert_eq!(
            ntp_timestamp(Duration::from_millis(1500)) & 0xFFFF_FFFF,
            SECOND / 2
        );
    }
}
