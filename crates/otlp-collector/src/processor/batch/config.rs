//! The `batch` processor's settings.

use crate::Batch;
use crate::de;
use serde::Deserialize;
use std::time::Duration;

/// The `batch` processor's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Send as soon as this many items are waiting.
    pub send_batch_size: usize,
    /// Never send more than this many items at once (0: no limit).
    pub send_batch_max_size: usize,
    /// Send whatever is waiting after this long.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Request metadata keys (`include_metadata` on the receiver) whose values tell clients apart: each distinct
    /// combination is batched on its own, and its batches keep those keys' values for the exporters
    /// (`headers_setter`). Without them, batches mix clients and keep none.
    pub metadata_keys: Vec<String>,
    /// The most distinct combinations of `metadata_keys` values pending at once; data of one more is refused
    /// until a batch is sent.
    pub metadata_cardinality_limit: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            send_batch_size: 8192,
            send_batch_max_size: 0,
            timeout: Duration::from_millis(200),
            metadata_keys: Vec::new(),
            metadata_cardinality_limit: 1000,
        }
    }
}

/// Full batches the processor's buffer holds before it refuses more.
const BUFFERED_BATCHES: usize = 4;

impl BatchConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.send_batch_max_size > 0 && self.send_batch_max_size < self.send_batch_size {
            return Err("send_batch_max_size must be 0 or at least send_batch_size".into());
        }
        if !self.metadata_keys.is_empty() && self.metadata_cardinality_limit == 0 {
            return Err(
                "metadata_cardinality_limit must be at least 1 when metadata_keys are set".into(),
            );
        }
        for (i, key) in self.metadata_keys.iter().enumerate() {
            if self.metadata_keys[..i]
                .iter()
                .any(|earlier| earlier.eq_ignore_ascii_case(key))
            {
                return Err(format!(
                    "metadata_keys: `{key}` is listed twice (keys are matched case-insensitively)"
                ));
            }
        }
        Ok(())
    }

    /// How many items may wait in the processor before it refuses more: room for a few full batches, so that a
    /// short stall downstream is absorbed without refusing clients. Every exporter has its own queue behind this
    /// buffer, so a longer one would only hold more memory before clients are told to back off.
    pub(crate) fn buffer_capacity(&self) -> usize {
        let batch = self.send_batch_size.max(self.send_batch_max_size).max(1);
        batch.saturating_mul(BUFFERED_BATCHES)
    }

    /// Takes the next batch to send from `pending`: at most `send_batch_max_size` items when that is set; else
    /// whole received requests up to the first that reaches `send_batch_size`, as otelcol sends. Never all that is
    /// pending at once: after a stall downstream the buffer holds several batches' worth, and one batch of all of
    /// them would cost the exporters memory in proportion (a columnar file writer about 3 KB a span).
    pub(crate) fn next_batch(&self, pending: &mut Batch) -> Batch {
        match (self.send_batch_max_size, self.send_batch_size) {
            (0, 0) => pending.split_front(usize::MAX),
            (0, size) => pending.split_front_requests(size),
            (max, _) => pending.split_front(max),
        }
    }
}
