//! Unfinished Parquet and Arrow files that an earlier collector left behind: killed, or the machine lost power,
//! before it completed them. They have no footer, so no reader can open them, and their hidden `.part-….partial`
//! names match no reader's glob, so nobody notices them; they only take disk space. The file exporter names them
//! in a warning as it starts, and leaves them for the operator: deleting data is not the collector's call.

use std::path::{Path, PathBuf};

/// How many of them the warning names; the count and size cover all.
const NAMED: usize = 3;

/// Looks for unfinished files under `root` (in the `{signal}/date=…/hour=…` partitions) and warns about them.
/// Runs off the async workers: a directory holding months of partitions takes a while to list.
pub(super) fn report_in_background(root: PathBuf) {
    tokio::task::spawn_blocking(move || {
        let found = find(&root, std::process::id());
        if found.is_empty() {
            return;
        }
        let bytes: u64 = found
            .iter()
            .filter_map(|path| std::fs::metadata(path).ok())
            .map(|meta| meta.len())
            .sum();
        let named: Vec<String> = found
            .iter()
            .take(NAMED)
            .map(|path| path.display().to_string())
            .collect();
        tracing::warn!(files = found.len(), bytes, first = ?named,
            "unfinished files left by a collector that stopped without completing them (killed, or the machine \
             lost power): readers cannot open them and their rows are lost; they can be deleted");
    });
}

/// Unfinished files under `root` whose writer is gone: not `ours` (a reload opens the exporter again while the
/// previous one completes its files) and, where `/proc` tells, not a running process's (two collectors may share
/// a directory: file names carry their writer's process id for that).
fn find(root: &Path, ours: u32) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for signal in ["traces", "metrics", "logs"] {
        for date in subdirectories(&root.join(signal), "date=") {
            for hour in subdirectories(&date, "hour=") {
                let Ok(entries) = std::fs::read_dir(&hour) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let Some(writer) = name.to_str().and_then(writer_of_unfinished) else {
                        continue;
                    };
                    if writer != ours && !is_running(writer) {
                        found.push(entry.path());
                    }
                }
            }
        }
    }
    found.sort();
    found
}

fn subdirectories(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(prefix))
        })
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .collect()
}

/// The process id in an unfinished file's name, `.part-{time}-{sequence}-{pid}.{parquet|arrow}.partial`.
fn writer_of_unfinished(name: &str) -> Option<u32> {
    let stem = name.strip_prefix(".part-")?.strip_suffix(".partial")?;
    let stem = stem
        .strip_suffix(".parquet")
        .or_else(|| stem.strip_suffix(".arrow"))?;
    stem.rsplit_once('-')?.1.parse().ok()
}

/// Whether process `pid` runs, where `/proc` can tell; elsewhere every writer counts as gone. A killed collector
/// whose parent has not reaped it yet (a zombie, state `Z`, or dying, `X`) is gone: a supervisor restarting it at
/// once would otherwise find its files still claimed.
fn is_running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state ...`; comm may hold spaces and parentheses, so the state follows the last `)`.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X" | "x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn names_the_files_of_writers_that_are_gone() {
        let root = tempfile::tempdir().unwrap();
        let hour = root.path().join("traces/date=2026-12-06/hour=09");
        std::fs::create_dir_all(&hour).unwrap();
        let logs = root.path().join("logs/date=2026-12-05/hour=23");
        std::fs::create_dir_all(&logs).unwrap();
        // No process has the largest id Linux allows plus one; process 1 always runs.
        let gone = 4_194_305;
        let ours = std::process::id();
        for (dir, name) in [
            (
                &hour,
                format!(".part-20261206T091502.123Z-000001-{gone}.parquet.partial"),
            ),
            (
                &logs,
                format!(".part-20261205T235959.001Z-000007-{gone}.arrow.partial"),
            ),
            (
                &hour,
                format!(".part-20261206T091503.000Z-000002-{ours}.parquet.partial"),
            ),
            (
                &hour,
                ".part-20261206T091504.000Z-000003-1.parquet.partial".to_string(),
            ),
            (
                &hour,
                format!("part-20261206T091500.000Z-000001-{gone}.parquet"),
            ),
            (&hour, "notes.partial".to_string()),
        ] {
            std::fs::write(dir.join(name), b"PAR1").unwrap();
        }
        let found = find(root.path(), ours);
        let names: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(root.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                format!(
                    "logs/date=2026-12-05/hour=23/.part-20261205T235959.001Z-000007-{gone}.arrow.partial"
                ),
                format!(
                    "traces/date=2026-12-06/hour=09/.part-20261206T091502.123Z-000001-{gone}.parquet.partial"
                ),
            ]
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_zombie_writer_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: the process has exited, and /proc still lists it, as `Z`.
        while std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!is_running(pid));
        child.wait().unwrap();
        assert!(!is_running(pid));
        assert!(is_running(std::process::id()));
    }

    #[test]
    fn a_missing_directory_has_nothing_to_report() {
        assert!(find(Path::new("/nonexistent/otlp-data"), 1).is_empty());
    }

    #[test]
    fn reads_the_writer_from_the_names_the_exporter_gives() {
        assert_eq!(
            writer_of_unfinished(".part-20261206T091502.123Z-000001-4242.parquet.partial"),
            Some(4242)
        );
        assert_eq!(
            writer_of_unfinished("part-20261206T091502.123Z-000001-4242.parquet"),
            None
        );
        assert_eq!(writer_of_unfinished(".part-x-4242.json.partial"), None);
    }
}
