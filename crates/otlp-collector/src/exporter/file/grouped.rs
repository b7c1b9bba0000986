//! `group_by` for `format: json` and `format: proto`, as otelcol's grouping file exporter does it: each resource's
//! items go to the file whose `path` has the resource's value of `group_by.resource_attribute` in place of its
//! `*`, each file written (and rotated) as the single file of [`LinesExport`](super::lines::LinesExport) is. At
//! most `max_open_files` stay open; the least recently written is closed to open another.
//!
//! A resource without the attribute (or with an empty value) has no file and its items are counted as refused, as
//! is one whose value would lead out of the path's directory (a `/`, `..`). A batch whose groups are written one
//! after another is taken up, on a retry, from the first group not written.

use super::FileExporterConfig;
use super::config::GroupByConfig;
use super::lines::{append, encode};
use super::rotation::OpenFile;
use crate::exporter::{Delivered, Export, ExportError};
use crate::{AnyRequest, Batch};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Appends each resource's items to the file its attribute names.
pub(super) struct GroupedLinesExport {
    config: FileExporterConfig,
    /// The open files, the most recently written last.
    open: Arc<parking_lot::Mutex<OpenFiles>>,
}

/// Each file's path, and the file while it is open.
type OpenFiles = VecDeque<(PathBuf, Option<OpenFile>)>;

/// A batch as the bytes each of its files takes, how many are written, and what has no file.
pub(super) struct Groups {
    parts: Vec<(PathBuf, Bytes)>,
    written: AtomicUsize,
    refused: usize,
}

impl GroupedLinesExport {
    pub(super) fn new(config: FileExporterConfig) -> Self {
        GroupedLinesExport {
            config,
            open: Arc::new(parking_lot::Mutex::new(VecDeque::new())),
        }
    }

    /// The file of `value`: `path` with `value` for its `*`; none for a value that would leave its directory.
    fn path_of(&self, value: &str) -> Option<PathBuf> {
        let leads_out =
            value.is_empty() || value == "." || value == ".." || value.contains(['/', '\\', '\0']);
        (!leads_out)
            .then(|| PathBuf::from(self.config.path.to_string_lossy().replacen('*', value, 1)))
    }
}

/// The resources of `resources` grouped by their value of `key`, in the order each value first came; the
/// resources without it apart.
fn grouped<T: Clone>(
    resources: &[T],
    resource: impl Fn(&T) -> Option<&Resource>,
    key: &str,
) -> (Vec<(String, Vec<T>)>, Vec<T>) {
    let mut groups: Vec<(String, Vec<T>)> = Vec::new();
    let mut without = Vec::new();
    for item in resources {
        let value = resource(item)
            .into_iter()
            .flat_map(|resource| &resource.attributes)
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .map(|value| otlp_ottl::Value::from_any(value).as_string().into_owned())
            .filter(|value| !value.is_empty());
        match value {
            Some(value) => match groups.iter_mut().find(|(v, _)| *v == value) {
                Some((_, list)) => list.push(item.clone()),
                None => groups.push((value, vec![item.clone()])),
            },
            None => without.push(item.clone()),
        }
    }
    (groups, without)
}

/// The batch as one batch per value of `group_by.resource_attribute`, and the items of resources without one.
fn split(batch: &Batch, group_by: &GroupByConfig) -> (Vec<(String, Batch)>, usize) {
    let key = group_by.resource_attribute.as_str();
    let (groups, without): (Vec<(String, Batch)>, Batch) = match batch.request() {
        AnyRequest::Traces(request) => {
            let (groups, without) = grouped(&request.resource_spans, |r| r.resource.as_ref(), key);
            let batch = |resource_spans| Batch::new(ExportTraceServiceRequest { resource_spans });
            (
                groups.into_iter().map(|(v, g)| (v, batch(g))).collect(),
                batch(without),
            )
        }
        AnyRequest::Metrics(request) => {
            let (groups, without) =
                grouped(&request.resource_metrics, |r| r.resource.as_ref(), key);
            let batch =
                |resource_metrics| Batch::new(ExportMetricsServiceRequest { resource_metrics });
            (
                groups.into_iter().map(|(v, g)| (v, batch(g))).collect(),
                batch(without),
            )
        }
        AnyRequest::Logs(request) => {
            let (groups, without) = grouped(&request.resource_logs, |r| r.resource.as_ref(), key);
            let batch = |resource_logs| Batch::new(ExportLogsServiceRequest { resource_logs });
            (
                groups.into_iter().map(|(v, g)| (v, batch(g))).collect(),
                batch(without),
            )
        }
    };
    (groups, without.item_count())
}

impl Export for GroupedLinesExport {
    type Payload = Groups;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Groups, ExportError> {
        let (groups, mut refused) = split(batch, &self.config.group_by);
        let mut parts = Vec::with_capacity(groups.len());
        for (value, group) in groups {
            match self.path_of(&value) {
                Some(path) => {
                    let bytes = encode(&group, self.config.format, self.config.compression)?;
                    parts.push((path, Bytes::from(bytes)));
                }
                None => refused += group.item_count(),
            }
        }
        Ok(Groups {
            parts,
            written: AtomicUsize::new(0),
            refused,
        })
    }

    async fn send(&self, groups: &Groups) -> Result<Delivered, ExportError> {
        let from = groups.written.load(Ordering::Acquire);
        for (path, bytes) in &groups.parts[from..] {
            let open = self.open.clone();
            let (path, bytes) = (path.clone(), bytes.clone());
            let rotation = self.config.rotation.clone();
            let max_open = self.config.group_by.max_open_files;
            tokio::task::spawn_blocking(move || {
                let mut open = open.lock();
                let mut file = match open.iter().position(|(p, _)| *p == path) {
                    Some(at) => open.remove(at).and_then(|(_, file)| file),
                    None => None,
                };
                let written = append(&path, rotation.as_ref(), &mut file, &bytes);
                open.push_back((path.clone(), file));
                while open.len() > max_open {
                    open.pop_front();
                }
                written.map_err(|e| {
                    ExportError::retryable(format!("cannot write {}: {e}", path.display()))
                })
            })
            .await
            .map_err(|e| ExportError::retryable(format!("file writer task failed: {e}")))??;
            groups.written.fetch_add(1, Ordering::AcqRel);
        }
        Ok(Delivered {
            rejected: groups.refused,
            message: if groups.refused == 0 {
                String::new()
            } else {
                format!(
                    "items of resources without a usable `{}` (missing, empty, or leading out of the path's \
                     directory)",
                    self.config.group_by.resource_attribute
                )
            },
        })
    }

    async fn flush(&self) -> Result<(), ExportError> {
        let open = self.open.clone();
        tokio::task::spawn_blocking(move || {
            for (path, file) in open.lock().iter() {
                if let Some(file) = file {
                    file.file.sync_all().map_err(|e| {
                        ExportError::retryable(format!("cannot sync {}: {e}", path.display()))
                    })?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| ExportError::retryable(format!("file sync task failed: {e}")))?
    }
}
