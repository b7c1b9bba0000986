//! otelcol's `sending_queue.batch`: the exporter's consumers merge queued batches into larger ones before sending,
//! and split those larger than `max_size`.
//!
//! One consumer gathers at a time, from the first batch it takes until the batches hold `min_size` or
//! `flush_timeout` has passed, and then sends while the next consumer gathers: as with otelcol's single batcher,
//! a quiet exporter sends one batch per `flush_timeout` however many consumers it has, not one per consumer.
//! Each batch taken off the queue is finished only once every item it brought has been sent, so a persistent
//! queue, a caller waiting for the result and a flush see the same thing with batching as without.

use super::queue::{Queue, Sizer, Taken};
use crate::{Batch, de};
use serde::Deserialize;
use std::time::Duration;
use tokio::time::Instant;

/// `sending_queue.batch`: how queued batches are merged before they are sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueBatchConfig {
    /// How long the first batch taken waits for others before what was gathered is sent, whatever its size.
    #[serde(deserialize_with = "de::duration")]
    pub flush_timeout: Duration,
    /// Send as soon as the gathered batches hold this much, in units of `sizer`.
    pub min_size: usize,
    /// Split what is sent into batches of at most this much (0: no limit, batches are never split).
    pub max_size: usize,
    /// What `min_size` and `max_size` count: `items` (spans, data points, log records; the default) or `bytes`
    /// (the size encoded as OTLP protobuf).
    pub sizer: Sizer,
}

impl Default for QueueBatchConfig {
    /// otelcol's defaults, taken by `batch: {}`.
    fn default() -> Self {
        QueueBatchConfig {
            flush_timeout: Duration::from_millis(200),
            min_size: 8192,
            max_size: 0,
            sizer: Sizer::Items,
        }
    }
}

impl QueueBatchConfig {
    /// Checks the settings against each other and against the queue's capacity, as otelcol does.
    pub(super) fn validate(&self, queue_size: usize, queue_sizer: Sizer) -> Result<(), String> {
        if self.flush_timeout.is_zero() {
            return Err("sending_queue.batch.flush_timeout must be positive".into());
        }
        if self.sizer == Sizer::Requests {
            return Err(
                "sending_queue.batch.sizer `requests` is not supported: a batch is sized by what it holds; \
                 use `items` (the default) or `bytes`"
                    .into(),
            );
        }
        if self.max_size != 0 && self.max_size < self.min_size {
            return Err(format!(
                "sending_queue.batch.max_size ({}) must be 0 (no limit) or at least min_size ({})",
                self.max_size, self.min_size
            ));
        }
        // The queue frees a batch's place when a consumer takes it, but a gathering consumer that could never
        // reach min_size would wait out every flush_timeout.
        if queue_sizer == self.sizer && self.min_size > queue_size {
            return Err(format!(
                "sending_queue.batch.min_size ({}) must not exceed sending_queue.queue_size ({queue_size}) when \
                 both count {}",
                self.min_size,
                self.sizer.name()
            ));
        }
        Ok(())
    }
}

/// The gathering side of exporter batching: one consumer at a time takes batches off the queue.
pub(super) struct Batcher {
    config: QueueBatchConfig,
    /// Held by the consumer gathering; the others wait here rather than on the queue.
    gathering: tokio::sync::Mutex<()>,
}

impl Batcher {
    pub(super) fn new(config: QueueBatchConfig) -> Self {
        Batcher {
            config,
            gathering: tokio::sync::Mutex::new(()),
        }
    }

    /// Takes batches off `queue` until they hold `min_size` or `flush_timeout` has passed since the first was
    /// taken (at once when the queue closes); `None` once the queue is closed and empty.
    pub(super) async fn gather(&self, queue: &Queue) -> Option<Vec<Taken>> {
        let _turn = self.gathering.lock().await;
        let first = queue.pop().await?;
        let deadline = Instant::now() + self.config.flush_timeout;
        let mut size = self.config.sizer.size_of(&first.batch);
        let mut gathered = vec![first];
        while size < self.config.min_size {
            // `pop` is cancel-safe: a batch not received when the deadline fires stays queued.
            let next = tokio::select! {
                next = queue.pop() => next,
                () = tokio::time::sleep_until(deadline) => None,
            };
            let Some(next) = next else { break };
            size += self.config.sizer.size_of(&next.batch);
            gathered.push(next);
        }
        Some(gathered)
    }

    /// True when `batch` alone is larger than `max_size`, so that sending it means splitting it.
    pub(super) fn splits(&self, batch: &Batch) -> bool {
        self.config.max_size != 0
            && batch.item_count() > 1
            && self.config.sizer.size_of(batch) > self.config.max_size
    }

    /// The batches to send for what was gathered: merged, then split at `max_size`. Batches of different clients
    /// (`include_metadata`) are merged apart, each in the order it came: one batch of both would keep neither
    /// client, and an authenticator that reads it (`headers_setter`) would send them as no one's.
    pub(super) fn assemble(&self, gathered: &[Taken]) -> Vec<Batch> {
        let mut merged: Vec<Batch> = Vec::new();
        for taken in gathered {
            let batch = taken.batch.share();
            let Some(same_client) = merged.iter_mut().find(|m| m.client() == batch.client()) else {
                merged.push(batch);
                continue;
            };
            // One queue holds one signal, so nothing is handed back; kept apart rather than dropped if it were.
            if let Err(other) = same_client.append(batch) {
                tracing::error!(signal = %other.signal(), items = other.item_count(),
                    "a queue held batches of two signals; the odd one is sent on its own");
                merged.push(other);
            }
        }
        let mut parts = Vec::new();
        for mut batch in merged {
            while self.splits(&batch) {
                parts.push(split_front_within(
                    &mut batch,
                    self.config.sizer,
                    self.config.max_size,
                ));
            }
            parts.push(batch);
        }
        parts
    }
}

/// Removes from the front of `batch` the most items that fit in `max` units of `sizer` (at least one item, which
/// may alone exceed `max`). In bytes the cut is estimated from the average item size, then halved until it fits:
/// an item's encoded size cannot be known without encoding it.
fn split_front_within(batch: &mut Batch, sizer: Sizer, max: usize) -> Batch {
    let items = batch.item_count();
    let mut take = match sizer {
        Sizer::Bytes => {
            let bytes = batch.encoded_len().max(1);
            (items.saturating_mul(max) / bytes).clamp(1, items)
        }
        Sizer::Items | Sizer::Requests => max.clamp(1, items),
    };
    loop {
        let part = batch.split_front(take);
        if take == 1 || sizer.size_of(&part) <= max {
            return part;
        }
        // Too large: put it back in front of the rest and try half as many items.
        take /= 2;
        let rest = std::mem::replace(batch, part);
        if let Err(rest) = batch.append(rest) {
            // Parts of one batch share its signal; if that ever broke, the rest goes out unsplit, not lost.
            tracing::error!(items = rest.item_count(), "a split batch changed signal");
            return std::mem::replace(batch, rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn logs(items: usize, body: &str) -> Batch {
        use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
        use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
        use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
        let record = LogRecord {
            body: Some(AnyValue {
                value: Some(Value::StringValue(body.to_string())),
            }),
            ..Default::default()
        };
        Batch::new(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![record; items],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    fn queue_of(batches: &[Batch]) -> Queue {
        let queue = Queue::new(1000, Sizer::Requests);
        for batch in batches {
            let slot = queue.try_reserve(batch).unwrap();
            queue.push(slot, Arc::new(batch.clone()), None).unwrap();
        }
        queue
    }

    fn batcher(min_size: usize, max_size: usize, sizer: Sizer) -> Batcher {
        Batcher::new(QueueBatchConfig {
            flush_timeout: Duration::from_millis(200),
            min_size,
            max_size,
            sizer,
        })
    }

    fn bodies(batch: &Batch) -> Vec<String> {
        let request = batch
            .get::<opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest>(
        );
        request
            .into_iter()
            .flat_map(|r| &r.resource_logs)
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .map(|l| format!("{:?}", l.body.as_ref().and_then(|b| b.value.as_ref())))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn gathering_stops_once_min_size_is_reached() {
        let queue = queue_of(&[logs(3, "a"), logs(3, "b"), logs(3, "c"), logs(3, "d")]);
        let batcher = batcher(5, 0, Sizer::Items);
        let gathered = batcher.gather(&queue).await.unwrap();
        let sizes: Vec<usize> = gathered.iter().map(|t| t.batch.item_count()).collect();
        assert_eq!(sizes, [3, 3], "3 < 5, then 6 >= 5");
        let parts = batcher.assemble(&gathered);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].item_count(), 6);
        assert_eq!(
            queue.held().get(),
            12,
            "gathered items stay held until finished"
        );
        for taken in gathered {
            queue.finish(taken);
        }
        assert_eq!(queue.held().get(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_gathering_is_sent_at_the_flush_timeout() {
        let queue = Arc::new(queue_of(&[logs(2, "a")]));
        let batcher = Arc::new(batcher(100, 0, Sizer::Items));
        let started = Instant::now();
        let gathering = tokio::spawn({
            let (queue, batcher) = (queue.clone(), batcher.clone());
            async move { batcher.gather(&queue).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let late = logs(1, "b");
        let slot = queue.try_reserve(&late).unwrap();
        queue.push(slot, Arc::new(late), None).unwrap();
        let gathered = gathering.await.unwrap().unwrap();
        assert_eq!(
            gathered.len(),
            2,
            "a batch arriving within the timeout joins"
        );
        assert_eq!(started.elapsed(), Duration::from_millis(200));
        assert_eq!(queue.len_reader()(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_queue_ends_the_gathering_at_once_and_then_ends_it() {
        let queue = queue_of(&[logs(2, "a")]);
        queue.close();
        let batcher = batcher(100, 0, Sizer::Items);
        let started = Instant::now();
        let gathered = batcher.gather(&queue).await.unwrap();
        assert_eq!((gathered.len(), started.elapsed()), (1, Duration::ZERO));
        assert!(batcher.gather(&queue).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn one_consumer_gathers_at_a_time() {
        let queue = Arc::new(queue_of(&[logs(1, "a"), logs(1, "b")]));
        let batcher = Arc::new(batcher(10, 0, Sizer::Items));
        let gather = |queue: Arc<Queue>, batcher: Arc<Batcher>| async move {
            batcher.gather(&queue).await.map(|g| g.len())
        };
        let first = tokio::spawn(gather(queue.clone(), batcher.clone()));
        let second = tokio::spawn(gather(queue.clone(), batcher.clone()));
        tokio::time::sleep(Duration::from_millis(250)).await;
        queue.close();
        let mut counts = [first.await.unwrap(), second.await.unwrap()];
        counts.sort();
        assert_eq!(
            counts,
            [None, Some(2)],
            "both queued batches went to one gathering"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn split_at_max_items_keeps_every_item_in_order() {
        let queue = queue_of(&[logs(4, "a"), logs(4, "b"), logs(4, "c")]);
        let batcher = batcher(12, 5, Sizer::Items);
        let gathered = batcher.gather(&queue).await.unwrap();
        let parts = batcher.assemble(&gathered);
        let sizes: Vec<usize> = parts.iter().map(Batch::item_count).collect();
        assert_eq!(sizes, [5, 5, 2]);
        let sent: Vec<String> = parts.iter().flat_map(bodies).collect();
        let queued: Vec<String> = gathered.iter().flat_map(|t| bodies(&t.batch)).collect();
        assert_eq!(sent, queued);
    }

    #[tokio::test(start_paused = true)]
    async fn split_at_max_bytes_gives_parts_within_the_limit() {
        // Log records of very different sizes, so that the average item size misjudges the cut.
        let batches = [logs(10, "x"), logs(3, &"y".repeat(400)), logs(10, "z")];
        let queue = queue_of(&batches);
        let total: usize = batches.iter().map(Batch::encoded_len).sum();
        let batcher = batcher(total, 600, Sizer::Bytes);
        let gathered = batcher.gather(&queue).await.unwrap();
        assert_eq!(gathered.len(), 3);
        let parts = batcher.assemble(&gathered);
        for part in &parts {
            assert!(part.encoded_len() <= 600, "{} bytes", part.encoded_len());
        }
        let sent: Vec<String> = parts.iter().flat_map(bodies).collect();
        let queued: Vec<String> = gathered.iter().flat_map(|t| bodies(&t.batch)).collect();
        assert_eq!(sent, queued);
    }

    #[tokio::test(start_paused = true)]
    async fn batches_of_different_clients_are_merged_apart() {
        let client = |tenant: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert("x-scope-orgid", tenant.parse().unwrap());
            Some(crate::client::from_headers(&headers, None))
        };
        let queue = queue_of(&[
            logs(1, "a1").with_client(client("a")),
            logs(1, "b1").with_client(client("b")),
            logs(1, "a2").with_client(client("a")),
            logs(1, "n1"),
        ]);
        let batcher = batcher(4, 0, Sizer::Items);
        let gathered = batcher.gather(&queue).await.unwrap();
        let parts = batcher.assemble(&gathered);
        let sent: Vec<(Option<String>, Vec<String>)> = parts
            .iter()
            .map(|part| {
                let tenant = part
                    .client()
                    .and_then(|c| c.metadata_values("x-scope-orgid").first().cloned());
                (tenant, bodies(part))
            })
            .collect();
        let body = |text: &str| format!("{:?}", Some(otlp_ottl::string_value(text).value.unwrap()));
        assert_eq!(
            sent,
            [
                (Some("a".into()), vec![body("a1"), body("a2")]),
                (Some("b".into()), vec![body("b1")]),
                (None, vec![body("n1")]),
            ]
        );
    }

    #[test]
    fn an_item_larger_than_max_bytes_goes_alone() {
        let mut batch = logs(1, &"w".repeat(1000));
        batch.append(logs(1, "v")).unwrap();
        let front = split_front_within(&mut batch, Sizer::Bytes, 100);
        assert_eq!((front.item_count(), batch.item_count()), (1, 1));
        assert!(front.encoded_len() > 100);
    }

    #[test]
    fn settings_are_checked_as_otelcol_checks_them() {
        let ok = QueueBatchConfig::default();
        assert_eq!(ok.validate(10000, Sizer::Items), Ok(()));
        assert_eq!(
            ok.validate(1000, Sizer::Requests),
            Ok(()),
            "different sizers"
        );
        let err = ok.validate(1000, Sizer::Items).unwrap_err();
        assert!(
            err.contains("min_size (8192) must not exceed sending_queue.queue_size (1000)"),
            "{err}"
        );
        let small_max = QueueBatchConfig {
            max_size: 10,
            ..ok.clone()
        };
        let err = small_max.validate(100000, Sizer::Items).unwrap_err();
        assert!(
            err.contains("max_size (10) must be 0 (no limit) or at least min_size (8192)"),
            "{err}"
        );
        let requests = QueueBatchConfig {
            sizer: Sizer::Requests,
            ..ok.clone()
        };
        assert!(
            requests
                .validate(100000, Sizer::Items)
                .unwrap_err()
                .contains("`requests` is not supported")
        );
        let zero = QueueBatchConfig {
            flush_timeout: Duration::ZERO,
            ..ok
        };
        assert!(
            zero.validate(100000, Sizer::Items)
                .unwrap_err()
                .contains("flush_timeout must be positive")
        );
    }
}
