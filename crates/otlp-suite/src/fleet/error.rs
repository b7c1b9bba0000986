//! The fleet module's error type.

use std::path::PathBuf;

/// Errors of the `fleet` extension and the `otlp-suite fleet` commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// An etcd operation failed (the message starts with `etcd:`).
    #[error("{0}")]
    Control(#[from] otlp_control::Error),
    /// No connection to etcd could be made or kept: refused, closed, or a TLS handshake that failed.
    #[error("cannot talk to etcd at {endpoints}: {source}; {hint}")]
    Unreachable {
        /// The endpoints tried, comma-separated.
        endpoints: String,
        /// The usual cause of such a failure, given the settings used.
        hint: &'static str,
        /// The failure.
        source: Box<FleetError>,
    },
    /// Nothing listened at any endpoint: etcd is not running there, or runs on another port.
    #[error(
        "cannot talk to etcd at {endpoints}: connection refused; is etcd running, and listening there?"
    )]
    Refused {
        /// The endpoints tried, comma-separated.
        endpoints: String,
        /// The failure.
        source: Box<FleetError>,
    },
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
