//! The crate's error type.

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Lambda Runtime API address (`AWS_LAMBDA_RUNTIME_API`) is not a usable `host:port`.
    #[error("invalid Lambda Runtime API address `{address}`: {reason}")]
    InvalidRuntimeApi {
        /// The address as given.
        address: String,
        /// Why it was refused.
        reason: String,
    },
    /// An HTTP exchange with the Lambda Extensions API failed before a response arrived.
    #[error("Lambda Extensions API request to {path} failed: {reason}")]
    Transport {
        /// The API path that was called.
        path: &'static str,
        /// The underlying transport error.
        reason: String,
    },
    /// The Extensions API answered with a non-success status.
    #[error("Lambda Extensions API {path} answered HTTP {status}: {body}")]
    Status {
        /// The API path that was called.
        path: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The response body, as text (truncated to 512 bytes).
        body: String,
    },
    /// The Extensions API answered with something this client cannot interpret.
    #[error("Lambda Extensions API {path} sent an invalid response: {reason}")]
    InvalidResponse {
        /// The API path that was called.
        path: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A value passed to the Extensions API client cannot be sent (not a valid HTTP header value).
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The Telemetry API listener could not listen.
    #[error("cannot listen for Telemetry API events on {address}: {reason}")]
    Listen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// What the operating system said.
        reason: String,
    },
    /// A traffic-aware sampler setting is out of range.
    #[error("invalid sampler setting {setting}: {reason}")]
    InvalidSamplerSetting {
        /// The setting's name.
        setting: &'static str,
        /// Why it was refused.
        reason: String,
    },
}
