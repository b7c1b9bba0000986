//! The hasher of the tail sampler's maps keyed by trace IDs and by resource and scope header bytes.
//!
//! Every span costs a lookup or two in them (its trace's piece of a request, its trace's entry), and every header
//! its bytes hashed whole. With std's SipHash-1-3 the hashing alone was 3% of the collector's CPU in the
//! tail-sampling config under `loadgen --max`. foldhash, hashbrown's default, hashes a 16-byte ID in a few
//! multiplies: the same config, three alternating runs each, went from 2.74–2.78 to 2.68–2.69 CPU-seconds per
//! million spans. Each map draws its own random seed, so keys chosen in advance do not collide in it; unlike
//! SipHash, foldhash does not claim to hold against an attacker who measures the collector's timing to learn
//! the seed, the cost of its speed (foldhash's README, "HashDoS resistance"). The policies' sets of configured
//! values use it too: received strings are only looked up in them, never inserted, so no input can crowd them.

use std::collections::{HashMap, HashSet};

/// A map with a per-map seeded foldhash.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A set with a per-map seeded foldhash.
pub(crate) type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;
