//! The `arrow_flight` receiver's settings.

use serde::Deserialize;

/// The `arrow_flight` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArrowFlightReceiverConfig {
    /// `host:port` to listen on.
    pub endpoint: String,
    /// When set, every call must carry `authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
}

impl Default for ArrowFlightReceiverConfig {
    fn default() -> Self {
        ArrowFlightReceiverConfig {
            endpoint: "localhost:4319".to_string(),
            bearer_token: None,
        }
    }
}
