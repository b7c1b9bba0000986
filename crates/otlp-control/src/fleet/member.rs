//! What a member publishes about itself.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::protect::DegradationLevel;

/// Load figures a member publishes, refreshed periodically.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadReport {
    /// Items (spans) received per second.
    pub spans_per_sec: f64,
    /// Items queued for export.
    pub queue_depth: u64,
    /// Share of all cores used, 0.0–1.0.
    pub cpu: f64,
    /// Resident memory in bytes.
    pub memory_bytes: u64,
    /// Mean export latency in milliseconds.
    pub export_latency_ms: f64,
    /// Share of exported items that failed.
    pub error_rate: f64,
    /// The member's degradation level.
    pub level: DegradationLevel,
}

/// A config version a member refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRejection {
    /// The refused version.
    pub version: u64,
    /// The validator's message.
    pub reason: String,
}

/// Which config a member runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigStatus {
    /// The version applied and running (`None` before the first one).
    pub version: Option<u64>,
    /// The last version refused by the validator, while the running one was kept.
    pub rejected: Option<ConfigRejection>,
}

/// One collector of the fleet, as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Unique, stable id (also the key suffix): letters, digits, `-`, `_`, `.`, `:`.
    pub id: String,
    /// Region (or zone) used for same-region selection.
    pub region: String,
    /// Where clients send data, e.g. `10.0.0.7:4317`.
    pub address: String,
    /// The binary version this member runs.
    pub version: String,
    /// The config it runs.
    #[serde(default)]
    pub config: ConfigStatus,
    /// Its load.
    #[serde(default)]
    pub load: LoadReport,
    /// Milliseconds since the Unix epoch of the last update of this record.
    #[serde(default)]
    pub updated_at_ms: u64,
}

impl Member {
    /// A member record with no config and no load yet.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the id is empty or holds characters unsafe in a key or URL path.
    pub fn new(
        id: impl Into<String>,
        region: impl Into<String>,
        address: impl Into<String>,
        version: impl Into<String>,
    ) -> Result<Self> {
        let member = Self {
            id: id.into(),
            region: region.into(),
            address: address.into(),
            version: version.into(),
            config: ConfigStatus::default(),
            load: LoadReport::default(),
            updated_at_ms: 0,
        };
        member.validate()?;
        Ok(member)
    }

    /// Checks the id.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an empty id or one with characters other than ASCII letters,
    /// digits, `-`, `_`, `.` and `:`.
    pub fn validate(&self) -> Result<()> {
        let valid = !self.id.is_empty()
            && self.id.len() <= 128
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if valid {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "member id {:?} must be 1-128 ASCII letters, digits, '-', '_', '.' or ':'",
                self.id
            )))
        }
    }

    /// How loaded the member is, for picking: its degradation level first, then CPU, then
    /// queue depth as a tie-breaker.
    pub fn load_score(&self) -> f64 {
        self.load.level.index() as f64 * 10.0
            + self.load.cpu
            + (self.load.queue_depth as f64).ln_1p() * 1e-3
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_key_safe() {
        assert!(Member::new("c-1.eu:4317", "eu", "a", "1").is_ok());
        assert!(Member::new("", "eu", "a", "1").is_err());
        assert!(Member::new("a/b", "eu", "a", "1").is_err());
    }

    #[test]
    fn old_records_without_load_still_decode() {
        let member: Member =
            serde_json::from_str(r#"{"id":"c1","region":"eu","address":"x:1","version":"0.1.0"}"#)
                .unwrap();
        assert_eq!(member.config.version, None);
        assert_eq!(member.load, LoadReport::default());
    }
}
