//! Replacing a running collector's config in the same process: drain, then start the new pipelines.
//!
//! A receiver whose settings the new config leaves as they are (same YAML, same signals, no authentication or
//! TLS, whose files a reload should read again) keeps serving: its connections stay open, and requests that
//! arrive while the old pipelines drain wait, then go to the new ones. Clients see a pause, never an error. Any
//! other receiver stops first, so its clients see `UNAVAILABLE` / 503 (or a refused connection) for the short
//! gap and retry as the OTLP SDKs do. Everything already accepted is flushed to the exporters before the new
//! pipelines start. Nothing accepted is dropped (unless the drain deadline passes, which the report says) and
//! nothing is accepted twice: a request is taken by the old pipelines, held for the new ones, or refused and
//! retried against the new ones.

use crate::config::ComponentId;
use crate::receiver::{PausedIngest, Pipelines};
use crate::service::{Collector, RunningCollector, ServingReceiver, ShutdownReport};
use crate::{Config, Error};
use std::time::Duration;
use tokio::time::Instant;

/// A receiver a reload keeps serving: the requests it takes wait until the next pipelines are running.
pub(crate) struct KeptReceiver {
    receiver: ServingReceiver,
    paused: PausedIngest,
}

impl KeptReceiver {
    pub(crate) fn id(&self) -> &ComponentId {
        &self.receiver.id
    }

    /// Whether receiver `id`, with YAML `source` and the pipelines `by_signal`, is this one unchanged.
    pub(crate) fn fits(
        &self,
        id: &ComponentId,
        source: Option<&serde_norway::Value>,
        by_signal: &Pipelines,
    ) -> bool {
        self.receiver.id == *id
            && source.is_some()
            && source == self.receiver.source.as_ref()
            && by_signal.each_ref().map(|pipelines| !pipelines.is_empty())
                == self.receiver.ingest.served()
    }

    /// Hands the requests held back, and every later one, to `pipelines`.
    pub(crate) fn resume(self, pipelines: Pipelines) -> ServingReceiver {
        self.paused.resume(pipelines);
        self.receiver
    }

    /// Stops the receiver; the requests it held back are refused as from a collector shutting down.
    async fn stop(self, deadline: Instant) -> Vec<Error> {
        self.resume(Pipelines::default())
            .running
            .shutdown(deadline)
            .await
    }
}

/// The YAML of receiver `id` in `config`, when a reload to a config with the same YAML may keep the receiver
/// serving. A receiver that authenticates clients or serves TLS is always restarted, so that a reload reads a
/// rotated token, password or certificate file again.
pub(crate) fn reusable_source(config: &Config, id: &ComponentId) -> Option<serde_norway::Value> {
    let source = config.receivers.get(id)?.source()?;
    (!mentions_key(source, &["auth", "tls"])).then(|| source.clone())
}

fn mentions_key(value: &serde_norway::Value, keys: &[&str]) -> bool {
    match value {
        serde_norway::Value::Mapping(mapping) => mapping.iter().any(|(key, value)| {
            key.as_str().is_some_and(|key| keys.contains(&key)) || mentions_key(value, keys)
        }),
        serde_norway::Value::Sequence(items) => items.iter().any(|item| mentions_key(item, keys)),
        serde_norway::Value::Tagged(tagged) => mentions_key(&tagged.value, keys),
        _ => false,
    }
}

/// For each signal, whether a pipeline of `config` takes receiver `id`.
fn served_in(config: &Config, id: &ComponentId) -> [bool; 3] {
    let mut served = [false; 3];
    for (pipeline_id, pipeline) in &config.service.pipelines {
        if pipeline.receivers.contains(id) {
            served[pipeline_id.signal.index()] = true;
        }
    }
    served
}

/// What became of a [reload](RunningCollector::reload).
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The new config runs.
    Applied(RunningCollector),
    /// The new config could not start (a port in use, a file it cannot open); the previous one runs again.
    Restored {
        /// The previous config, running again.
        collector: RunningCollector,
        /// Why the new config did not start.
        error: Error,
    },
    /// Neither the new config nor the previous one could start: nothing runs.
    Failed {
        /// Why the new config did not start.
        error: Error,
        /// Why the previous config did not start again.
        restore_error: Error,
    },
}

/// The result of a reload: the outcome and what the drain of the old pipelines could not deliver.
#[derive(Debug)]
pub struct Reloaded {
    /// Which config runs now, if any.
    pub outcome: ReloadOutcome,
    /// The drain of the previous pipelines (clean when everything accepted was delivered).
    pub drained: ShutdownReport,
}

impl RunningCollector {
    /// Replaces this collector's pipelines with those of `next`: pauses the receivers `next` has unchanged and
    /// stops the others, drains every pipeline and queue to the exporters within `drain_timeout`, then starts
    /// `next` with the same self-metrics registry and load-shedding setting, the paused receivers handing their
    /// requests to its pipelines. When `next` cannot start, `previous` (the config this collector was started
    /// from) is started again.
    pub async fn reload(self, next: Config, previous: Config, drain_timeout: Duration) -> Reloaded {
        let telemetry = self.telemetry().clone();
        let shedding = self.shedding().clone();
        let (rest, mut kept) = self.keep_receivers(&next).await;
        let mut drained = rest.shutdown(drain_timeout).await;
        let outcome = match Collector::with_telemetry(next, telemetry.clone())
            .with_shedding(shedding.clone())
            .start_keeping(&mut kept)
            .await
        {
            Ok(collector) => ReloadOutcome::Applied(collector),
            Err(error) => match Collector::with_telemetry(previous, telemetry)
                .with_shedding(shedding)
                .start_keeping(&mut kept)
                .await
            {
                Ok(collector) => ReloadOutcome::Restored { collector, error },
                Err(restore_error) => ReloadOutcome::Failed {
                    error,
                    restore_error,
                },
            },
        };
        // Only when no config started are kept receivers left over.
        let deadline = Instant::now() + drain_timeout;
        for receiver in kept {
            drained.errors.extend(receiver.stop(deadline).await);
        }
        Reloaded { outcome, drained }
    }

    /// Splits off the receivers that `next` has unchanged, each paused once the requests it is handing over are
    /// in: they wait for `next`'s pipelines instead of stopping.
    async fn keep_receivers(mut self, next: &Config) -> (RunningCollector, Vec<KeptReceiver>) {
        let mut kept = Vec::new();
        let mut restarting = Vec::new();
        for receiver in std::mem::take(self.receivers_mut()) {
            let unchanged = receiver.source.is_some()
                && reusable_source(next, &receiver.id) == receiver.source
                && served_in(next, &receiver.id) == receiver.ingest.served();
            if unchanged {
                let paused = receiver.ingest.pause().await;
                kept.push(KeptReceiver { receiver, paused });
            } else {
                restarting.push(receiver);
            }
        }
        *self.receivers_mut() = restarting;
        (self, kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(receivers: &str) -> Config {
        Config::from_yaml(&format!(
            r#"
receivers:
{receivers}
exporters:
  debug:
extensions:
  bearertokenauth: {{ token: secret }}
service:
  extensions: [bearertokenauth]
  pipelines:
    traces: {{ receivers: [otlp/plain, otlp/auth, otlp/tls], exporters: [debug] }}
"#
        ))
        .unwrap()
    }

    #[test]
    fn receivers_that_authenticate_or_serve_tls_are_never_kept() {
        let config = config(
            r#"
  otlp/plain: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
  otlp/auth: { protocols: { grpc: { endpoint: "127.0.0.1:0", auth: { authenticator: bearertokenauth } } } }
  otlp/tls: { protocols: { http: { endpoint: "127.0.0.1:0", tls: { cert_file: c.pem, key_file: k.pem } } } }
"#,
        );
        let id = |id: &str| ComponentId::parse(id).unwrap();
        assert!(reusable_source(&config, &id("otlp/plain")).is_some());
        assert!(reusable_source(&config, &id("otlp/auth")).is_none());
        assert!(reusable_source(&config, &id("otlp/tls")).is_none());
        assert_eq!(served_in(&config, &id("otlp/plain")), [true, false, false]);
    }

    #[test]
    fn settings_changed_in_code_are_not_taken_for_their_yaml() {
        let mut config = config(
            r#"
  otlp/plain: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
  otlp/auth: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
  otlp/tls: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
"#,
        );
        let plain = ComponentId::parse("otlp/plain").unwrap();
        assert!(reusable_source(&config, &plain).is_some());
        let settings = config.receivers.get_mut(&plain).unwrap();
        let _ = settings.get_mut::<crate::receiver::otlp::OtlpReceiverConfig>();
        assert!(reusable_source(&config, &plain).is_none());
    }
}
