//! Opening an exporter's persistent queue: where its files go under the storage extension's directory, which
//! batches it replays, and the report of what recovery cut (log and self-metrics).

use super::persistent::{Recovered, Store, StoreSettings};
use super::queue::{Queue, QueueConfig};
use crate::component::StorageDirectory;
use crate::telemetry::Telemetry;
use crate::{Batch, Error, Signal};
use bytes::Bytes;
use otlp_model::AnyRequest;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

/// The directory of the queue of exporter `id` for `signal` under the storage directory, named as otelcol names
/// a component's storage client (`exporter_otlp_backend_traces` for `otlp/backend`).
pub(crate) fn queue_dir(storage: &StorageDirectory, id: &str, signal: Signal) -> PathBuf {
    storage.client_path("exporter", id, &format!("_{}", signal.as_str()))
}

/// Opens the persistent queue of exporter `id` for `signal`, with the batches left on disk queued first.
pub(crate) fn open(
    id: &str,
    signal: Signal,
    storage: &StorageDirectory,
    config: &QueueConfig,
    telemetry: &Telemetry,
) -> Result<Queue, Error> {
    if !storage.directory.is_dir() {
        if !storage.create_directory {
            return Err(Error::Storage {
                path: storage.directory.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the storage directory does not exist (create it, or set create_directory: true)",
                ),
            });
        }
        std::fs::create_dir_all(&storage.directory).map_err(|source| Error::Storage {
            path: storage.directory.clone(),
            source,
        })?;
    }
    let (store, recovered) = Store::open(&StoreSettings {
        dir: queue_dir(storage, id, signal),
        max_bytes: config.storage_max_bytes,
        fsync: storage.fsync,
    })?;
    let replay = replay(id, signal, &store, recovered, telemetry);
    register_storage_metrics(telemetry, id, signal, &store);
    Ok(Queue::persistent(
        config.queue_size,
        config.sizer,
        store,
        replay,
    ))
}

/// Reports what recovery cut, and decodes the batches to send again.
fn replay(
    id: &str,
    signal: Signal,
    store: &Store,
    recovered: Recovered,
    telemetry: &Telemetry,
) -> Vec<(u64, Batch)> {
    let labels = [("exporter", id), ("data_type", signal.as_str())];
    let truncated = telemetry.counter(
        "otelcol_exporter_queue_storage_truncated_bytes",
        "Bytes cut from the end of persistent queue files found cut short or corrupt on start (the records in \
         them are lost).",
        &labels,
    );
    for truncation in &recovered.truncations {
        tracing::warn!(exporter = %id, signal = %signal, file = %truncation.file.display(),
            offset = truncation.cut.offset, bytes = truncation.cut.bytes, reason = %truncation.cut.reason,
            "persistent queue file cut back to its last good record; the data after it is lost");
        truncated.add(truncation.cut.bytes);
    }
    if recovered.acked_unreadable {
        tracing::warn!(exporter = %id, signal = %signal,
            "the persistent queue's acknowledgement file is unreadable; every batch on disk is sent again");
    }
    let unit = signal.item_unit();
    let replayed = telemetry.counter(
        &format!("otelcol_exporter_queue_recovered_{unit}"),
        &format!(
            "Number of {} found in the persistent queue on start and queued again (some may have been delivered \
             before a crash: they are sent again).",
            unit.replace('_', " ")
        ),
        &[("exporter", id)],
    );
    let mut batches = Vec::with_capacity(recovered.records.len());
    for record in recovered.records {
        match decode(signal, record.batch) {
            Some(batch) => {
                replayed.add(batch.item_count() as u64);
                batches.push((record.sequence, batch));
            }
            None => {
                // Its checksum held, so it was written that way: not this signal's data. It cannot be sent.
                tracing::warn!(exporter = %id, signal = %signal, record = record.sequence,
                    "a record of the persistent queue is not a {signal} request; it is dropped");
                if let Err(error) = store.ack(record.sequence) {
                    tracing::warn!(%error, "cannot acknowledge the dropped record");
                }
            }
        }
    }
    if !batches.is_empty() {
        tracing::info!(exporter = %id, signal = %signal, batches = batches.len(), items = replayed.get(),
            "sending again what the persistent queue held");
    }
    batches
}

/// A batch read back from disk, with its client, checked the way the receivers check what they accept.
fn decode(signal: Signal, record: Bytes) -> Option<Batch> {
    let (bytes, client) = super::stored::decode(record);
    let batch = match otlp_model::wire::scan(signal, &bytes) {
        Ok(scan) if scan.invalid == 0 => Some(Batch::from_encoded(signal, bytes, scan.items)),
        // Invalid items (kept by whatever queued them) or a request only prost reads: decode it.
        _ => AnyRequest::decode(signal, &bytes).ok().map(Batch::from),
    };
    batch.map(|batch| batch.with_client(client))
}

fn register_storage_metrics(telemetry: &Telemetry, id: &str, signal: Signal, store: &Arc<Store>) {
    let labels = [("exporter", id), ("data_type", signal.as_str())];
    // Weak: the registry outlives a collector that is reloaded, and must not keep its files open.
    let used: Weak<Store> = Arc::downgrade(store);
    telemetry.gauge(
        "otelcol_exporter_queue_storage_bytes",
        "Current size of the persistent sending queue's files, in bytes.",
        &labels,
        move || used.upgrade().map_or(0, |store| store.used_bytes()),
    );
    let max = store.max_bytes();
    telemetry.gauge(
        "otelcol_exporter_queue_storage_capacity_bytes",
        "Bound on the size of the persistent sending queue's files (sending_queue.storage_max_bytes).",
        &labels,
        move || max,
    );
}
