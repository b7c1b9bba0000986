//! The binary's own log, set up from `service.telemetry.logs`: plain text without colour codes unless every
//! destination is a terminal, or one JSON object per line; written to stderr, stdout and files
//! (`output_paths`), with the same fields on every line (`initial_fields`), zap's sampling when asked for, and
//! the caller's file and line when `disable_caller: false` says so.

mod fields;
mod output;
mod sampling;

use otlp_collector::config::TelemetryConfig;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

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

/// Logs to stderr at `level` (overridden by `RUST_LOG`), in `format`: the log of the commands that have no config,
/// and of a config that could not be read.
pub(crate) fn init(level: &str, format: LogFormat) {
    let telemetry = TelemetryConfig {
        log_level: level.to_string(),
        ..TelemetryConfig::default()
    };
    // Standard error always opens.
    let _ = init_from(&telemetry, format);
}

/// Logs as `telemetry` says (the level overridden by `RUST_LOG`), in `format` (the config's encoding, or
/// `--log-format`).
///
/// # Errors
///
/// A destination that cannot be opened (a file whose directory does not exist), naming its key in the config.
pub(crate) fn init_from(telemetry: &TelemetryConfig, format: LogFormat) -> Result<(), String> {
    let settings = &telemetry.logs;
    let outputs = output::Outputs::open(settings)?;
    let ansi = format == LogFormat::Text && outputs.all_terminals();
    let level = &telemetry.log_level;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},h2=warn,hyper=warn,tower=warn"))
    });
    let caller = settings.show_caller;
    let fields = &settings.initial_fields;
    let layer = tracing_subscriber::fmt::layer()
        .with_file(caller)
        .with_line_number(caller)
        .with_writer(outputs)
        // A line that cannot be written is reported on `error_output_paths` by the writer itself.
        .log_internal_errors(false);
    let layer = match format {
        LogFormat::Json => layer
            .json()
            .map_event_format(|inner| fields::InitialFields::new(inner, fields, true))
            .boxed(),
        LogFormat::Text => layer
            .with_ansi(ansi)
            .map_event_format(|inner| {
                fields::InitialFields::new(inner.with_ansi(ansi), fields, false)
            })
            .boxed(),
    };
    let sampler = settings.sampling.map(sampling::Sampler::new);
    // A second init (tests, the Lambda path re-entering) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer.with_filter(sampler))
        .try_init();
    Ok(())
}
