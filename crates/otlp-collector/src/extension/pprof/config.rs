//! The `pprof` extension's settings, with otelcol-contrib's keys.

use serde::Deserialize;
use std::path::PathBuf;

/// The `pprof` extension's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PprofConfig {
    /// `host:port` where `/debug/pprof/` is served (otelcol's default: `localhost:1777`).
    pub endpoint: String,
    /// Go's blocking profile rate: taken, with no effect (a Rust program has no such profile).
    pub block_profile_fraction: i64,
    /// Go's mutex profile rate: taken, with no effect.
    pub mutex_profile_fraction: i64,
    /// A CPU profile of the whole run, from start to shutdown, written here (pprof's format, gzipped).
    pub save_to_file: Option<PathBuf>,
}

impl Default for PprofConfig {
    fn default() -> Self {
        PprofConfig {
            endpoint: "localhost:1777".to_owned(),
            block_profile_fraction: 0,
            mutex_profile_fraction: 0,
            save_to_file: None,
        }
    }
}

impl PprofConfig {
    pub(super) fn warnings(&self) -> Vec<(String, String)> {
        let mut warnings = Vec::new();
        for (key, value) in [
            ("block_profile_fraction", self.block_profile_fraction),
            ("mutex_profile_fraction", self.mutex_profile_fraction),
        ] {
            if value != 0 {
                warnings.push((
                    key.to_owned(),
                    "has no effect: it sets a Go runtime profile, which a Rust program does not have; \
                     /debug/pprof/profile (CPU) is what is served"
                        .to_owned(),
                ));
            }
        }
        warnings
    }
}
