//! Where the log goes (`output_paths`): every line to each destination, in one write per line so that lines of
//! concurrent events do not interleave. A destination that cannot be written to is reported on
//! `error_output_paths`, as zap reports its own write errors there, and the line still goes to the others.

use otlp_collector::telemetry::logs::{LogOutput, LogSettings};
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use tracing_subscriber::fmt::MakeWriter;

/// One open destination.
enum Sink {
    Stdout,
    Stderr,
    File { path: String, file: File },
}

impl Sink {
    /// Opens `output`, naming `key` (`service.telemetry.logs.output_paths[1]`) in the error.
    fn open(output: &LogOutput, key: &str) -> Result<Sink, String> {
        let path = match output {
            LogOutput::Stdout => return Ok(Sink::Stdout),
            LogOutput::Stderr => return Ok(Sink::Stderr),
            LogOutput::File(path) => path,
        };
        // Said before the open, whose "No such file or directory" would not tell the file from its directory.
        let directory = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !directory.is_dir() {
            return Err(format!(
                "at `{key}`: cannot write the log to {}: the directory {} does not exist (the file is created, its \
                 directory is not)",
                path.display(),
                directory.display()
            ));
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                format!(
                    "at `{key}`: cannot open the log file {}: {e}",
                    path.display()
                )
            })?;
        Ok(Sink::File {
            path: path.display().to_string(),
            file,
        })
    }

    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => io::stdout().lock().write_all(bytes),
            Sink::Stderr => io::stderr().lock().write_all(bytes),
            // `&File` writes without a lock of ours: the file is opened for appending, so every write lands at its
            // end whoever else writes.
            Sink::File { file, .. } => (&*file).write_all(bytes),
        }
    }

    fn is_terminal(&self) -> bool {
        match self {
            Sink::Stdout => io::stdout().is_terminal(),
            Sink::Stderr => io::stderr().is_terminal(),
            Sink::File { .. } => false,
        }
    }

    fn name(&self) -> &str {
        match self {
            Sink::Stdout => "stdout",
            Sink::Stderr => "stderr",
            Sink::File { path, .. } => path,
        }
    }
}

/// The log's destinations, and where a failure to write to one of them is reported.
pub(crate) struct Outputs {
    lines: Vec<Sink>,
    errors: Vec<Sink>,
}

impl Outputs {
    /// Opens every destination of `settings`; files are created if missing and appended to.
    ///
    /// # Errors
    ///
    /// The first destination that cannot be opened, with its key path in the config.
    pub(crate) fn open(settings: &LogSettings) -> Result<Self, String> {
        let open = |outputs: &[LogOutput], key: &str| -> Result<Vec<Sink>, String> {
            outputs
                .iter()
                .enumerate()
                .map(|(at, output)| Sink::open(output, &format!("{key}[{at}]")))
                .collect()
        };
        Ok(Outputs {
            lines: open(
                &settings.output_paths,
                "service.telemetry.logs.output_paths",
            )?,
            errors: open(
                &settings.error_output_paths,
                "service.telemetry.logs.error_output_paths",
            )?,
        })
    }

    /// Whether colour codes may be written: only when every destination is a terminal.
    pub(crate) fn all_terminals(&self) -> bool {
        !self.lines.is_empty() && self.lines.iter().all(Sink::is_terminal)
    }

    fn write_line(&self, line: &[u8]) {
        for sink in &self.lines {
            if let Err(error) = sink.write(line) {
                self.report(sink, &error);
            }
        }
    }

    /// zap's form: the time, then what failed.
    fn report(&self, sink: &Sink, error: &io::Error) {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let message = format!(
            "{now} write error: cannot write a log line to {}: {error}\n",
            sink.name()
        );
        for errors in &self.errors {
            // Nowhere is left to say that this failed too.
            let _ = errors.write(message.as_bytes());
        }
    }
}

/// What the formatter writes one event to: the whole line arrives in one `write`.
pub(crate) struct LineWriter<'a>(&'a Outputs);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_line(buf);
        // Failures were reported on the error outputs; the formatter has nothing better to do with one.
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Outputs {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(lines: Vec<LogOutput>, errors: Vec<LogOutput>) -> LogSettings {
        LogSettings {
            output_paths: lines,
            error_output_paths: errors,
            ..LogSettings::default()
        }
    }

    #[test]
    fn every_line_goes_to_every_file_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
        std::fs::write(&a, "before\n").unwrap();
        let outputs = Outputs::open(&settings(
            vec![LogOutput::File(a.clone()), LogOutput::File(b.clone())],
            vec![],
        ))
        .unwrap();
        outputs.make_writer().write_all(b"one\n").unwrap();
        outputs.make_writer().write_all(b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "before\none\ntwo\n");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "one\ntwo\n");
        assert!(!outputs.all_terminals());
    }

    #[test]
    fn a_missing_directory_is_named_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/otelcol.log");
        let error = Outputs::open(&settings(
            vec![LogOutput::Stderr, LogOutput::File(missing)],
            vec![],
        ))
        .err()
        .unwrap();
        assert!(
            error.starts_with(
                "at `service.telemetry.logs.output_paths[1]`: cannot write the log to "
            ) && error.contains("/no/such/dir does not exist"),
            "{error}"
        );
        let error = Outputs::open(&settings(
            vec![],
            vec![LogOutput::File(dir.path().to_path_buf())],
        ))
        .err()
        .unwrap();
        assert!(
            error.starts_with(
                "at `service.telemetry.logs.error_output_paths[0]`: cannot open the log file"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_failed_write_is_reported_on_the_error_outputs_and_the_others_still_get_the_line() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (good, errors) = (dir.path().join("good.log"), dir.path().join("errors.log"));
        let outputs = Outputs::open(&settings(
            vec![LogOutput::File(full.into()), LogOutput::File(good.clone())],
            vec![LogOutput::File(errors.clone())],
        ))
        .unwrap();
        outputs.make_writer().write_all(b"line\n").unwrap();
        assert_eq!(std::fs::read_to_string(&good).unwrap(), "line\n");
        let reported = std::fs::read_to_string(&errors).unwrap();
        assert!(
            reported.contains(" write error: cannot write a log line to /dev/full: "),
            "{reported}"
        );
    }
}
