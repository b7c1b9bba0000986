//! The otlp-suite crate's error type.

/// Errors of the `otlp-suite` commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A command-line argument has a value the command cannot use.
    #[error("invalid --{argument}: {reason}")]
    InvalidArgument {
        /// The argument's long name, without the dashes.
        argument: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// The target endpoint does not accept connections.
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect {
        /// The endpoint as given (or defaulted) on the command line.
        endpoint: String,
        /// Why the connection failed, with the chain of underlying causes.
        reason: String,
    },
    /// `inspect` could not read what it was pointed at.
    #[error("{path}: {reason}")]
    Inspect {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `collect --lambda-extension` was started outside Lambda.
    #[error(
        "AWS_LAMBDA_RUNTIME_API is not set: --lambda-extension runs only as a Lambda extension \
         (from /opt/extensions), where Lambda sets it"
    )]
    NotInLambda,
    /// An exchange with the Lambda Extensions API failed.
    #[error("{stage} failed: {reason}")]
    Extension {
        /// What the extension was doing.
        stage: &'static str,
        /// The underlying failure.
        reason: String,
    },
    /// The collector for extension mode could not be configured or started.
    #[error("lambda extension: {reason}")]
    ExtensionConfig {
        /// What is wrong.
        reason: String,
    },
    /// A load generator worker task ended abnormally.
    #[error("load generator worker failed: {0}")]
    Worker(String),
}
