//! The `otlp-suite` binary: `collect` runs the collector, `validate` checks a config, `loadgen` sends realistic
//! OTLP traffic to a collector and reports what it sustained, `inspect` reads the files it wrote.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
mod fast_hash;
#[cfg(feature = "fleet")]
mod fleet_cmd;
mod inspect;
mod lambda_extension;
mod loadgen;
mod logging;

use clap::{Parser, Subcommand};
use logging::LogFormat;
use otlp_collector::component::Components;
use otlp_collector::{Collector, Config};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

// Not for the allocation count, which the columnar path took from about 30 per span to one or two (docs/benchmarks.md,
// "Collector: heap allocations per span"), but for resident memory where it is held longest: tail sampling under
// `loadgen --max` with `decision_wait: 2s` peaked at 123-125 MB with mimalloc and 153-165 MB with glibc's malloc.
// On the embedded default the two spend the same CPU, and glibc's malloc peaked about 10 MB lower
// (docs/operations.md, "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "otlp-suite",
    version,
    about = "OpenTelemetry at scale: collector, load generator and tools"
)]
struct Cli {
    /// How the collector logs: plain text (colour only on a terminal), or one JSON object per line. Overrides
    /// the config's `service.telemetry.logs.encoding`.
    #[arg(long, value_enum, global = true)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the collector (without --config: OTLP on 127.0.0.1:4317/4318, files under ./otlp-data).
    Collect {
        /// An OpenTelemetry Collector style YAML config.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// How long a shutdown (SIGINT/SIGTERM) may spend draining queues, e.g. 30s.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        shutdown_timeout: Duration,
        /// Run as an AWS Lambda extension: register with the Extensions API, flush after every invocation and on
        /// SHUTDOWN (without --config: export to $OTEL_EXPORTER_OTLP_ENDPOINT).
        #[arg(long)]
        lambda_extension: bool,
        /// With --lambda-extension: the port Lambda pushes Telemetry API events to (0 picks a free one).
        #[arg(long, default_value_t = 0, requires = "lambda_extension")]
        telemetry_port: u16,
        /// With --lambda-extension: the host in the Telemetry API destination URI.
        #[arg(long, default_value = lambda_extension::LAMBDA_TELEMETRY_HOST, requires = "lambda_extension")]
        telemetry_host: String,
    },
    /// Check a config file and say what is wrong with it.
    Validate {
        /// The config file to check.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Send generated traces to a collector and report spans/s and latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Summarise the Parquet or Arrow files the collector wrote, or print one trace as a tree.
    Inspect(inspect::InspectArgs),
    /// Print the embedded default config.
    DefaultConfig,
    /// Operate a fleet of collectors coordinated through etcd.
    #[cfg(feature = "fleet")]
    Fleet(fleet_cmd::FleetArgs),
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    otlp_model::duration::parse(text).map_err(|e| e.to_string())
}

fn load_config(
    path: Option<&PathBuf>,
    components: &Components,
) -> Result<Config, otlp_collector::Error> {
    match path {
        Some(path) => Config::from_file_with(path, components),
        None => Config::embedded_default(),
    }
}

/// The component types a config file may use: the built-in ones, and `fleet` when this binary has it.
#[cfg(feature = "fleet")]
fn validation_components() -> Components {
    otlp_suite::fleet::validation_components()
}

/// The component types a config file may use: the built-in ones, and `fleet` when this binary has it.
#[cfg(not(feature = "fleet"))]
fn validation_components() -> Components {
    Components::builtin()
}

async fn collect(
    config_path: Option<PathBuf>,
    shutdown_timeout: Duration,
    log_format: Option<LogFormat>,
) -> ExitCode {
    let source = config_path.as_ref().map_or_else(
        || "the embedded default config".to_string(),
        |p| p.display().to_string(),
    );
    #[cfg(feature = "fleet")]
    let host = otlp_suite::fleet::FleetHost::new();
    #[cfg(feature = "fleet")]
    let components = host.components();
    #[cfg(not(feature = "fleet"))]
    let components = Components::builtin();
    let config = match load_config(config_path.as_ref(), &components) {
        Ok(config) => config,
        Err(e) => {
            logging::init("info", log_format.unwrap_or(LogFormat::Text));
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    let format = log_format.unwrap_or_else(|| config.service.telemetry.log_format.into());
    if let Err(e) = logging::init_from(&config.service.telemetry, format) {
        // The configured destinations are not there: this one error goes where the log goes without a config.
        logging::init("info", format);
        tracing::error!("cannot start: {e}");
        return ExitCode::FAILURE;
    }
    #[cfg(feature = "fleet")]
    let first = config.clone();
    let collector = match Collector::new(config).start().await {
        Ok(collector) => collector,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The worker count is tokio's (one per core, or TOKIO_WORKER_THREADS): worth seeing when CPU is tuned.
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    tracing::info!(workers, "collector running with {source}; Ctrl-C to stop");
    // A fleet member replaces its pipelines with each fleet config version it accepts until it is stopped.
    #[cfg(feature = "fleet")]
    let Some(collector) =
        otlp_suite::fleet::run_with_reloads(&host, collector, first, wait_for_signal()).await
    else {
        return ExitCode::FAILURE;
    };
    #[cfg(not(feature = "fleet"))]
    wait_for_signal().await;
    tracing::info!(timeout = ?shutdown_timeout, "shutting down: draining pipelines");
    let report = collector.shutdown(shutdown_timeout).await;
    log_shutdown(&report);
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What a shutdown could not deliver, and what the exporters had given up on before it, so that "everything
/// accepted was delivered" is said only when it is true.
fn log_shutdown(report: &otlp_collector::ShutdownReport) {
    for ((component, signal), items) in &report.undelivered {
        if *items > 0 {
            tracing::error!(%component, %signal, items, "not delivered before the shutdown deadline");
        }
    }
    for error in &report.errors {
        tracing::error!("{error}");
    }
    for (signal, items) in &report.failed_while_running {
        tracing::warn!(
            %signal,
            items,
            "accepted but not delivered: exporters gave up on them while running (otelcol_exporter_send_failed_*)"
        );
    }
    if report.delivered_everything() {
        tracing::info!("shut down cleanly: everything accepted was delivered");
    } else if report.is_clean() {
        tracing::info!("shut down cleanly: the pipelines drained before the deadline");
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn validate(path: &std::path::Path) -> ExitCode {
    match Config::from_file_with(path, &validation_components()) {
        Ok(config) => {
            for unset in config.unset_variables() {
                eprintln!("{}: warning: {unset}", path.display());
            }
            for warning in config.warnings() {
                eprintln!("{}: warning: {warning}", path.display());
            }
            let connectors = match config.connectors.len() {
                0 => String::new(),
                n => format!("{}, ", counted(n, "connector")),
            };
            println!(
                "{}: valid ({}, {}, {}, {connectors}{})",
                path.display(),
                counted(config.receivers.len(), "receiver"),
                counted(config.processors.len(), "processor"),
                counted(config.exporters.len(), "exporter"),
                counted(config.service.pipelines.len(), "pipeline")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}

/// `1 receiver`, `2 receivers`.
fn counted(count: usize, noun: &str) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {noun}{plural}")
}

/// Writes `text` to stdout. A reader that stops early (`inspect otlp-data | head`) closes the pipe: that ends the
/// output quietly, where `print!` would panic.
fn write_stdout(text: impl std::fmt::Display) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match write!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written,
    }
}

/// The variable that sets the runtime's worker count (docs/operations.md, "CPU and threads"); tokio's own name.
const WORKER_THREADS_ENV: &str = "TOKIO_WORKER_THREADS";

/// The worker count `TOKIO_WORKER_THREADS` asks for, if set. Read here, not by tokio, which panics on a value
/// that is not a number above 0.
fn worker_threads() -> Result<Option<usize>, String> {
    let Some(value) = std::env::var_os(WORKER_THREADS_ENV) else {
        return Ok(None);
    };
    match value.to_str().map(|v| v.trim().parse::<usize>()) {
        Some(Ok(workers)) if workers > 0 => Ok(Some(workers)),
        _ => Err(format!(
            "{WORKER_THREADS_ENV} must be a number of worker threads above 0, not {value:?}; unset it for one per core"
        )),
    }
}

fn main() -> ExitCode {
    // Resident memory follows what the pipeline holds rather than what it held a second ago (docs/operations.md,
    // "Memory"); an operator's MIMALLOC_PURGE_DELAY still wins.
    otlp_mempool::allocator::set_mimalloc_purge_delay(Duration::from_millis(100));
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    match worker_threads() {
        Ok(Some(workers)) => {
            runtime.worker_threads(workers);
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Collect {
            config,
            lambda_extension: true,
            telemetry_port,
            telemetry_host,
            ..
        } => {
            logging::init("info", cli.log_format.unwrap_or(LogFormat::Text));
            let options = lambda_extension::ExtensionOptions {
                config,
                name: lambda_extension::default_extension_name(),
                telemetry_port,
                telemetry_host,
            };
            match runtime.block_on(lambda_extension::run(options)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Collect {
            config,
            shutdown_timeout,
            ..
        } => runtime.block_on(collect(config, shutdown_timeout, cli.log_format)),
        Command::Validate { config } => validate(&config),
        Command::Inspect(args) => match inspect::run(&args) {
            Ok(report) => {
                if let Err(e) = write_stdout(&report) {
                    eprintln!("inspect: cannot write the report: {e}");
                    return ExitCode::FAILURE;
                }
                if report.unreadable.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("inspect: {e}");
                ExitCode::FAILURE
            }
        },
        #[cfg(feature = "fleet")]
        Command::Fleet(args) => {
            logging::init("warn", cli.log_format.unwrap_or(LogFormat::Text));
            match runtime.block_on(fleet_cmd::run(args)) {
                Ok(output) => {
                    println!("{output}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("fleet: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::DefaultConfig => match write_stdout(otlp_collector::config::DEFAULT_CONFIG_YAML) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("default-config: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Loadgen(args) => {
            logging::init("warn", cli.log_format.unwrap_or(LogFormat::Text));
            let json = args.json;
            match runtime.block_on(loadgen::run(args)) {
                Ok(report) if json => {
                    println!("{}", report.to_json());
                    ExitCode::SUCCESS
                }
                Ok(report) => {
                    println!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("loadgen: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
