//! A receiver's state kept in the storage extension's directory (how far the `filelog` receiver read each file,
//! the `sqlquery` receiver's tracking values), so that a restarted collector goes on from there: neither losing
//! what was written while it was down nor sending again what it had sent.

use crate::component::StorageDirectory;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::PathBuf;

/// The receiver's state file.
pub(crate) struct Store {
    path: PathBuf,
    fsync: bool,
}

impl Store {
    /// The file of receiver `id` under `storage` (`receiver_filelog_app` for `filelog/app`).
    pub(crate) fn new(storage: &StorageDirectory, id: &str) -> Result<Self, String> {
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

    /// The state saved last; the default (none) when there is no file yet. A file that cannot be read is reported
    /// and read as none: the receiver then starts as its settings say (`start_at`, `tracking_start_value`).
    pub(crate) fn load<T: DeserializeOwned + Default>(&self) -> T {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return T::default(),
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot read the saved state");
                return T::default();
            }
        };
        serde_json::from_slice(&text).unwrap_or_else(|e| {
            tracing::warn!(file = %self.path.display(), error = %e, "the saved state is not readable; ignored");
            T::default()
        })
    }

    /// Replaces the saved state; a reader never sees half a file (written aside, then renamed over it).
    pub(crate) fn save<T: Serialize + ?Sized>(&self, state: &T) -> std::io::Result<()> {
        let partial = self.path.with_extension("partial");
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(&serde_json::to_vec(state).map_err(std::io::Error::other)?)?;
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
    fn state_round_trips_and_a_damaged_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let storage = StorageDirectory {
            directory: dir.path().join("state"),
            fsync: true,
            create_directory: true,
        };
        let store = Store::new(&storage, "filelog/app").unwrap();
        assert!(store.load::<Vec<(String, u64)>>().is_empty());
        let saved = vec![("/var/log/a.log".to_owned(), 2u64)];
        store.save(&saved).unwrap();
        assert_eq!(store.load::<Vec<(String, u64)>>(), saved);
        assert!(dir.path().join("state/receiver_filelog_app").is_file());
        std::fs::write(dir.path().join("state/receiver_filelog_app"), "{").unwrap();
        assert!(store.load::<Vec<(String, u64)>>().is_empty());
        let missing = StorageDirectory {
            create_directory: false,
            ..storage
        };
        std::fs::remove_dir_all(dir.path().join("state")).unwrap();
        assert!(Store::new(&missing, "filelog").is_err());
    }
}
