//! The crate's single error type.

/// Everything that can go wrong while parsing sampling state or building a sampler.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An encoded OTLP traces request that prost would refuse.
    #[error("invalid OTLP traces request: {0}")]
    InvalidRequest(#[from] otlp_model::wire::WireError),
    /// A resource or scope inside an encoded OTLP traces request that does not decode.
    #[error("invalid OTLP traces request: {0}")]
    InvalidHeader(#[from] prost::DecodeError),
    /// A sampling probability outside `[2^-56, 1]` (or not a number) was given.
    #[error("sampling probability {0} is out of range: it must be a number in [2^-56, 1]")]
    ProbabilityOutOfRange(f64),
    /// A sampling percentage outside `[0, 100]` (or not a number) was given.
    #[error("sampling percentage {0} is out of range: it must be a number in [0, 100]")]
    PercentageOutOfRange(f64),
    /// A threshold precision outside `1..=14` hex digits was given.
    #[error("sampling precision {0} is out of range: it must be between 1 and 14 hex digits")]
    PrecisionOutOfRange(u8),
    /// The `th` value of the `ot` tracestate entry is empty or longer than 14 hex digits.
    #[error("threshold `th:{0}` has an invalid size: it must be 1 to 14 hex digits")]
    ThresholdSize(String),
    /// The `th` value contains something other than lowercase hex digits.
    #[error("threshold `th:{0}` has invalid syntax: only lowercase hex digits 0-9a-f are allowed")]
    ThresholdSyntax(String),
    /// The `rv` value is not exactly 14 hex digits.
    #[error("randomness `rv:{0}` has an invalid size: it must be exactly 14 hex digits")]
    RandomnessSize(String),
    /// The `rv` value contains something other than lowercase hex digits.
    #[error("randomness `rv:{0}` has invalid syntax: only lowercase hex digits 0-9a-f are allowed")]
    RandomnessSyntax(String),
    /// The `ot` tracestate value is longer than the 256 characters the specification allows.
    #[error("the `ot` tracestate value is {0} characters long; at most 256 are allowed")]
    OtValueTooLong(usize),
    /// The `ot` tracestate value is not a `;`-separated list of `key:value` pairs.
    #[error(
        "the `ot` tracestate value has invalid syntax near `{0}`: expected `key:value` pairs separated by `;`"
    )]
    OtValueSyntax(String),
    /// A regular expression in a rule or policy did not compile.
    #[error("invalid regular expression `{pattern}`: {message}")]
    Regex {
        /// The pattern as configured.
        pattern: String,
        /// Why the regex engine refused it.
        message: String,
    },
    /// A tail-sampling or processor configuration is inconsistent.
    #[error("invalid sampling configuration: {0}")]
    Config(String),
    /// The tail sampler's compressed span buffer could not be set up (zstd could not allocate its
    /// contexts).
    #[error("cannot set up the tail sampler's span buffer: {0}")]
    Buffer(String),
    /// A Go-style duration string (like `"10s"` or `"1m30s"`) could not be parsed.
    #[error(
        "invalid duration `{0}`: expected a Go duration such as \"500ms\", \"10s\" or \"1m30s\""
    )]
    Duration(String),
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
