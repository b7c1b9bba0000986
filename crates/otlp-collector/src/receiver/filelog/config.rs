//! The `filelog` receiver's settings, with otelcol-contrib's keys.

use crate::component::Invalid;
use crate::de;
use crate::receiver::stanza::operator::OperatorConfig;
use crate::receiver::stanza::split::Splitter;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// The `filelog` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileLogConfig {
    /// Glob patterns of the files to read (`/var/log/pods/*/*/*.log`; `**` crosses directories).
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
    /// The longest entry; a longer one is cut into entries of this size.
    pub max_log_size: ByteSize,
    /// How many files are read in one poll; the rest wait for the next.
    pub max_concurrent_files: usize,
    /// How long a last entry without its terminator waits for more before it is sent as it is.
    #[serde(deserialize_with = "de::duration")]
    pub force_flush_period: Duration,
    /// The files' text encoding.
    pub encoding: Encoding,
    /// Where one entry ends and the next begins, for entries spanning lines (stack traces).
    pub multiline: Option<Multiline>,
    /// Keep the whitespace at the start of each entry (trimmed otherwise, as otelcol does).
    pub preserve_leading_whitespaces: bool,
    /// Keep the whitespace at the end of each entry.
    pub preserve_trailing_whitespaces: bool,
    /// Add the attribute `log.file.name`.
    pub include_file_name: bool,
    /// Add the attribute `log.file.path`.
    pub include_file_path: bool,
    /// Add `log.file.name_resolved`: the name after following symbolic links.
    pub include_file_name_resolved: bool,
    /// Add `log.file.path_resolved`.
    pub include_file_path_resolved: bool,
    /// A storage extension (`file_storage`) keeping how far each file was read, so that a restart resumes there.
    pub storage: Option<String>,
    /// Attributes added to every record.
    pub attributes: BTreeMap<String, String>,
    /// Resource attributes added to every record.
    pub resource: BTreeMap<String, String>,
    /// Stanza operators applied to each entry in order.
    pub operators: Vec<OperatorConfig>,
    /// Delete each file once it has been read to its end (needs `start_at: beginning`).
    pub delete_after_read: bool,
    /// otelcol's retry when the pipelines refuse records; accepted, and not needed: the receiver always waits
    /// while the pipelines are full (the records are still in their files) and never retries a permanent refusal.
    pub retry_on_failure: RetryOnFailure,
    #[serde(deserialize_with = "refuse_header")]
    pub(super) header: de::Refused,
    #[serde(deserialize_with = "refuse_ordering")]
    pub(super) ordering_criteria: de::Refused,
    #[serde(deserialize_with = "refuse_compression")]
    pub(super) compression: de::Refused,
    #[serde(deserialize_with = "refuse_owner")]
    pub(super) include_file_owner_name: de::Refused,
    #[serde(deserialize_with = "refuse_owner")]
    pub(super) include_file_owner_group_name: de::Refused,
}

impl Default for FileLogConfig {
    fn default() -> Self {
        FileLogConfig {
            include: Vec::new(),
            exclude: Vec::new(),
            exclude_older_than: None,
            start_at: StartAt::End,
            poll_interval: Duration::from_millis(200),
            fingerprint_size: ByteSize(1000),
            max_log_size: ByteSize(1024 * 1024),
            max_concurrent_files: 1024,
            force_flush_period: Duration::from_millis(500),
            encoding: Encoding::Utf8,
            multiline: None,
            preserve_leading_whitespaces: false,
            preserve_trailing_whitespaces: false,
            include_file_name: true,
            include_file_path: false,
            include_file_name_resolved: false,
            include_file_path_resolved: false,
            storage: None,
            attributes: BTreeMap::new(),
            resource: BTreeMap::new(),
            operators: Vec::new(),
            delete_after_read: false,
            retry_on_failure: RetryOnFailure::default(),
            header: de::Refused,
            ordering_criteria: de::Refused,
            compression: de::Refused,
            include_file_owner_name: de::Refused,
            include_file_owner_group_name: de::Refused,
        }
    }
}

pub(crate) fn refuse_header<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "header parsing is not available here; parse the first lines with `operators` or the `transform` processor",
    )
}

pub(crate) fn refuse_ordering<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "ordering_criteria is not available here; every matching file is read (limit them with `include`, \
         `exclude` and `exclude_older_than`)",
    )
}

pub(crate) fn refuse_compression<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>("compressed files are not read here; only plain text files")
}

pub(crate) fn refuse_owner<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "file owner attributes are not available here; the supported file attributes are include_file_name, \
         include_file_path, include_file_name_resolved and include_file_path_resolved",
    )
}

/// `start_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// Only what is written after the collector started.
    End,
    /// Everything already in the files too.
    Beginning,
}

/// `encoding`: the text encoding of files and messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8; a byte sequence that is not UTF-8 becomes U+FFFD.
    #[default]
    Utf8,
}

impl<'de> Deserialize<'de> for Encoding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" | "" => Ok(Encoding::Utf8),
            _ => Err(serde::de::Error::custom(format!(
                "encoding `{name}` is not available here; text is read as utf-8"
            ))),
        }
    }
}

/// `multiline`: one of the two patterns.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Multiline {
    /// A regular expression matching the start of each entry (`^\d{4}-\d{2}-\d{2}`).
    pub line_start_pattern: Option<String>,
    /// A regular expression matching the end of each entry.
    pub line_end_pattern: Option<String>,
    /// Leave out of the entry what `line_start_pattern` or `line_end_pattern` matched.
    pub omit_pattern: bool,
}

/// `retry_on_failure`, otelcol's consumer retry: accepted for otelcol compatibility (see
/// [`FileLogConfig::retry_on_failure`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryOnFailure {
    /// Try again at all.
    pub enabled: bool,
    /// The first wait.
    #[serde(deserialize_with = "de::duration")]
    pub initial_interval: Duration,
    /// The longest wait between tries.
    #[serde(deserialize_with = "de::duration")]
    pub max_interval: Duration,
    /// Give up after trying this long (0: never).
    #[serde(deserialize_with = "de::duration")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryOnFailure {
    fn default() -> Self {
        RetryOnFailure {
            enabled: false,
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            max_elapsed_time: Duration::from_secs(300),
        }
    }
}

/// A size in bytes: a number, or stanza's `1kb`, `16KiB`, `1.5MiB` (kb is 1000 bytes, KiB 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    fn parse(text: &str) -> Result<u64, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a size (write e.g. 1000, 1kb or 16KiB)"))?;
        let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" => 1e3,
            "kib" => 1024.0,
            "mb" => 1e6,
            "mib" => 1024.0 * 1024.0,
            "gb" => 1e9,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            other => {
                return Err(format!(
                    "unknown size unit `{other}` (use kb, KiB, mb, MiB, gb or GiB)"
                ));
            }
        };
        Ok((number * multiplier) as u64)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(u64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Number(n) => Ok(ByteSize(n)),
            Written::Text(text) => ByteSize::parse(&text)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl FileLogConfig {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.include.is_empty() {
            problems.push(Invalid::at(
                "include",
                "name at least one glob pattern of files to read (`/var/log/app/*.log`)",
            ));
        }
        for (key, patterns) in [("include", &self.include), ("exclude", &self.exclude)] {
            for (i, pattern) in patterns.iter().enumerate() {
                if let Err(e) = super::finder::glob(pattern) {
                    problems.push(Invalid::at(format!("{key}[{i}]"), e));
                }
            }
        }
        if self.poll_interval.is_zero() {
            problems.push(Invalid::at("poll_interval", "must be more than 0"));
        }
        if self.fingerprint_size.0 < 16 {
            problems.push(Invalid::at(
                "fingerprint_size",
                "must be at least 16 bytes to tell files apart (otelcol's default is 1kb)",
            ));
        }
        if self.max_log_size.0 == 0 {
            problems.push(Invalid::at("max_log_size", "must be more than 0"));
        }
        if self.max_concurrent_files == 0 {
            problems.push(Invalid::at("max_concurrent_files", "must be at least 1"));
        }
        if self.delete_after_read && self.start_at != StartAt::Beginning {
            problems.push(Invalid::at(
                "delete_after_read",
                "needs `start_at: beginning`: a file read from its end would be deleted unread",
            ));
        }
        if let Some(multiline) = &self.multiline
            && let Err(e) = Splitter::new(Some(multiline), self.max_log_size, false, false)
        {
            problems.push(Invalid::at("multiline", e));
        }
        if let Err(e) = crate::receiver::stanza::operator::Operators::build(&self.operators) {
            problems.push(e);
        }
        Invalid::all(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_as_stanza_writes_them() {
        for (text, bytes) in [
            ("1000", 1000),
            ("1kb", 1000),
            ("16KiB", 16 * 1024),
            ("1.5MiB", 1024 * 1024 * 3 / 2),
            ("2 mb", 2_000_000),
        ] {
            assert_eq!(ByteSize::parse(text), Ok(bytes), "{text}");
        }
        assert!(
            ByteSize::parse("1kbit")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(
            ByteSize::parse("big")
                .unwrap_err()
                .contains("is not a size")
        );
    }

    #[test]
    fn defaults_are_otelcols() {
        let config = FileLogConfig::default();
        assert_eq!(config.start_at, StartAt::End);
        assert_eq!(config.poll_interval, Duration::from_millis(200));
        assert_eq!(config.fingerprint_size, ByteSize(1000));
        assert_eq!(config.max_log_size, ByteSize(1024 * 1024));
        assert!(config.include_file_name && !config.include_file_path);
    }
}
