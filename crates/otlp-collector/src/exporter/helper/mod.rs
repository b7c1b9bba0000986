//! The exporter helper, in parts: the sending [`queue`] (kept on disk by [`persistent`] in [`segment`] files
//! when `storage` is set, opened and replayed by [`durable`]; its consumers merge and split what they take when
//! [`batcher`] is configured), the [`retry`] policy, the per-attempt
//! [`timeout`], the [`handle`] that runs them for one exporter and signal (logging an [`outage`] as it starts and
//! ends), and the [`fanout`] at the end of a pipeline.

mod batcher;
mod breaker;
mod durable;
mod fanout;
mod handle;
mod outage;
mod persistent;
mod queue;
mod retry;
pub(crate) mod segment;
mod stored;
mod timeout;

pub use batcher::QueueBatchConfig;
pub use breaker::CircuitBreakerConfig;
pub(crate) use fanout::ExporterFanout;
pub(crate) use handle::{ExporterHandle, flush_all, shutdown_all};
pub use queue::{QueueConfig, Sizer};
pub use retry::RetryConfig;

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// How the helper runs an exporter: its queue, retries and per-attempt timeout.
#[derive(Debug, Clone)]
pub struct HelperSettings {
    /// The sending queue.
    pub queue: QueueConfig,
    /// Retries.
    pub retry: RetryConfig,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// When to stop calling a failing backend for a while.
    pub circuit_breaker: CircuitBreakerConfig,
}

impl HelperSettings {
    /// For exporters that write locally (files, the log): a small queue with one consumer, since there is no
    /// backend outage to absorb, and short retries for a full disk.
    pub fn local() -> Self {
        HelperSettings {
            queue: QueueConfig {
                enabled: true,
                num_consumers: 1,
                // Enough to ride out a file's rotation and sync; the batch processor in front holds four more
                // batches. Each queued batch is a batch's worth of memory (about 5 MB at 8192 spans), and under a
                // load the disk cannot take a deeper queue only adds memory before clients are told to back off:
                // 64 took the embedded default to 640 MB under `loadgen --max`, 8 to about 340 MB, and once the
                // file writer built its columns 1024 rows at a time, 8 to 283 MB and 4 to 250 MB.
                queue_size: 4,
                ..QueueConfig::default()
            },
            retry: RetryConfig {
                initial_interval: Duration::from_millis(100),
                max_interval: Duration::from_secs(5),
                max_elapsed_time: Duration::from_secs(60),
                ..RetryConfig::default()
            },
            timeout: Duration::from_secs(30),
            circuit_breaker: CircuitBreakerConfig::default(),
        }
    }

    /// The problems of an exporter's `sending_queue`, `retry_on_failure` and `circuit_breaker`, each with its key.
    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        [
            ("sending_queue", self.queue.validate()),
            ("retry_on_failure", self.retry.validate()),
            ("circuit_breaker", self.circuit_breaker.validate()),
        ]
        .into_iter()
        .filter_map(|(key, check)| check.err().map(|message| (key, message)))
        .collect()
    }
}

/// A `sending_queue` of an exporter that writes locally, whose keys left out take [`HelperSettings::local`]'s
/// values rather than a network exporter's (10 consumers would only hold 10 batches waiting for the same file).
pub(crate) fn local_queue<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<QueueConfig>, D::Error> {
    use serde::de::Error as _;
    let Some(mut keys) = Option::<serde_norway::Mapping>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let local = HelperSettings::local().queue;
    for (key, value) in [
        ("num_consumers", local.num_consumers),
        ("queue_size", local.queue_size),
    ] {
        keys.entry(key.into()).or_insert_with(|| value.into());
    }
    QueueConfig::deserialize(serde_norway::Value::Mapping(keys))
        .map(Some)
        .map_err(D::Error::custom)
}
