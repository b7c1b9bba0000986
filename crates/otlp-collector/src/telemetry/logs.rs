//! `service.telemetry.logs`: where the collector's own log goes and what every line of it carries, read from
//! otelcol's (zap's) settings. The binary sets its log up from these; the library only holds them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A destination of the log (`output_paths`) or of the logger's own errors (`error_output_paths`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogOutput {
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
    /// A file, appended to and created if missing (its directory must exist).
    File(PathBuf),
}

impl LogOutput {
    /// Reads one of zap's paths: `stdout`, `stderr`, a file path (relative to the working directory), or a
    /// `file://` URL with an absolute path.
    ///
    /// # Errors
    ///
    /// An empty path, a `file://` URL whose path is not absolute or that names another host, or a URL of any other
    /// scheme (zap has no such sink either unless a program registers one).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "" => return Err("must not be empty; use stderr, stdout or a file path".into()),
            "stdout" => return Ok(LogOutput::Stdout),
            "stderr" => return Ok(LogOutput::Stderr),
            _ => {}
        }
        if let Some(rest) = text.strip_prefix("file://") {
            // zap takes `file:///path` and `file://localhost/path`, as net/url reads them.
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            if !path.starts_with('/') {
                return Err(format!(
                    "`{text}`: a file URL needs an absolute path on this host (file:///var/log/otelcol.log)"
                ));
            }
            return Ok(LogOutput::File(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(format!(
                "`{text}`: unsupported scheme `{scheme}`; supported: stdout, stderr, a file path or a file:// URL"
            ));
        }
        Ok(LogOutput::File(PathBuf::from(text)))
    }
}

impl fmt::Display for LogOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogOutput::Stdout => f.write_str("stdout"),
            LogOutput::Stderr => f.write_str("stderr"),
            LogOutput::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// zap's sampler (`service.telemetry.logs.sampling` with `enabled: true`): per call site of the log and per `tick`,
/// the first `initial` events are written, then every `thereafter`-th; the count starts again at each tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSampling {
    /// How long a count lasts (otelcol: `10s`).
    pub tick: Duration,
    /// Events written per call site and tick before sampling starts (otelcol: 10).
    pub initial: u64,
    /// After `initial`, every this-many-th event is written; 0 writes none (otelcol: 100).
    pub thereafter: u64,
}

impl Default for LogSampling {
    /// otelcol's defaults.
    fn default() -> Self {
        LogSampling {
            tick: Duration::from_secs(10),
            initial: 10,
            thereafter: 100,
        }
    }
}

/// The keys every JSON log line already has at its top level, which `initial_fields` may not reuse: a line would
/// otherwise hold the key twice, and readers keep either one.
pub const RESERVED_JSON_KEYS: [&str; 10] = [
    "timestamp",
    "level",
    "fields",
    "target",
    "filename",
    "line_number",
    "span",
    "spans",
    "threadName",
    "threadId",
];

/// `service.telemetry.logs` beyond `level` and `encoding`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// Where every line is written (`output_paths`; `[stderr]` by default). Empty: nowhere.
    pub output_paths: Vec<LogOutput>,
    /// Where a failure to write a line to one of `output_paths` is reported (`error_output_paths`; `[stderr]`).
    pub error_output_paths: Vec<LogOutput>,
    /// Fields added to every line (`initial_fields`), by key.
    pub initial_fields: BTreeMap<String, serde_json::Value>,
    /// zap's sampler; `None` writes every event (otelcol samples unless told not to, this collector does not
    /// unless told to).
    pub sampling: Option<LogSampling>,
    /// Show the file and line of the code that logged (`disable_caller: false` written out).
    pub show_caller: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            output_paths: vec![LogOutput::Stderr],
            error_output_paths: vec![LogOutput::Stderr],
            initial_fields: BTreeMap::new(),
            sampling: None,
            show_caller: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_as_zap_reads_them() {
        assert_eq!(LogOutput::parse("stdout"), Ok(LogOutput::Stdout));
        assert_eq!(LogOutput::parse("stderr"), Ok(LogOutput::Stderr));
        assert_eq!(
            LogOutput::parse("logs/otelcol.log"),
            Ok(LogOutput::File("logs/otelcol.log".into()))
        );
        assert_eq!(
            LogOutput::parse("file:///var/log/otelcol.log"),
            Ok(LogOutput::File("/var/log/otelcol.log".into()))
        );
        assert_eq!(
            LogOutput::parse("file://localhost/var/log/otelcol.log"),
            Ok(LogOutput::File("/var/log/otelcol.log".into()))
        );
        let relative = LogOutput::parse("file://var/log/otelcol.log").unwrap_err();
        assert!(relative.contains("needs an absolute path"), "{relative}");
        let http = LogOutput::parse("http://logs:8080/").unwrap_err();
        assert!(http.contains("unsupported scheme `http`"), "{http}");
        assert!(LogOutput::parse("").is_err());
    }
}
