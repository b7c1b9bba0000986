//! `file_sd_configs`: target groups read from JSON or YAML files, as Prometheus reads them. Each file holds a
//! list of `{targets: [...], labels: {...}}`; its targets get `__meta_filepath`, the file's path. The patterns
//! (a `*` in the file name only) are looked at every second for files that appeared, changed or went away, as
//! Prometheus's file watch notices them, and every file is read again each `refresh_interval`. A file that cannot
//! be read or parsed keeps the groups it had, and the problem is logged once per change.

use super::config::{FileSdConfig, StaticConfig};
use crate::receiver::filelog::finder::Finder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// A group of targets and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Group {
    pub(super) targets: Vec<String>,
    pub(super) labels: BTreeMap<String, String>,
}

impl Group {
    pub(super) fn from_static(group: &StaticConfig) -> Group {
        Group {
            targets: group.targets.clone(),
            labels: group.labels.clone(),
        }
    }
}

/// What identifies a file's content without reading it.
type Fingerprint = (Option<SystemTime>, u64);

/// One job's `file_sd_configs`, and what its files said last.
pub(super) struct FileDiscovery {
    finders: Vec<Finder>,
    refresh: Duration,
    last_read: Option<Instant>,
    files: BTreeMap<PathBuf, (Fingerprint, Vec<Group>)>,
    /// The groups the last poll gave.
    last: Option<Vec<Group>>,
}

fn fingerprint(path: &Path) -> Fingerprint {
    std::fs::metadata(path).map_or((None, 0), |meta| (meta.modified().ok(), meta.len()))
}

/// The groups of a file's text, by its extension.
fn parse(path: &Path, text: &str) -> Result<Vec<Group>, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FileGroup {
        #[serde(default)]
        targets: Vec<String>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }
    let json = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
    let groups: Vec<FileGroup> = if json {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        serde_norway::from_str(text).map_err(|e| e.to_string())?
    };
    let source = path.display().to_string();
    Ok(groups
        .into_iter()
        .map(|group| {
            let mut labels = group.labels;
            labels.insert("__meta_filepath".to_owned(), source.clone());
            Group {
                targets: group.targets,
                labels,
            }
        })
        .collect())
}

impl FileDiscovery {
    pub(super) fn new(configs: &[FileSdConfig]) -> Result<FileDiscovery, String> {
        let finders = configs
            .iter()
            .map(|config| Finder::new(&config.files, &[]))
            .collect::<Result<_, _>>()?;
        let refresh = configs
            .iter()
            .map(|config| config.refresh_interval)
            .min()
            .unwrap_or(Duration::from_secs(300));
        Ok(FileDiscovery {
            finders,
            refresh,
            last_read: None,
            files: BTreeMap::new(),
            last: None,
        })
    }

    /// The groups of every file, read again where something changed (or every file, once `refresh_interval` has
    /// passed); `None` when they are the groups of the last poll.
    pub(super) fn poll(&mut self, receiver: &str, job: &str) -> Option<Vec<Group>> {
        let due = self.last_read.is_none_or(|at| at.elapsed() >= self.refresh);
        if due {
            self.last_read = Some(Instant::now());
        }
        let mut found: Vec<PathBuf> = self
            .finders
            .iter()
            .flat_map(|finder| finder.find_entries(false))
            .collect();
        found.sort();
        found.dedup();
        let mut files = BTreeMap::new();
        for path in found {
            let now = fingerprint(&path);
            let previous = self.files.remove(&path);
            let unchanged = previous.as_ref().is_some_and(|(seen, _)| *seen == now);
            let groups = match previous {
                Some((_, groups)) if unchanged && !due => groups,
                previous => {
                    let read = std::fs::read_to_string(&path)
                        .map_err(|e| e.to_string())
                        .and_then(|text| parse(&path, &text));
                    match read {
                        Ok(groups) => groups,
                        Err(problem) => {
                            if !unchanged {
                                tracing::warn!(receiver = %receiver, job = %job, file = %path.display(), %problem, "cannot read the targets of a file; keeping what it said before");
                            }
                            previous.map(|(_, groups)| groups).unwrap_or_default()
                        }
                    }
                }
            };
            files.insert(path, (now, groups));
        }
        self.files = files;
        let groups: Vec<Group> = self
            .files
            .values()
            .flat_map(|(_, groups)| groups.iter().cloned())
            .collect();
        if self.last.as_ref() == Some(&groups) {
            return None;
        }
        self.last = Some(groups.clone());
        Some(groups)
    }
}

#[cfg(test)]
mod tests;
