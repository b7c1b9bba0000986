//! The crate's error type.

/// Everything that can go wrong in this crate. Propagators never return it: a header they cannot read
/// leaves the context unchanged, as the OpenTelemetry propagator contract requires. The parse functions
/// behind them return it so callers (and tests) can see *why* a header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A propagation header was present but did not follow its format.
    #[error("header `{header}` is malformed: {reason}")]
    MalformedHeader {
        /// The header's lower-case name.
        header: &'static str,
        /// What was wrong with the value.
        reason: String,
    },
    /// The same context header arrived more than once, so it is ambiguous which one to trust.
    #[error(
        "header `{0}` appears more than once; a duplicated context header is treated as invalid"
    )]
    DuplicateHeader(&'static str),
    /// The peer certificate could not be read as DER-encoded X.509.
    #[error("peer certificate is not valid DER-encoded X.509: {0}")]
    Certificate(String),
}

impl Error {
    pub(crate) fn malformed(header: &'static str, reason: impl Into<String>) -> Self {
        Error::MalformedHeader {
            header,
            reason: reason.into(),
        }
    }
}
