//! Requests between two services, put together from the span each side wrote: a client (or producer) span
//! waits under its own id for the server (or consumer) span whose parent it is, and the other way round, until
//! both are in or the wait (`store.ttl`) is over.

use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A service's name, shared by every edge and series it is a side of.
pub(super) type Name = Arc<str>;

/// A request's key: the trace, and the client span's id (the server span's parent).
pub(super) type EdgeKey = ([u8; 16], [u8; 8]);

/// How the two services talked, as otelcol writes it in `connection_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(super) enum Connection {
    #[default]
    Direct,
    MessagingSystem,
    Database,
    VirtualNode,
}

impl Connection {
    pub(super) fn name(self) -> &'static str {
        match self {
            Connection::Direct => "",
            Connection::MessagingSystem => "messaging_system",
            Connection::Database => "database",
            Connection::VirtualNode => "virtual_node",
        }
    }
}

/// Which side of an edge no span was seen for, named after a stand-in (`virtual_node_extra_label`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Virtual {
    Client,
    Server,
}

impl Virtual {
    pub(super) fn name(self) -> &'static str {
        match self {
            Virtual::Client => "client",
            Virtual::Server => "server",
        }
    }
}

/// One request, as far as its spans have told.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Edge {
    pub(super) connection: Connection,
    /// `None` until the client side is known.
    pub(super) client: Option<Name>,
    /// `None` until the server side is known.
    pub(super) server: Option<Name>,
    pub(super) client_seconds: f64,
    pub(super) server_seconds: f64,
    /// Either side's span had an error status.
    pub(super) failed: bool,
    /// The configured dimensions' values from the client side, then from the server side, in the settings'
    /// order.
    pub(super) client_dimensions: Vec<Option<String>>,
    pub(super) server_dimensions: Vec<Option<String>>,
    /// The first peer attribute the client span had, naming a server that sent no span.
    pub(super) peer: Option<Name>,
    pub(super) virtual_side: Option<Virtual>,
    /// The server span had no parent: a request from outside the traced services.
    pub(super) from_outside: bool,
}

impl Edge {
    fn is_complete(&self) -> bool {
        self.client.is_some() && self.server.is_some()
    }
}

/// What became of a span offered to the store.
#[derive(Debug, PartialEq)]
pub(super) enum Upsert {
    /// Both sides are in: the request, out of the store.
    Complete(Edge),
    /// Waiting for the other side.
    Waiting,
    /// A new request with no room left: the span is not paired.
    Full,
}

/// The requests waiting for their other side, each with its deadline.
///
/// Expiring scans them all: a few milliseconds for a million every `store_expiration_loop`, against keeping a
/// queue of deadlines in arrival order, which holds one entry per request for as long as its `ttl` whether or not
/// the request completed (about as much memory again as the requests under `loadgen --max`).
#[derive(Debug)]
pub(super) struct EdgeStore {
    waiting: HashMap<EdgeKey, (Edge, Instant), RandomState>,
    max_items: usize,
    ttl: Duration,
}

impl EdgeStore {
    pub(super) fn new(max_items: usize, ttl: Duration) -> Self {
        EdgeStore {
            waiting: HashMap::default(),
            max_items,
            ttl,
        }
    }

    /// Applies one side's span to the request under `key`, waiting or new.
    pub(super) fn upsert(
        &mut self,
        key: EdgeKey,
        now: Instant,
        update: impl FnOnce(&mut Edge),
    ) -> Upsert {
        let full = self.waiting.len() >= self.max_items;
        match self.waiting.entry(key) {
            Entry::Occupied(mut waiting) => {
                update(&mut waiting.get_mut().0);
                if waiting.get().0.is_complete() {
                    Upsert::Complete(waiting.remove().0)
                } else {
                    Upsert::Waiting
                }
            }
            Entry::Vacant(vacant) => {
                let mut edge = Edge::default();
                update(&mut edge);
                if edge.is_complete() {
                    Upsert::Complete(edge)
                } else if full {
                    Upsert::Full
                } else {
                    vacant.insert((edge, now + self.ttl));
                    Upsert::Waiting
                }
            }
        }
    }

    /// Takes out the requests whose wait is over at `now`, in the order of their keys: the map's order is its
    /// random seed's, and the same spans must add up to the same latency sums (floating point) however stored.
    pub(super) fn expire(&mut self, now: Instant) -> impl Iterator<Item = Edge> + use<> {
        let mut expired: Vec<(EdgeKey, Edge)> = self
            .waiting
            .extract_if(|_, (_, deadline)| *deadline <= now)
            .map(|(key, (edge, _))| (key, edge))
            .collect();
        expired.sort_unstable_by_key(|(key, _)| *key);
        expired.into_iter().map(|(_, edge)| edge)
    }

    /// Requests waiting now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> EdgeKey {
        ([n; 16], [n; 8])
    }

    fn client(name: &str) -> impl FnOnce(&mut Edge) {
        move |edge| edge.client = Some(name.into())
    }

    fn server(name: &str) -> impl FnOnce(&mut Edge) {
        move |edge| edge.server = Some(name.into())
    }

    #[test]
    fn the_two_sides_of_a_request_complete_it_in_either_order() {
        let now = Instant::now();
        let mut store = EdgeStore::new(10, Duration::from_secs(2));
        assert_eq!(store.upsert(key(1), now, client("web")), Upsert::Waiting);
        assert_eq!(store.upsert(key(2), now, server("db")), Upsert::Waiting);
        let Upsert::Complete(first) = store.upsert(key(1), now, server("api")) else {
            panic!("not complete")
        };
        let Upsert::Complete(second) = store.upsert(key(2), now, client("api")) else {
            panic!("not complete")
        };
        let names = |edge: &Edge| (edge.client.clone(), edge.server.clone());
        assert_eq!(
            [names(&first), names(&second)],
            [
                (Some("web".into()), Some("api".into())),
                (Some("api".into()), Some("db".into()))
            ]
        );
        assert_eq!(store.len(), 0);
        assert_eq!(store.expire(now + Duration::from_secs(3)).count(), 0);
    }

    #[test]
    fn a_side_that_waited_its_ttl_expires_and_a_later_request_under_its_key_does_not_expire_with_it()
     {
        let start = Instant::now();
        let mut store = EdgeStore::new(10, Duration::from_secs(2));
        store.upsert(key(1), start, client("web"));
        assert!(matches!(
            store.upsert(key(1), start, server("api")),
            Upsert::Complete(_)
        ));
        // The same key again (a retried span): a new request with a deadline of its own.
        let later = start + Duration::from_secs(1);
        store.upsert(key(1), later, client("web"));
        store.upsert(key(3), later, server("api"));
        assert_eq!(store.expire(start + Duration::from_secs(2)).count(), 0);
        let expired: Vec<Edge> = store.expire(later + Duration::from_secs(2)).collect();
        let mut names: Vec<(Option<&str>, Option<&str>)> = expired
            .iter()
            .map(|edge| (edge.client.as_deref(), edge.server.as_deref()))
            .collect();
        names.sort();
        assert_eq!(names, [(None, Some("api")), (Some("web"), None)]);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn a_full_store_refuses_new_requests_and_still_completes_waiting_ones() {
        let now = Instant::now();
        let mut store = EdgeStore::new(1, Duration::from_secs(2));
        assert_eq!(store.upsert(key(1), now, client("web")), Upsert::Waiting);
        assert_eq!(store.upsert(key(2), now, client("web")), Upsert::Full);
        // A span that completes a request on its own (a database call) needs no room.
        let database = |edge: &mut Edge| {
            edge.client = Some("web".into());
            edge.server = Some("orders".into());
        };
        assert!(matches!(
            store.upsert(key(2), now, database),
            Upsert::Complete(_)
        ));
        assert!(matches!(
            store.upsert(key(1), now, server("api")),
            Upsert::Complete(_)
        ));
    }
}
