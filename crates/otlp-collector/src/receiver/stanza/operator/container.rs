//! The `container` operator: a line of a Kubernetes container log (docker's JSON lines, or the CRI format of
//! CRI-O and containerd) read into the record it stands for, as otelcol's operator does. The message becomes the
//! body, its time the timestamp, its stream `log.iostream`; CRI lines the runtime cut (`P`) are joined with the
//! line that ends them (`F`); and the pod's namespace, name, uid, container and restart count are read from the
//! file's path (`/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log`) into resource attributes.

use super::{Operate, text_at};
use crate::receiver::stanza::entry::{Entry, Field};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the start of a cut line waits for its end, as otelcol's recombining waits.
const PARTIAL_WAIT: Duration = Duration::from_secs(5);

/// `container`'s settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ContainerConfig {
    /// `docker`, `crio` or `containerd`; told from each line when not given.
    #[serde(default)]
    format: Option<Format>,
    /// Read the pod's metadata from `log.file.path` (which needs `include_file_path: true`).
    #[serde(default = "yes")]
    add_metadata_from_filepath: bool,
    #[serde(default = "Field::body")]
    parse_from: Field,
    /// The longest line joined from cut parts; longer ones are sent as they are (0: no limit).
    #[serde(default)]
    max_log_size: u64,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Format {
    Docker,
    Crio,
    Containerd,
}

/// A cut line's parts so far, and when its first part came.
struct Partial {
    entry: Entry,
    since: Instant,
}

pub(super) struct Container {
    format: Option<Format>,
    metadata: bool,
    parse_from: Field,
    max_log_size: usize,
    crio: Regex,
    containerd: Regex,
    path: Regex,
    /// Cut lines waiting for their end, by file.
    partial: Mutex<HashMap<String, Partial>>,
}

impl ContainerConfig {
    pub(super) fn build(&self) -> Result<Container, String> {
        let compile = |pattern: &str| Regex::new(pattern).map_err(|e| e.to_string());
        Ok(Container {
            format: self.format,
            metadata: self.add_metadata_from_filepath,
            parse_from: self.parse_from.clone(),
            max_log_size: usize::try_from(self.max_log_size).unwrap_or(usize::MAX),
            crio: compile(
                r"^(?P<time>[^ Z]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$",
            )?,
            containerd: compile(
                r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$",
            )?,
            path: compile(
                r"^.*[/\\](?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9\-]+)[/\\](?P<container_name>[^\._]+)[/\\](?P<restart_count>\d+)\.log$",
            )?,
            partial: Mutex::new(HashMap::new()),
        })
    }
}

/// An RFC 3339 time (any number of fractional digits) in nanoseconds since the epoch.
fn rfc3339(text: &str) -> Result<i128, String> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_nanosecond())
        .map_err(|e| format!("the time `{text}` is not RFC 3339: {e}"))
}

impl Container {
    fn detect(&self, line: &str) -> Result<Format, String> {
        if let Some(format) = self.format {
            return Ok(format);
        }
        if line.starts_with('{') {
            Ok(Format::Docker)
        } else if self.crio.is_match(line) {
            Ok(Format::Crio)
        } else if self.containerd.is_match(line) {
            Ok(Format::Containerd)
        } else {
            Err(
                "the line is in none of the container log formats (docker, crio, containerd)"
                    .to_owned(),
            )
        }
    }

    /// The line's fields: time, stream, log, and for CRI its tag.
    fn fields(&self, format: Format, line: &str) -> Result<serde_json::Map<String, Value>, String> {
        match format {
            Format::Docker => match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err("the docker line is not a JSON object".to_owned()),
                Err(e) => Err(format!("the docker line is not JSON: {e}")),
            },
            Format::Crio | Format::Containerd => {
                let regex = if format == Format::Crio {
                    &self.crio
                } else {
                    &self.containerd
                };
                let captures = regex
                    .captures(line)
                    .ok_or_else(|| "the line is not in the CRI format".to_owned())?;
                Ok(["time", "stream", "logtag", "log"]
                    .into_iter()
                    .filter_map(|name| {
                        let value = captures.name(name)?.as_str();
                        Some((name.to_owned(), Value::String(value.to_owned())))
                    })
                    .collect())
            }
        }
    }

    fn source(entry: &Entry) -> String {
        ["log.file.path", "log.file.name"]
            .iter()
            .find_map(|key| entry.attributes.get(key)?.as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

impl Operate for Container {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        let line = text_at(entry, &self.parse_from)?;
        let format = self.detect(&line)?;
        let mut fields = self.fields(format, &line)?;
        let time = fields
            .remove("time")
            .and_then(|t| t.as_str().map(str::to_owned))
            .ok_or_else(|| "the line has no time".to_owned())?;
        entry.timestamp = Some(rfc3339(&time)?);
        let log = fields
            .remove("log")
            .ok_or_else(|| "the line has no log message".to_owned())?;
        if let Some(stream) = fields.remove("stream") {
            fields.insert("log.iostream".to_owned(), stream);
        }
        entry.body = log;
        Field::attributes().set(entry, Value::Object(fields))?;
        if self.metadata {
            let path = entry
                .attributes
                .get("log.file.path")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    "add_metadata_from_filepath needs log.file.path: set include_file_path: true"
                        .to_owned()
                })?;
            let captures = self
                .path
                .captures(path)
                .ok_or_else(|| format!("`{path}` is not a Kubernetes pod log path"))?;
            let metadata: serde_json::Map<String, Value> = [
                ("namespace", "k8s.namespace.name"),
                ("pod_name", "k8s.pod.name"),
                ("uid", "k8s.pod.uid"),
                ("container_name", "k8s.container.name"),
                ("restart_count", "k8s.container.restart_count"),
            ]
            .into_iter()
            .filter_map(|(group, key)| {
                Some((
                    key.to_owned(),
                    Value::String(captures.name(group)?.as_str().to_owned()),
                ))
            })
            .collect();
            Field::resource().set(entry, Value::Object(metadata))?;
        }
        Ok(())
    }

    fn combine(&self, entry: Entry) -> Option<Entry> {
        let Some(tag) = entry.attributes.get("logtag").and_then(Value::as_str) else {
            return Some(entry);
        };
        let cut = tag.split(':').next() == Some("P");
        let source = Container::source(&entry);
        let mut partial = self.partial.lock().unwrap_or_else(|e| e.into_inner());
        let joined = match partial.remove(&source) {
            Some(mut first) => {
                // Both bodies are the `log` text the CRI pattern read.
                if let (Value::String(so_far), Some(more)) =
                    (&mut first.entry.body, entry.body.as_str())
                {
                    so_far.push_str(more);
                }
                first
            }
            None => Partial {
                entry,
                since: Instant::now(),
            },
        };
        let full = self.max_log_size > 0
            && joined
                .entry
                .body
                .as_str()
                .is_some_and(|b| b.len() >= self.max_log_size);
        if cut && !full {
            partial.insert(source, joined);
            return None;
        }
        let mut out = joined.entry;
        if let Some(tag) = out
            .attributes
            .as_object_mut()
            .and_then(|a| a.get_mut("logtag"))
        {
            *tag = Value::String("F".to_owned());
        }
        Some(out)
    }

    fn flush(&self, now: Instant) -> Vec<Entry> {
        let mut partial = self.partial.lock().unwrap_or_else(|e| e.into_inner());
        let due: Vec<String> = partial
            .iter()
            .filter(|(_, p)| now.duration_since(p.since) >= PARTIAL_WAIT)
            .map(|(source, _)| source.clone())
            .collect();
        due.into_iter()
            .filter_map(|source| partial.remove(&source))
            .map(|p| p.entry)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PATH: &str =
        "/var/log/pods/shop_checkout-7d9f_0f1e2d3c-aaaa-4bbb-8ccc-123456789abc/server/2.log";

    fn container() -> Container {
        serde_norway::from_str::<ContainerConfig>("{}")
            .unwrap()
            .build()
            .unwrap()
    }

    fn line(text: &str) -> Entry {
        let mut entry = Entry::new(text.into());
        entry.attributes = json!({"log.file.path": PATH});
        entry
    }

    #[test]
    fn docker_lines_and_the_pod_from_the_path() {
        let container = container();
        let mut entry = line(
            r#"{"log":"GET /cart 200\n","stream":"stdout","time":"2026-12-06T10:00:00.123456789Z"}"#,
        );
        container.operate(&mut entry).unwrap();
        assert_eq!(entry.body, json!("GET /cart 200\n"));
        assert_eq!(entry.timestamp, Some(1_796_551_200_123_456_789));
        assert_eq!(
            entry.attributes,
            json!({"log.file.path": PATH, "log.iostream": "stdout"})
        );
        assert_eq!(
            entry.resource,
            json!({
                "k8s.namespace.name": "shop",
                "k8s.pod.name": "checkout-7d9f",
                "k8s.pod.uid": "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc",
                "k8s.container.name": "server",
                "k8s.container.restart_count": "2",
            })
        );
    }

    #[test]
    fn cri_lines_cut_by_the_runtime_are_joined() {
        let container = container();
        let mut out = Vec::new();
        for text in [
            "2026-12-06T10:00:00.000000001Z stderr P first part, ",
            "2026-12-06T10:00:00.000000002Z stderr P second part, ",
            "2026-12-06T10:00:00.000000003Z stderr F end",
            "2026-12-06T10:00:01+01:00 stdout F on its own",
        ] {
            let mut entry = line(text);
            container.operate(&mut entry).unwrap();
            out.extend(container.combine(entry));
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].body, json!("first part, second part, end"));
        assert_eq!(out[0].timestamp, Some(1_796_551_200_000_000_001));
        assert_eq!(out[0].attributes["log.iostream"], json!("stderr"));
        assert_eq!(out[0].attributes["logtag"], json!("F"));
        assert_eq!(out[1].body, json!("on its own"));
        assert_eq!(out[1].timestamp, Some(1_796_547_601_000_000_000));
    }

    #[test]
    fn a_cut_line_left_alone_is_flushed() {
        let container = container();
        let mut entry = line("2026-12-06T10:00:00Z stdout P never ended");
        container.operate(&mut entry).unwrap();
        assert!(container.combine(entry).is_none());
        assert!(container.flush(Instant::now()).is_empty());
        let flushed = container.flush(Instant::now() + PARTIAL_WAIT);
        assert_eq!(flushed.len(), 1);
        assert_eq!(flushed[0].body, json!("never ended"));
    }

    #[test]
    fn what_is_not_a_container_line_is_an_error() {
        let container = container();
        let mut entry = line("plain text");
        assert!(
            container
                .operate(&mut entry)
                .unwrap_err()
                .contains("none of the container log formats")
        );
        let mut no_path = Entry::new("2026-12-06T10:00:00Z stdout F x".into());
        assert!(
            container
                .operate(&mut no_path)
                .unwrap_err()
                .contains("include_file_path: true")
        );
    }
}
