//! The fleet module's error type.

use std::path::PathBuf;

/// Errors of the `fleet` extension and the `otlp-suite fleet` commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// etcd could not be reached, or an etcd operation failed.
    #[error("etcd: {0}")]
    Control(#[from] otlp_control::Error),
    /// A TLS file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A config document is not valid; the message lists what is wrong.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// The request cannot be carried out as asked.
    #[error("{0}")]
    Invalid(String),
}
