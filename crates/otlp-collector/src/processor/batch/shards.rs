//! The `batch` processor's pending items, one batch per client as its `metadata_keys` tell clients apart (one for
//! all without them), as otelcol's batcher shards by metadata.

use super::BatchConfig;
use crate::client::{self, ClientInfo};
use crate::{Batch, Signal};
use std::collections::HashMap;
use std::sync::Arc;

/// Items waiting to be sent, by what their batch keeps of its clients.
pub(super) struct Shards {
    signal: Signal,
    /// `None` keys the one batch of a processor without `metadata_keys`, whose batches keep no client.
    batches: HashMap<Option<Arc<ClientInfo>>, Batch>,
    items: usize,
}

/// Why a batch was not taken into the pending ones.
pub(super) enum Untaken {
    /// Of another signal than the pipeline's.
    OtherSignal(Batch),
    /// Its client would be one more than `metadata_cardinality_limit` batches pending at once.
    TooManyClients(Batch),
}

impl Shards {
    pub(super) fn new(signal: Signal) -> Self {
        Shards {
            signal,
            batches: HashMap::new(),
            items: 0,
        }
    }

    /// Items pending, in every batch.
    pub(super) fn item_count(&self) -> usize {
        self.items
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items == 0
    }

    pub(super) fn signal(&self) -> Signal {
        self.signal
    }

    /// Adds `batch` to the pending batch of its client; the items of that batch, now.
    pub(super) fn add(&mut self, mut batch: Batch, config: &BatchConfig) -> Result<usize, Untaken> {
        if batch.signal() != self.signal {
            return Err(Untaken::OtherSignal(batch));
        }
        let key = (!config.metadata_keys.is_empty())
            .then(|| Arc::new(client::only_keys(batch.client(), &config.metadata_keys)));
        if !self.batches.contains_key(&key)
            && !self.batches.is_empty()
            && self.batches.len() >= config.metadata_cardinality_limit
        {
            return Err(Untaken::TooManyClients(batch));
        }
        // What the batch keeps of its client is its key, set as it is sent: appending need not compare clients.
        batch.set_client(None);
        let items = batch.item_count();
        let pending = self
            .batches
            .entry(key)
            .or_insert_with(|| Batch::empty(self.signal));
        match pending.append(batch) {
            Ok(()) => {
                self.items += items;
                Ok(pending.item_count())
            }
            Err(batch) => Err(Untaken::OtherSignal(batch)),
        }
    }

    /// The next batch to send: from a pending batch that reached `send_batch_size`, or from any when `all`
    /// (the timeout, a flush, a shutdown). A batch emptied by it is forgotten, so that
    /// `metadata_cardinality_limit` bounds the clients pending at once, not every client ever seen.
    pub(super) fn take_next(&mut self, config: &BatchConfig, all: bool) -> Option<Batch> {
        let key = self
            .batches
            .iter()
            .find(|(_, pending)| {
                !pending.is_empty() && (all || pending.item_count() >= config.send_batch_size)
            })
            .map(|(key, _)| key.clone())?;
        let pending = self.batches.get_mut(&key)?;
        let batch = config.next_batch(pending);
        if pending.is_empty() {
            self.batches.remove(&key);
        }
        self.items -= batch.item_count();
        Some(batch.with_client(key))
    }

    /// Every pending batch given up, as one count of items.
    pub(super) fn clear(&mut self) -> usize {
        self.batches.clear();
        std::mem::take(&mut self.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(keys: &[&str], limit: usize) -> BatchConfig {
        BatchConfig {
            send_batch_size: 10,
            metadata_keys: keys.iter().map(|k| k.to_string()).collect(),
            metadata_cardinality_limit: limit,
            ..BatchConfig::default()
        }
    }

    fn from(tenant: Option<&str>, spans: usize) -> Batch {
        let mut headers = http::HeaderMap::new();
        if let Some(tenant) = tenant {
            headers.insert("x-scope-orgid", tenant.parse().unwrap());
        }
        headers.insert("user-agent", "sdk".parse().unwrap());
        Batch::new(otlp_testkit::Generator::new(spans as u64).traces(spans))
            .with_client(Some(client::from_headers(&headers, None)))
    }

    fn tenant(batch: &Batch) -> Option<&str> {
        let values = batch.client()?.metadata_values("x-scope-orgid");
        values.first().map(String::as_str)
    }

    #[test]
    fn each_tenant_is_batched_apart_and_keeps_only_the_keys() {
        let config = config(&["X-Scope-OrgID"], 10);
        let mut shards = Shards::new(Signal::Traces);
        assert_eq!(shards.add(from(Some("a"), 5), &config).ok(), Some(5));
        assert_eq!(shards.add(from(Some("b"), 6), &config).ok(), Some(6));
        assert_eq!(shards.add(from(Some("a"), 5), &config).ok(), Some(10));
        assert_eq!(shards.item_count(), 16);
        let full = shards.take_next(&config, false).unwrap();
        assert_eq!((tenant(&full), full.item_count()), (Some("a"), 10));
        assert_eq!(
            full.client().unwrap().metadata.len(),
            1,
            "user-agent is not kept"
        );
        assert!(shards.take_next(&config, false).is_none(), "b is not full");
        let rest = shards.take_next(&config, true).unwrap();
        assert_eq!((tenant(&rest), rest.item_count()), (Some("b"), 6));
        assert!(shards.is_empty());
    }

    #[test]
    fn without_metadata_keys_batches_keep_no_client() {
        let config = config(&[], 10);
        let mut shards = Shards::new(Signal::Traces);
        shards.add(from(Some("a"), 5), &config).ok().unwrap();
        shards.add(from(Some("b"), 5), &config).ok().unwrap();
        let batch = shards.take_next(&config, false).unwrap();
        assert_eq!(batch.item_count(), 10, "one batch of both clients");
        assert!(batch.client().is_none());
    }

    #[test]
    fn a_client_without_the_key_is_a_batch_of_its_own() {
        let config = config(&["x-scope-orgid"], 10);
        let mut shards = Shards::new(Signal::Traces);
        shards.add(from(None, 3), &config).ok().unwrap();
        shards.add(from(Some("a"), 3), &config).ok().unwrap();
        let mut tenants: Vec<_> = std::iter::from_fn(|| shards.take_next(&config, true))
            .map(|batch| tenant(&batch).map(str::to_owned))
            .collect();
        tenants.sort();
        assert_eq!(tenants, [None, Some("a".to_owned())]);
    }

    #[test]
    fn the_cardinality_limit_counts_clients_pending_at_once() {
        let config = config(&["x-scope-orgid"], 2);
        let mut shards = Shards::new(Signal::Traces);
        shards.add(from(Some("a"), 1), &config).ok().unwrap();
        shards.add(from(Some("b"), 1), &config).ok().unwrap();
        shards.add(from(Some("a"), 1), &config).ok().unwrap();
        let refused = shards.add(from(Some("c"), 1), &config);
        assert!(matches!(refused, Err(Untaken::TooManyClients(b)) if b.item_count() == 1));
        while shards.take_next(&config, true).is_some() {}
        assert!(shards.add(from(Some("c"), 1), &config).is_ok());
    }
}
