//! ```
//! use std::time::{Duration, Instant};
//! use otlp_control::protect::{
//!     DegradationController, DegradationLevel, DegradationThresholds, should_keep,
//! };
//!
//! let mut controller = DegradationController::new(DegradationThresholds::default())?;
//! let start = Instant::now();
//! // Pressure 1.0 means a load limit is reached: shed everything but errors.
//! controller.observe(1.0, start);
//! let level = controller.level();
//! assert_eq!(level, DegradationLevel::Emergency);
//! assert!(should_keep(level, true, 0)); // an error span is always kept
//! assert!(!should_keep(level, false, (1 << 56) - 1)); // anything else is not
//!
//! // The load falls, but the level only steps down after the dwell time, one level at a time.
//! controller.observe(0.2, start + Duration::from_secs(1));
//! assert_eq!(controller.level(), DegradationLevel::Emergency);
//! controller.observe(0.2, start + Duration::from_secs(6));
//! assert_eq!(controller.level(), DegradationLevel::Heavy);
//! assert_eq!(controller.keep_probability(), 0.01);
//! # Ok::<(), otlp_control::Error>(())
//! ```
//!
//! Fleet control for OpenTelemetry collectors, and the local protection each collector applies
//! to itself.
//!
//! * [`protect`] (always built, no etcd needed): a [`LoadMonitor`](protect::LoadMonitor) (CPU
//!   and memory via sysinfo, plus queue depth, export latency and errors fed by the pipeline,
//!   and a Little's-law queue-wait estimate); a five-level
//!   [`DegradationController`](protect::DegradationController) with hysteresis — Normal (keep
//!   100%), Light (50%), Moderate (10%), Heavy (1%), Emergency (errors only) — whose
//!   [`should_keep`](protect::should_keep) raises the OpenTelemetry consistent-sampling
//!   threshold, so traces are kept or dropped whole across collectors and error spans are never
//!   dropped; token-bucket [`AdmissionLimiter`](protect::AdmissionLimiter) per receiver and per
//!   tenant (governor); a [`CircuitBreaker`](protect::CircuitBreaker) for exporters.
//! * [`fleet`]: the model every backend shares — [`Member`](fleet::Member) records with load
//!   and config status, the [`GlobalView`](fleet::GlobalView) of load per region,
//!   [`pick`](fleet::pick) for client-side collector selection, [`Rollout`](fleet::Rollout)
//!   records with their health gates, and [`FleetStatus`](fleet::FleetStatus).
//! * `etcd` (feature `etcd`): membership under a lease with keep-alive and re-registration,
//!   discovery by a watch that resumes from its revision and resyncs after compaction, leader
//!   election with fencing tokens, a distributed lock, the versioned config store, the leader's
//!   global view, and leader-driven rolling and canary rollouts whose state lives in etcd.
//!   etcd-client's build script needs `protoc` (Debian's `protobuf-compiler`).
//! * `consul` (feature `consul`): Consul as a second registration, discovery and config backend
//!   behind the same `Registry` trait, over Consul's HTTP API (agent service register /
//!   deregister / TTL check, health service listing with blocking queries, KV). No Consul server
//!   can be installed where this crate is developed, so its tests run against a local HTTP server
//!   that implements the documented endpoints used; it has not been run against a real Consul.
//!
//! # Binary rollouts and the operator hook
//!
//! A rollout of a [`RolloutTarget::Binary`](fleet::RolloutTarget) version assigns the version to
//! members through the store; this crate does not replace executables. An operator hook (a
//! systemd unit, a Kubernetes controller, a script watching
//! `TargetWatch::receiver`'s `binary_version`) installs the assigned version and restarts the
//! member, which then registers with its new [`Member::version`](fleet::Member). The rollout
//! step waits (up to the gate's `apply_timeout`) until the members report the version. On
//! rollback the assignment is removed and the hook must reinstall the stable version.
// docs.rs (`--cfg docsrs`, nightly) marks each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
pub mod fleet;
pub mod protect;

#[cfg(any(feature = "etcd", feature = "consul"))]
mod follower;
#[cfg(any(feature = "etcd", feature = "consul"))]
mod registry;

#[cfg(feature = "consul")]
pub mod consul;
#[cfg(feature = "etcd")]
pub mod etcd;

pub use error::{Error, Result};
#[cfg(any(feature = "etcd", feature = "consul"))]
pub use follower::{Applied, ConfigFollower};
#[cfg(any(feature = "etcd", feature = "consul"))]
pub use registry::{
    MemberRecord, MemberWatch, Registration, RegistrationStatus, Registry, TargetWatch, WatchStats,
};

/// Durations as whole milliseconds in configs and stored records.
mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// The README's examples, compiled and run as doctests (the etcd one needs the feature).
#[cfg(all(doctest, feature = "etcd"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
