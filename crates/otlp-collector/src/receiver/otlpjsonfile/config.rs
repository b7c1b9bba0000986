//! The `otlpjsonfile` receiver's settings: otelcol-contrib's, which are its file consumer's (the keys `filelog`
//! has, without operators and record attributes) with `storage` and `replay_file`.

use crate::component::Invalid;
use crate::de;
use crate::receiver::filelog::{ByteSize, Encoding, FileLogConfig, Multiline, StartAt};
use serde::Deserialize;
use std::time::Duration;

/// The longest line read as one request by default. Not otelcol's 1 MiB: a line is a whole export request, and
/// a request cut in two is two lines of invalid JSON, all of it lost; a file exporter batching 8192 spans writes
/// lines of several MiB.
const DEFAULT_MAX_LOG_SIZE: u64 = 64 * 1024 * 1024;

/// The `otlpjsonfile` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpJsonFileConfig {
    /// Glob patterns of the files to read (`/var/otel/*.jsonl`; `**` crosses directories).
    pub include: Vec<String>,
    /// Glob patterns of files left out even when `include` matches them.
    pub exclude: Vec<String>,
    /// Files not modified for this long are left out.
    #[serde(deserialize_with = "de::optional_duration")]
    pub exclude_older_than: Option<Duration>,
    /// Where to start in the files found by the first poll; a file that appears later is read from its start.
    pub start_at: StartAt,
    /// How often the files are looked for and read.
    #[serde(deserialize_with = "de::duration")]
    pub poll_interval: Duration,
    /// How many leading bytes identify a file across renames and restarts.
    pub fingerprint_size: ByteSize,
    /// The longest line; a longer one is cut, and its pieces are reported as invalid JSON.
    pub max_log_size: ByteSize,
    /// How many files are read in one poll; the rest wait for the next.
    pub max_concurrent_files: usize,
    /// How long a last line without its newline waits for more before it is read as it is.
    #[serde(deserialize_with = "de::duration")]
    pub force_flush_period: Duration,
    /// The files' text encoding.
    pub encoding: Encoding,
    /// Where one request ends and the next begins, for requests written over several lines (pretty-printed).
    pub multiline: Option<Multiline>,
    /// Accepted for otelcol compatibility; whitespace around a JSON request does not change it.
    pub preserve_leading_whitespaces: bool,
    /// Accepted for otelcol compatibility; whitespace around a JSON request does not change it.
    pub preserve_trailing_whitespaces: bool,
    /// Accepted for otelcol compatibility, and without effect, as there: the data keeps the attributes it was
    /// written with.
    pub include_file_name: bool,
    /// As `include_file_name`.
    pub include_file_path: bool,
    /// As `include_file_name`.
    pub include_file_name_resolved: bool,
    /// As `include_file_name`.
    pub include_file_path_resolved: bool,
    /// A storage extension (`file_storage`) keeping how far each file was read, so that a restart resumes there.
    pub storage: Option<String>,
    /// Delete each file once it has been read to its end (needs `start_at: beginning`).
    pub delete_after_read: bool,
    /// Read every file again from its start at each `poll_interval` once it was read to its end: a fixed file of
    /// recorded telemetry sent over and over (a demo, a load test). `start_at` and `storage` then do not apply.
    pub replay_file: bool,
    #[serde(deserialize_with = "crate::receiver::filelog::refuse_header")]
    header: de::Refused,
    #[serde(deserialize_with = "crate::receiver::filelog::refuse_ordering")]
    ordering_criteria: de::Refused,
    #[serde(deserialize_with = "crate::receiver::filelog::refuse_compression")]
    compression: de::Refused,
    #[serde(deserialize_with = "crate::receiver::filelog::refuse_owner")]
    include_file_owner_name: de::Refused,
    #[serde(deserialize_with = "crate::receiver::filelog::refuse_owner")]
    include_file_owner_group_name: de::Refused,
}

impl Default for OtlpJsonFileConfig {
    fn default() -> Self {
        let files = FileLogConfig::default();
        OtlpJsonFileConfig {
            include: files.include,
            exclude: files.exclude,
            exclude_older_than: files.exclude_older_than,
            start_at: files.start_at,
            poll_interval: files.poll_interval,
            fingerprint_size: files.fingerprint_size,
            max_log_size: ByteSize(DEFAULT_MAX_LOG_SIZE),
            max_concurrent_files: files.max_concurrent_files,
            force_flush_period: files.force_flush_period,
            encoding: files.encoding,
            multiline: files.multiline,
            preserve_leading_whitespaces: files.preserve_leading_whitespaces,
            preserve_trailing_whitespaces: files.preserve_trailing_whitespaces,
            include_file_name: files.include_file_name,
            include_file_path: files.include_file_path,
            include_file_name_resolved: files.include_file_name_resolved,
            include_file_path_resolved: files.include_file_path_resolved,
            storage: files.storage,
            delete_after_read: files.delete_after_read,
            replay_file: false,
            header: de::Refused,
            ordering_criteria: de::Refused,
            compression: de::Refused,
            include_file_owner_name: de::Refused,
            include_file_owner_group_name: de::Refused,
        }
    }
}

impl OtlpJsonFileConfig {
    /// The file consumer's settings as `filelog` takes them, which finds, follows and cuts the files.
    pub(super) fn files(&self) -> FileLogConfig {
        // Field by field: the keys filelog refuses are private to it, so `..default()` cannot fill them here.
        let mut files = FileLogConfig::default();
        files.include.clone_from(&self.include);
        files.exclude.clone_from(&self.exclude);
        files.exclude_older_than = self.exclude_older_than;
        files.start_at = if self.replay_file {
            StartAt::Beginning
        } else {
            self.start_at
        };
        files.poll_interval = self.poll_interval;
        files.fingerprint_size = self.fingerprint_size;
        files.max_log_size = self.max_log_size;
        files.max_concurrent_files = self.max_concurrent_files;
        files.force_flush_period = self.force_flush_period;
        files.encoding = self.encoding;
        files.multiline.clone_from(&self.multiline);
        files.preserve_leading_whitespaces = self.preserve_leading_whitespaces;
        files.preserve_trailing_whitespaces = self.preserve_trailing_whitespaces;
        if !self.replay_file {
            files.storage.clone_from(&self.storage);
        }
        files.delete_after_read = self.delete_after_read;
        files
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems: Vec<Invalid> = self.files().validate().err().into_iter().collect();
        if self.replay_file && self.delete_after_read {
            problems.push(Invalid::at(
                "replay_file",
                "cannot be combined with `delete_after_read`: a deleted file cannot be read again",
            ));
        }
        Invalid::all(problems)
    }
}
