//! `otlp-suite collect --lambda-extension`: the collector as an AWS Lambda external extension.
//!
//! The function sends OTLP to the extension on `127.0.0.1:4318` (HTTP) or `127.0.0.1:4317` (gRPC); the extension
//! ships it to the real backend before Lambda freezes the environment. The sequence:
//!
//! 1. Register with the Extensions API (`$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/register`) for `INVOKE` and
//!    `SHUTDOWN`, under the executable's file name (Lambda requires the name of the file in `/opt/extensions`).
//! 2. Start the collector from `--config`, or without one from [`lambda_default_config_yaml`], which exports to
//!    `$OTEL_EXPORTER_OTLP_ENDPOINT` with `otlphttp` (plain `http://` only in this build), or with the gRPC `otlp`
//!    exporter (TLS supported) when `$OTEL_EXPORTER_OTLP_PROTOCOL` is `grpc`. The embedded default of plain
//!    `collect` writes files under `./otlp-data`, which is read-only in Lambda, so without `--config` the
//!    endpoint variable is required.
//! 3. Listen for Telemetry API pushes and subscribe to the `platform` stream
//!    (`PUT $AWS_LAMBDA_RUNTIME_API/2022-07-01/telemetry`).
//! 4. On each `INVOKE`, wait until the Telemetry API reports `platform.runtimeDone` for that request (the function
//!    has responded, so it has sent its spans), bounded by the invocation's deadline; then flush the collector and
//!    only then ask for the next event. Asking for the next event is what allows Lambda to freeze the environment,
//!    so flushing right when `INVOKE` arrives would ship the *previous* invocation's telemetry, not this one's.
//!    When the subscription failed (an old runtime, or the listener could not bind) there is no end-of-invocation
//!    signal; the extension then waits [`FALLBACK_WAIT`] before flushing, which catches a function that exports
//!    synchronously before responding (as `otlp_faas::FaasLayer` does) and is otherwise a best effort.
//! 5. On `SHUTDOWN`, drain everything within the event's deadline, log what could not be delivered, and exit.
//!
//! Failures before the first `next` are reported with `init/error` (Lambda then fails the init phase), later
//! ones with `exit/error`.
//!
//! ```
//! use crate::lambda_extension::load_config;
//!
//! // Without --config, the backend comes from OTEL_EXPORTER_OTLP_ENDPOINT (here from a lookup, not the process env).
//! let env = |name: &str| match name {
//!     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("https://otlp.example.com:4317".to_owned()),
//!     "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".to_owned()),
//!     _ => None,
//! };
//! let config = load_config(None, &env).unwrap();
//! assert_eq!(config.service.pipelines.len(), 3);
//! assert!(config.service.telemetry.metrics_address.is_none());
//!
//! let error = load_config(None, &|_: &str| None).unwrap_err();
//! assert!(error.to_string().contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
//! ```

use std::path::PathBuf;
use std::time::Duration;

use otlp_collector::{Collector, Config, RunningCollector};
use otlp_faas::telemetry_api::{SANDBOX_HOST, TelemetryListener};
use otlp_faas::{EventType, ExtensionClient, ExtensionEvent};
use tokio::time::Instant;

use crate::error::Error;

/// The environment variable holding the Runtime API's `host:port`.
pub const RUNTIME_API_VARIABLE: &str = "AWS_LAMBDA_RUNTIME_API";

/// The environment variable naming the backend the default Lambda config exports to.
pub const ENDPOINT_VARIABLE: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The host Lambda reaches the extension's Telemetry API listener on.
pub const LAMBDA_TELEMETRY_HOST: &str = SANDBOX_HOST;

/// How long to wait before flushing an invocation when there is no Telemetry API subscription.
pub const FALLBACK_WAIT: Duration = Duration::from_millis(50);

/// Time left to Lambda itself at every deadline, so the extension's own work never runs past it.
const DEADLINE_MARGIN: Duration = Duration::from_millis(100);

/// The environment variable choosing the default config's exporter: `grpc`, or `http/protobuf` (the default).
pub const PROTOCOL_VARIABLE: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";

/// The config used in extension mode without `--config`: OTLP in on loopback, batched, and out to
/// `$OTEL_EXPORTER_OTLP_ENDPOINT` with exporter `otlp` (gRPC) if `grpc` is true, else `otlphttp`. No files (the
/// filesystem is read-only) and no self-metrics listener.
pub fn lambda_default_config_yaml(grpc: bool) -> String {
    LAMBDA_DEFAULT_CONFIG_TEMPLATE.replace("{exporter}", if grpc { "otlp" } else { "otlphttp" })
}

const LAMBDA_DEFAULT_CONFIG_TEMPLATE: &str = r#"receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
      http:
        endpoint: 127.0.0.1:4318

processors:
  batch:
    send_batch_size: 8192
    timeout: 200ms

exporters:
  {exporter}:
    endpoint: ${env:OTEL_EXPORTER_OTLP_ENDPOINT}

service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [{exporter}]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [{exporter}]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [{exporter}]
  telemetry:
    metrics:
      level: none
"#;

/// How to run in extension mode.
#[derive(Clone, Debug)]
pub struct ExtensionOptions {
    /// The collector config; `None` selects [`lambda_default_config_yaml`].
    pub config: Option<PathBuf>,
    /// The name to register under; Lambda requires the extension's file name.
    pub name: String,
    /// The port of the Telemetry API listener; 0 picks a free one.
    pub telemetry_port: u16,
    /// The host Lambda should push telemetry to ([`LAMBDA_TELEMETRY_HOST`] in Lambda).
    pub telemetry_host: String,
}

/// The name an extension registers under when none is given: the executable's file name.
pub fn default_extension_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "otlp-suite".to_owned())
}

/// Loads the collector config for extension mode: `path` if given, else [`lambda_default_config_yaml`] with the
/// endpoint and protocol looked up through `env` (so callers and tests decide where the environment comes from).
pub fn load_config(
    path: Option<&std::path::Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Error> {
    match path {
        Some(path) => Config::from_file(path).map_err(|error| Error::ExtensionConfig {
            reason: error.to_string(),
        }),
        None => {
            if env(ENDPOINT_VARIABLE).is_none_or(|value| value.trim().is_empty()) {
                return Err(Error::ExtensionConfig {
                    reason: format!(
                        "without --config the extension exports to ${ENDPOINT_VARIABLE}, which is not set; set it \
                         to the backend's OTLP base URL (with ${PROTOCOL_VARIABLE}=grpc for gRPC) or pass --config \
                         (the default `collect` config writes files, and the Lambda filesystem is read-only)"
                    ),
                });
            }
            let grpc = match env(PROTOCOL_VARIABLE).as_deref().map(str::trim) {
                None | Some("" | "http/protobuf") => false,
                Some("grpc") => true,
                Some(other) => {
                    return Err(Error::ExtensionConfig {
                        reason: format!(
                            "${PROTOCOL_VARIABLE} is `{other}`; without --config the extension supports `grpc` and \
                             `http/protobuf`"
                        ),
                    });
                }
            };
            Config::from_yaml_with_env(&lambda_default_config_yaml(grpc), env).map_err(|error| {
                Error::ExtensionConfig {
                    reason: error.to_string(),
                }
            })
        }
    }
}

/// Runs the extension until `SHUTDOWN` (then `Ok`) or a failure it reported to Lambda (then the error).
pub async fn run(options: ExtensionOptions) -> Result<(), Error> {
    let runtime_api = std::env::var(RUNTIME_API_VARIABLE)
        .ok()
        .filter(|value| !value.is_empty())
        .ok_or(Error::NotInLambda)?;
    let client = ExtensionClient::register(
        &runtime_api,
        &options.name,
        &[EventType::Invoke, EventType::Shutdown],
    )
    .await
    .map_err(|error| Error::Extension {
        stage: "registering with the Lambda Extensions API",
        reason: error.to_string(),
    })?;
    tracing::info!(name = %options.name, "registered with the Lambda Extensions API");

    let collector = match start_collector(options.config.as_deref()).await {
        Ok(collector) => collector,
        Err(error) => {
            report_init_error(&client, "Extension.CollectorFailed", &error).await;
            return Err(error);
        }
    };

    let telemetry = subscribe_to_telemetry(&client, &options).await;
    if telemetry.is_none() {
        tracing::warn!(
            wait = ?FALLBACK_WAIT,
            "no Telemetry API subscription: invocations are flushed after a fixed wait instead of when the \
             function has responded"
        );
    }

    loop {
        let event = match client.next_event().await {
            Ok(event) => event,
            Err(error) => {
                let error = Error::Extension {
                    stage: "waiting for the next Lambda event",
                    reason: error.to_string(),
                };
                if let Err(report) = client
                    .exit_error("Extension.NextEventFailed", &error.to_string())
                    .await
                {
                    tracing::warn!("cannot report the failure to Lambda: {report}");
                }
                crate::log_shutdown(&collector.shutdown(DEADLINE_MARGIN).await);
                return Err(error);
            }
        };
        let deadline = Instant::now() + event.time_remaining().saturating_sub(DEADLINE_MARGIN);
        match event {
            ExtensionEvent::Invoke { request_id, .. } => {
                if let Some(telemetry) = &telemetry {
                    if !telemetry.wait_for_runtime_done(&request_id, deadline).await {
                        tracing::warn!(
                            %request_id,
                            "no platform.runtimeDone before the invocation's deadline; flushing what arrived"
                        );
                    }
                } else {
                    tokio::time::sleep_until(deadline.min(Instant::now() + FALLBACK_WAIT)).await;
                }
                let budget = deadline.saturating_duration_since(Instant::now());
                if !collector.flush(budget).await {
                    tracing::warn!(%request_id, ?budget, "not everything was delivered before the deadline");
                }
            }
            ExtensionEvent::Shutdown { reason, .. } => {
                tracing::info!(?reason, "SHUTDOWN: draining pipelines");
                let budget = deadline.saturating_duration_since(Instant::now());
                crate::log_shutdown(&collector.shutdown(budget).await);
                return Ok(());
            }
        }
    }
}

async fn start_collector(path: Option<&std::path::Path>) -> Result<RunningCollector, Error> {
    let config = load_config(path, &|name| std::env::var(name).ok())?;
    Collector::new(config)
        .start()
        .await
        .map_err(|error| Error::ExtensionConfig {
            reason: format!("cannot start the collector: {error}"),
        })
}

async fn report_init_error(client: &ExtensionClient, error_type: &str, error: &Error) {
    if let Err(report) = client.init_error(error_type, &error.to_string()).await {
        tracing::warn!("cannot report the init failure to Lambda: {report}");
    }
}

/// Starts the Telemetry API listener and subscribes; `None` (after logging why) when either fails.
async fn subscribe_to_telemetry(
    client: &ExtensionClient,
    options: &ExtensionOptions,
) -> Option<TelemetryListener> {
    let listener = match TelemetryListener::bind(options.telemetry_port).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!("{error}");
            return None;
        }
    };
    let destination = format!("http://{}:{}", options.telemetry_host, listener.port());
    match client.subscribe_telemetry(&destination).await {
        Ok(()) => {
            tracing::info!(%destination, "subscribed to the Lambda Telemetry API");
            Some(listener)
        }
        Err(error) => {
            tracing::warn!("cannot subscribe to the Telemetry API: {error}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_exports_to_the_endpoint_variable() {
        let env = |name: &str| {
            (name == ENDPOINT_VARIABLE).then(|| "http://collector.internal:4318".to_owned())
        };
        let config = load_config(None, &env).unwrap();
        let exporters: Vec<String> = config.exporters.keys().map(ToString::to_string).collect();
        assert_eq!(exporters, ["otlphttp"]);
        let otlphttp = config
            .exporters
            .values()
            .next()
            .and_then(|exporter| exporter.get::<otlp_collector::OtlpHttpExporterConfig>())
            .expect("an otlphttp exporter");
        assert_eq!(
            otlphttp.endpoint.as_deref(),
            Some("http://collector.internal:4318")
        );
    }

    #[test]
    fn blank_endpoint_variable_is_refused() {
        let error = load_config(None, &|_: &str| Some("  ".to_owned())).unwrap_err();
        assert!(error.to_string().contains("--config"), "{error}");
    }

    #[test]
    fn unsupported_protocol_is_refused_by_name() {
        let env = |name: &str| match name {
            ENDPOINT_VARIABLE => Some("http://collector.internal:4318".to_owned()),
            PROTOCOL_VARIABLE => Some("http/json".to_owned()),
            _ => None,
        };
        let error = load_config(None, &env).unwrap_err();
        assert!(error.to_string().contains("`http/json`"), "{error}");
    }

    #[test]
    fn missing_config_file_names_the_file() {
        let error = load_config(
            Some(std::path::Path::new("/does/not/exist.yaml")),
            &|_: &str| None,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("/does/not/exist.yaml"),
            "{error}"
        );
    }
}
