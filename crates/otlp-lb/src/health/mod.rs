//! Endpoint health: passive outlier ejection from reported outcomes, and optional active
//! checks run on an interval. Both feed the same per-endpoint state that picks consult.

#[cfg(feature = "tokio")]
mod active;
mod outlier;

#[cfg(feature = "tokio")]
pub use active::{ActiveHealthCheck, HealthCheck, HealthChecker, TcpConnect};
pub use outlier::OutlierDetection;
