//! The crate's one error type.

/// Errors of otlp-control.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting or argument is out of range or inconsistent; nothing was changed.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The etcd client failed (connection, request or stream).
    #[cfg(feature = "etcd")]
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// The Consul HTTP API failed or answered something unexpected.
    #[error("consul: {0}")]
    Consul(String),
    /// A stored record could not be decoded; the record is skipped, nothing else is lost.
    #[error("malformed record at {key}: {source}")]
    Decode {
        /// The key (or Consul service id) holding the record.
        key: String,
        /// Why it does not decode.
        source: serde_json::Error,
    },
    /// This process is no longer the leader: its fencing token is not the current one.
    #[error("not the leader (fencing token {token} is no longer current)")]
    NotLeader {
        /// The token that was lost.
        token: i64,
    },
    /// A write lost a race with another writer (compare-and-swap failed).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A rollout request cannot be carried out.
    #[error("rollout: {0}")]
    Rollout(String),
    /// The lease behind a session, leadership or lock expired.
    #[error("lease {lease:#x} lost")]
    LeaseLost {
        /// The etcd lease id.
        lease: i64,
    },
    /// A background task this handle relies on has stopped.
    #[error("the background task stopped")]
    Closed,
}

/// Results of otlp-control.
pub type Result<T> = std::result::Result<T, Error>;
