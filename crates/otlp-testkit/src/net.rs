//! Loopback ports for servers whose address a test must know before they start (a backend that is down at first,
//! an etcd or collector child process given its ports on the command line).
//!
//! The usual trick, binding port 0 and dropping the listener, races: until the server binds the port, anything else
//! that binds port 0 (every other server in the same test binary, a client's source port) may be handed the same
//! number by the kernel. Ports are therefore picked *below* the kernel's ephemeral range, where it never assigns one
//! by itself, at random, so that concurrent test processes rarely try the same one, and never twice in a process.
//!
//! ```
//! let port = otlp_testkit::net::free_port()?;
//! let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
//! assert_eq!(listener.local_addr()?.port(), port);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

/// Where Linux hands out ports by itself unless `/proc` says otherwise.
const DEFAULT_EPHEMERAL: Range<u16> = 32768..61000;
/// Ports below this are often taken by well-known services.
const LOWEST: u16 = 10_000;
const ATTEMPTS: usize = 256;

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A loopback TCP port that is free now and that the kernel will not give to a port-0 bind before the caller binds
/// it. Falls back to a port-0 pick when the ephemeral range leaves no room outside it.
pub fn free_port() -> io::Result<u16> {
    let outside = outside(ephemeral_range());
    if outside.is_empty() {
        return ephemeral_port();
    }
    let random = RandomState::new();
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    let span = u64::from(outside.end - outside.start);
    for attempt in 0..ATTEMPTS {
        let offset = random.hash_one(attempt) % span;
        let port = outside.start + offset as u16;
        if handed_out.contains(&port) {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            handed_out.insert(port);
            return Ok(port);
        }
    }
    ephemeral_port()
}

fn ephemeral_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn ephemeral_range() -> Range<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| parse_range(&text))
        .unwrap_or(DEFAULT_EPHEMERAL)
}

fn parse_range(text: &str) -> Option<Range<u16>> {
    let mut bounds = text.split_whitespace().map(str::parse::<u16>);
    let low = bounds.next()?.ok()?;
    let high = bounds.next()?.ok()?;
    Some(low..high.saturating_add(1))
}

/// The larger stretch of non-privileged ports the kernel does not assign by itself.
fn outside(ephemeral: Range<u16>) -> Range<u16> {
    let below = LOWEST..ephemeral.start.max(LOWEST);
    let above = ephemeral.end.max(LOWEST)..u16::MAX;
    if below.len() >= above.len() {
        below
    } else {
        above
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_outside_the_ephemeral_range_and_are_never_repeated() {
        let ephemeral = ephemeral_range();
        let ports: Vec<u16> = (0..64).map(|_| free_port().unwrap()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
        assert!(
            ports.iter().all(|port| !ephemeral.contains(port)),
            "{ports:?}"
        );
    }

    #[test]
    fn the_room_outside_is_the_larger_side() {
        assert_eq!(parse_range("32768\t60999\n"), Some(32768..61000));
        assert_eq!(outside(32768..61000), 10_000..32768);
        assert_eq!(outside(1024..20000), 20000..u16::MAX);
        assert!(outside(1024..u16::MAX).is_empty());
    }
}
