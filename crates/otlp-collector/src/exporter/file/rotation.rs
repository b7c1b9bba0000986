//! Rotation as otelcol's `file` exporter does it (lumberjack's semantics): the full file is renamed with a
//! timestamp and old backups are pruned by age and count.

use super::RotationConfig;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The file being appended to, and its size.
pub(super) struct OpenFile {
    pub(super) file: File,
    pub(super) size: u64,
}

pub(super) fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// `dir/name-2026-01-02T03-04-05.678.ext`, as lumberjack names backups.
pub(super) fn backup_name(path: &Path, now: SystemTime, localtime: bool) -> PathBuf {
    let stamp = time::OffsetDateTime::from(now);
    let stamp = if localtime {
        time::UtcOffset::current_local_offset().map_or(stamp, |o| stamp.to_offset(o))
    } else {
        stamp
    };
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]-[minute]-[second].[subsecond digits:3]"
    );
    let stamp = stamp
        .format(&format)
        .unwrap_or_else(|_| "unknown-time".to_string());
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{stamp}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{stamp}"),
    };
    path.with_file_name(name)
}

pub(super) fn rotate(
    path: &Path,
    rotation: &RotationConfig,
    state: &mut Option<OpenFile>,
) -> std::io::Result<()> {
    if let Some(open) = state.take() {
        open.file.sync_all()?;
    }
    let backup = backup_name(path, SystemTime::now(), rotation.localtime);
    std::fs::rename(path, &backup)?;
    prune_backups(path, rotation)?;
    *state = Some(OpenFile {
        file: open_append(path)?,
        size: 0,
    });
    Ok(())
}

pub(super) fn prune_backups(path: &Path, rotation: &RotationConfig) -> std::io::Result<()> {
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) else {
        return Ok(());
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}-", stem.to_string_lossy());
    let mut backups: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    backups.sort();
    let too_old = SystemTime::now() - Duration::from_secs(rotation.max_days * 86_400);
    let excess = if rotation.max_backups == 0 {
        0
    } else {
        backups.len().saturating_sub(rotation.max_backups)
    };
    for (i, (modified, backup)) in backups.iter().enumerate() {
        if i < excess || (rotation.max_days > 0 && *modified < too_old) {
            std::fs::remove_file(backup)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_keep_the_extension() {
        let name = backup_name(
            Path::new("/data/traces.jsonl"),
            SystemTime::UNIX_EPOCH,
            false,
        );
        assert_eq!(
            name,
            Path::new("/data/traces-1970-01-01T00-00-00.000.jsonl")
        );
    }
}
