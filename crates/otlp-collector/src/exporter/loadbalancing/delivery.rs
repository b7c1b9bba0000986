//! One batch's way to the backends: route every item against the membership of now, send one request per backend
//! concurrently, and keep only what failed for the next attempt, routed again then.
//!
//! What makes it lose and duplicate nothing:
//! - a part is taken out of the batch's pending list only when its backend answered; until then a guard owns it and
//!   puts it back if the attempt fails or is cut short, so no cancellation drops data;
//! - a delivered part is never sent again (otelcol #50437, #47600): the next attempt sees only the parts still
//!   pending;
//! - what the attempts settled is reported to the exporter helper ([`Settled`]), which counts delivered items as
//!   sent and only the rest as failed if it gives up (otelcol #45015).

use super::backends::Backends;
use super::config::RoutingKey;
use super::encoded::EncodedSpans;
use super::routing::Keys;
use super::split::split;
use crate::Batch;
use crate::exporter::{Delivered, ExportError, Settled};
use crate::telemetry::Counter;
use otlp_lb::policy::ConsistentHash;
use otlp_lb::{Endpoint, EndpointId, Key, KeyRouter};
use otlp_model::Signal;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Items sent again after an attempt at them failed, and those of them that went to another backend than the one
/// that failed, by signal.
pub(super) struct RetryCounters {
    pub(super) retried: [Counter; 3],
    pub(super) rerouted: [Counter; 3],
}

/// Items on their way to a backend, and the backend an earlier attempt sent them to, if any.
struct Part {
    batch: Batch,
    failed_on: Option<EndpointId>,
}

impl Part {
    fn items(&self) -> usize {
        self.batch.item_count()
    }
}

#[derive(Default)]
struct State {
    /// Whether the batch has been split into parts yet (the first attempt does it).
    started: bool,
    /// Parts not delivered yet.
    pending: Vec<Part>,
    settled: Settled,
    /// What the destinations said when they rejected items.
    rejections: Vec<String>,
}

/// The helper's payload: a batch and what its attempts have settled so far.
pub(super) struct Delivery {
    batch: Arc<Batch>,
    key: RoutingKey,
    state: parking_lot::Mutex<State>,
}

impl Delivery {
    pub(super) fn new(batch: Arc<Batch>, key: RoutingKey) -> Self {
        Delivery {
            batch,
            key,
            state: parking_lot::Mutex::new(State::default()),
        }
    }

    pub(super) fn settled(&self) -> Settled {
        self.state.lock().settled
    }

    /// What this attempt has to send: the whole batch the first time, the parts still pending after.
    fn take_work(&self) -> Vec<Part> {
        let mut state = self.state.lock();
        if !state.started {
            state.started = true;
            if self.batch.is_empty() {
                return Vec::new();
            }
            return vec![Part {
                batch: self.batch.share(),
                failed_on: None,
            }];
        }
        std::mem::take(&mut state.pending)
    }
}

/// A part being sent: back to the pending list when dropped unless its backend answered. Created before the first
/// await of an attempt, so that an attempt dropped by the helper's timeout loses nothing.
struct InFlight<'a> {
    delivery: &'a Delivery,
    part: Option<Part>,
}

impl InFlight<'_> {
    /// The backend answered: `sent` items were taken, `rejected` refused for good.
    fn settle(&mut self, sent: usize, rejected: usize, message: Option<String>) {
        self.part = None;
        let mut state = self.delivery.state.lock();
        state.settled.sent += sent;
        state.settled.rejected += rejected;
        if let Some(message) = message.filter(|m| !m.is_empty()) {
            state.rejections.push(message);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(part) = self.part.take() {
            self.delivery.state.lock().pending.push(part);
        }
    }
}

/// What goes to one backend in this attempt: the merged parts, and how many of their items are sent again after
/// a failed attempt (and of those, how many failed on another backend), counted once the request is made.
struct Group<'d> {
    endpoint: Endpoint,
    guard: InFlight<'d>,
    retried: usize,
    rerouted: usize,
}

/// How one part's request went, for the attempt's verdict.
enum Outcome {
    Settled,
    Failed {
        message: String,
        retry_after: Option<Duration>,
    },
}

/// What an attempt needs of the exporter.
pub(super) struct Sender<'a> {
    pub(super) backends: &'a Backends,
    pub(super) keys: &'a Keys,
    pub(super) request_timeout: Duration,
    pub(super) counters: &'a RetryCounters,
}

impl Sender<'_> {
    /// One attempt at what is left of `delivery`: `Ok` once every item is settled, a retryable error naming what
    /// is left otherwise.
    pub(super) async fn attempt(&self, delivery: &Delivery) -> Result<Delivered, ExportError> {
        let signal = delivery.batch.signal();
        let (groups, unrouted) = self.route(delivery);
        let sends = groups.into_iter().map(|group| self.send(signal, group));
        let outcomes = futures::future::join_all(sends).await;

        let state = delivery.state.lock();
        let left: usize = state.pending.iter().map(Part::items).sum();
        if left == 0 {
            return Ok(Delivered {
                rejected: state.settled.rejected,
                message: state.rejections.join("; "),
            });
        }
        let mut retry_after: Option<Duration> = None;
        let mut messages: Vec<String> = Vec::new();
        if unrouted > 0 {
            messages.push("no backend to send to: the resolver has found none yet".into());
        }
        for outcome in outcomes {
            if let Outcome::Failed {
                message,
                retry_after: hint,
            } = outcome
            {
                messages.push(message);
                retry_after = retry_after.max(hint);
            }
        }
        Err(ExportError::Retryable {
            message: format!(
                "{left} of {} {} not delivered yet: {}",
                delivery.batch.item_count(),
                signal.item_unit().replace('_', " "),
                messages.join("; ")
            ),
            retry_after,
        })
    }

    /// Splits the work of this attempt by the backend each item goes to now, merging the parts bound for one
    /// backend; returns them in guards, and how many items could not be routed (no backend at all: they stay
    /// pending).
    fn route<'d>(&self, delivery: &'d Delivery) -> (Vec<Group<'d>>, usize) {
        let router = self.backends.balancer.router();
        let mut groups: Vec<Group<'d>> = Vec::new();
        let mut group_of: HashMap<EndpointId, usize> = HashMap::new();
        let mut unrouted = 0;
        for part in delivery.take_work() {
            let Part { batch, failed_on } = part;
            let pieces = match self.divide(&router, batch, delivery.key) {
                Ok(pieces) => pieces,
                Err(batch) => {
                    unrouted += batch.item_count();
                    delivery
                        .state
                        .lock()
                        .pending
                        .push(Part { batch, failed_on });
                    continue;
                }
            };
            for (endpoint, piece) in pieces {
                let items = piece.item_count();
                let retried = if failed_on.is_some() { items } else { 0 };
                let rerouted = match &failed_on {
                    Some(failed_on) if failed_on != endpoint.id() => items,
                    _ => 0,
                };
                let piece = Part {
                    batch: piece,
                    failed_on: failed_on.clone(),
                };
                match group_of.get(endpoint.id()) {
                    Some(&index) => {
                        let group = &mut groups[index];
                        merge(&mut group.guard, piece);
                        group.retried += retried;
                        group.rerouted += rerouted;
                    }
                    None => {
                        group_of.insert(endpoint.id().clone(), groups.len());
                        groups.push(Group {
                            endpoint,
                            guard: InFlight {
                                delivery,
                                part: Some(piece),
                            },
                            retried,
                            rerouted,
                        });
                    }
                }
            }
        }
        (groups, unrouted)
    }

    /// Splits `batch` by the backend each of its items goes to now, one piece per backend; the batch back when
    /// no backend can take it. Traces routed by trace id are split in their bytes while they are as received
    /// ([`EncodedSpans`]); anything else is decoded and split item by item.
    fn divide(
        &self,
        router: &KeyRouter<ConsistentHash>,
        batch: Batch,
        key: RoutingKey,
    ) -> Result<Vec<(Endpoint, Batch)>, Batch> {
        let encoded = match key {
            RoutingKey::TraceId => EncodedSpans::parse(&batch),
            _ => None,
        };
        let mut hashes = Vec::with_capacity(batch.item_count());
        match &encoded {
            Some(spans) => spans.trace_id_hashes(&mut hashes),
            None => self.keys.hashes(batch.request(), key, &mut hashes),
        }
        let ordinals: Vec<u32> = (0..batch.item_count() as u32).collect();
        let routed = router.partition_routed(ordinals, |&i| {
            Key::Hash(hashes.get(i as usize).copied().unwrap_or_default())
        });
        let routed = match routed {
            Ok(routed) if !routed.is_empty() => routed,
            _ => {
                drop(encoded);
                return Err(batch);
            }
        };
        if let [only] = routed.as_slice() {
            let endpoint = only.endpoint.clone();
            drop(encoded);
            return Ok(vec![(endpoint, batch)]);
        }
        let mut assign = vec![0_u32; batch.item_count()];
        for (index, destination) in routed.iter().enumerate() {
            for &item in &destination.items {
                if let Some(slot) = assign.get_mut(item as usize) {
                    *slot = index as u32;
                }
            }
        }
        let client = batch.shared_client();
        let pieces = match encoded.map(|spans| spans.split(&assign, routed.len())) {
            Some(Ok(pieces)) => pieces,
            _ => split(batch.into_request(), &assign, routed.len())
                .into_iter()
                .map(Batch::from)
                .collect(),
        };
        let pieces = pieces
            .into_iter()
            .map(|piece| piece.with_client(client.clone()));
        Ok(routed
            .into_iter()
            .map(|destination| destination.endpoint)
            .zip(pieces)
            .collect())
    }

    /// Sends one backend its part.
    async fn send(&self, signal: Signal, group: Group<'_>) -> Outcome {
        let Group {
            endpoint,
            mut guard,
            retried,
            rerouted,
        } = group;
        let failed = |message: String| Outcome::Failed {
            message,
            retry_after: None,
        };
        let backend = match self.backends.backend(&endpoint) {
            Ok(backend) => backend,
            Err(message) => return failed(message),
        };
        let Ok(pick) = self.backends.balancer.pick_endpoint(endpoint.id().as_str()) else {
            // It left the membership since this attempt routed: the next attempt routes its items elsewhere.
            return failed(format!("backend {endpoint} left"));
        };
        let Some(part) = guard.part.as_mut() else {
            return Outcome::Settled;
        };
        // From here the request may reach the backend: if it fails or is cut short, the items count as retried
        // when they are sent again.
        part.failed_on = Some(endpoint.id().clone());
        let items = part.items();
        let body = part.batch.protobuf_parts();
        let client = part.batch.shared_client();
        self.counters.retried[signal.index()].add(retried as u64);
        self.counters.rerouted[signal.index()].add(rerouted as u64);
        let started = Instant::now();
        let answer = tokio::time::timeout(
            self.request_timeout,
            backend.send(signal, body, client.as_deref()),
        )
        .await;
        backend
            .latency
            .record(started.elapsed().as_secs_f64() * 1000.0);
        let answer = answer.unwrap_or_else(|_| {
            Err(ExportError::retryable(format!(
                "no answer within {:?}",
                self.request_timeout
            )))
        });
        match answer {
            Ok(delivered) => {
                pick.success();
                backend.succeeded.add(1);
                let rejected = delivered.rejected.min(items);
                backend.sent[signal.index()].add((items - rejected) as u64);
                guard.settle(items - rejected, rejected, Some(delivered.message));
                Outcome::Settled
            }
            Err(ExportError::Permanent { message } | ExportError::TooLarge { message }) => {
                pick.failure();
                backend.failed.add(1);
                tracing::warn!(backend = %endpoint, items, %message,
                    "a backend refused its part of a batch for good");
                guard.settle(0, items, Some(format!("backend {endpoint}: {message}")));
                Outcome::Settled
            }
            Err(ExportError::Retryable {
                message,
                retry_after,
            }) => {
                backend.failed.add(1);
                if retry_after.is_some() {
                    // A backend asking to slow down is busy, not failing: its keys stay with it (dropping the
                    // pick only ends its in-flight count).
                    drop(pick);
                } else {
                    pick.failure();
                }
                tracing::debug!(backend = %endpoint, items, %message, "sending a part failed; it is retried");
                Outcome::Failed {
                    message: format!("backend {endpoint}: {message}"),
                    retry_after,
                }
            }
        }
    }
}

/// Adds `piece` to the part a guard holds (both bound for the same backend).
fn merge(guard: &mut InFlight<'_>, piece: Part) {
    let Some(part) = guard.part.as_mut() else {
        guard.part = Some(piece);
        return;
    };
    match part.batch.append(piece.batch) {
        Ok(()) => {
            // Counting too many items as retried is safe (it bounds duplicates); too few is not.
            if part.failed_on.is_none() {
                part.failed_on = piece.failed_on;
            }
        }
        // Parts of one batch share its signal, so this does not happen; if it did, the piece would wait for the
        // next attempt rather than be lost.
        Err(batch) => guard.delivery.state.lock().pending.push(Part {
            batch,
            failed_on: piece.failed_on,
        }),
    }
}
