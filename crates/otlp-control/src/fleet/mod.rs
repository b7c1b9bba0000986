//! The fleet model shared by every backend: member records, config versions, the global view,
//! collector selection, rollout records and the status report.

mod config;
mod member;
mod pick;
mod rollout;
mod status;
mod view;

#[cfg(feature = "etcd")]
pub(crate) use config::StoredConfig;
pub use config::{ConfigVersion, Target};
pub use member::{ConfigRejection, ConfigStatus, LoadReport, Member, now_ms};
pub use pick::{PickRequest, PickStrategy, pick};
pub use rollout::{
    CANARY_WEIGHTS, HealthGate, HealthStats, Rollout, RolloutEvent, RolloutPhase, RolloutStrategy,
    RolloutTarget,
};
pub use status::{FleetStatus, LeaderInfo};
pub use view::{GlobalView, LoadTotals};
