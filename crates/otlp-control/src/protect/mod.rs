//! Local protection, no etcd needed: the load monitor, degradation levels with hysteresis,
//! token-bucket admission and the circuit breaker.

mod breaker;
mod degrade;
mod load;
mod rate_limit;

pub use breaker::{BreakerConfig, CircuitBreaker, CircuitState, Permit, Refused};
pub use degrade::{
    DegradationController, DegradationLevel, DegradationThresholds, REJECT_ALL_THRESHOLD,
    Transition, should_keep,
};
pub use load::{LoadLimits, LoadMonitor, LoadSample, littles_law_wait};
pub use rate_limit::{Admission, AdmissionLimiter, AdmissionLimiterBuilder, LimitScope, RateLimit};
