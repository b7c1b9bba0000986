//! The crate's error type.

/// What this crate can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A signal name other than `traces`, `metrics` or `logs`.
    #[error("unknown signal `{0}`; supported: traces, metrics, logs")]
    UnknownSignal(String),
    /// A duration that is not in Go's format.
    #[error("`{0}` is not a duration; write e.g. 200ms, 5s, 1m30s")]
    Duration(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
