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
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            send_batch_size: 8192,
            send_batch_max_size: 0,
            timeout: Duration::from_millis(200),
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
