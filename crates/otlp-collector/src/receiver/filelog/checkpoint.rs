//! How far each file was read, kept in the storage extension's directory so that a restarted collector reads on
//! from there: neither losing what was written while it was down nor sending again what it had sent.

use super::files::Checkpoint;
use crate::component::StorageDirectory;
use std::io::Write;
use std::path::PathBuf;

/// The receiver's checkpoint file.
pub(super) struct Store {
    path: PathBuf,
    fsync: bool,
}

impl Store {
    /// The file of receiver `id` under `storage` (`receiver_filelog_app` for `filelog/app`).
    pub(super) fn new(storage: &StorageDirectory, id: &str) -> Result<Self, String> {
        if !storage.directory.is_dir() {
            if !storage.create_directory {
                return Err(format!(
                    "storage directory {} does not exist",
                    storage.directory.display()
                ));
            }
            std::fs::create_dir_all(&storage.directory)
                .map_err(|e| format!("cannot create {}: {e}", storage.directory.display()))?;
        }
        Ok(Store {
            path: storage.client_path("receiver", id, ""),
            fsync: storage.fsync,
        })
    }

    /// The checkpoints saved last; none when there is no file yet. A file that cannot be read is reported and
    /// read as none: the files are then read as `start_at` says.
    pub(super) fn load(&self) -> Vec<Checkpoint> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot read the checkpoints");
                return Vec::new();
            }
        };
        serde_json::from_slice(&text).unwrap_or_else(|e| {
            tracing::warn!(file = %self.path.display(), error = %e, "the checkpoints are not readable; ignored");
            Vec::new()
        })
    }

    /// Replaces the saved checkpoints; a reader never sees half a file (written aside, then renamed over it).
    pub(super) fn save(&self, checkpoints: &[Checkpoint]) -> std::io::Result<()> {
        let partial = self.path.with_extension("partial");
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(&serde_json::to_vec(checkpoints).map_err(std::io::Error::other)?)?;
        if self.fsync {
            file.sync_all()?;
        }
        std::fs::rename(&partial, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_a_damaged_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let storage = StorageDirectory {
            directory: dir.path().join("state"),
            fsync: true,
            create_directory: true,
        };
        let store = Store::new(&storage, "filelog/app").unwrap();
        assert!(store.load().is_empty());
        let saved = vec![Checkpoint {
            fingerprint: "6162".into(),
            offset: 2,
            path: "/var/log/a.log".into(),
        }];
        store.save(&saved).unwrap();
        assert_eq!(store.load(), saved);
        assert!(dir.path().join("state/receiver_filelog_app").is_file());
        std::fs::write(dir.path().join("state/receiver_filelog_app"), "{").unwrap();
        assert!(store.load().is_empty());
        let missing = StorageDirectory {
            create_directory: false,
            ..storage
        };
        std::fs::remove_dir_all(dir.path().join("state")).unwrap();
        assert!(Store::new(&missing, "filelog").is_err());
    }
}
