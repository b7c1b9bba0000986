//! The crate's single error type.

/// Everything that can go wrong while configuring a balancer, picking an endpoint or resolving
/// endpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The balancer has no endpoints at all.
    #[error("no endpoints: the balancer's endpoint set is empty")]
    NoEndpoints,
    /// Every endpoint was excluded by the caller (all of them were already tried).
    #[error("no endpoint left to try: all {0} endpoints were excluded")]
    AllExcluded(usize),
    /// A keyed algorithm (consistent hash, Maglev) was asked for a pick without a key.
    #[error("the {0} algorithm picks by key, but the pick request has none")]
    KeyRequired(&'static str),
    /// Two endpoints in one set share an id.
    #[error("endpoint id `{0}` appears more than once in the endpoint set")]
    DuplicateEndpoint(String),
    /// An endpoint was added whose id is already in the set.
    #[error("endpoint `{0}` is already in the set")]
    AlreadyPresent(String),
    /// An endpoint was removed whose id is not in the set.
    #[error("endpoint `{0}` is not in the set")]
    UnknownEndpoint(String),
    /// An endpoint has weight 0; weights start at 1 (remove an endpoint to stop sending to it).
    #[error("endpoint `{0}` has weight 0; weights must be at least 1")]
    ZeroWeight(String),
    /// An endpoint has an empty id.
    #[error("an endpoint has an empty id")]
    EmptyId,
    /// A configuration value is out of range.
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// The setting, e.g. `load_factor`.
        what: &'static str,
        /// Why the value is rejected, and what is accepted.
        reason: String,
    },
    /// The endpoint set is too large for the algorithm's table.
    #[error("{algorithm} table too large: {reason}")]
    TableTooLarge {
        /// The algorithm whose table would not fit.
        algorithm: &'static str,
        /// What overflowed and the limit.
        reason: String,
    },
    /// A resolver or health checker needs a tokio runtime and was started outside one.
    #[error("{0} must be started inside a tokio runtime")]
    NoRuntime(&'static str),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
