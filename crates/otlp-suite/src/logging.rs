//! The binary's own log: plain text without colour codes when stderr is not a terminal (a file, a pipe, a log
//! collector), one JSON object per line on request.

use std::io::IsTerminal;

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines; colour only on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

impl From<otlp_collector::config::LogFormat> for LogFormat {
    fn from(format: otlp_collector::config::LogFormat) -> Self {
        match format {
            otlp_collector::config::LogFormat::Text => LogFormat::Text,
            otlp_collector::config::LogFormat::Json => LogFormat::Json,
        }
    }
}

/// Logs to stderr at `level` (overridden by `RUST_LOG`), in `format`.
pub(crate) fn init(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},h2=warn,hyper=warn,tower=warn"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests, the Lambda path re-entering) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}
