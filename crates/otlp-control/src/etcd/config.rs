//! The config store: every version is kept in the history; `<p>/config` names the stable one.

use etcd_client::{Compare, CompareOp, GetOptions, PutOptions, SortOrder, SortTarget, Txn, TxnOp};

use crate::error::{Error, Result};
use crate::etcd::discovery::{decode_config, read_version};
use crate::etcd::{EtcdFleet, encode};
use crate::fleet::{ConfigVersion, StoredConfig};

/// How often a version number is retried when another writer took it first.
const MAX_ATTEMPTS: usize = 16;

impl EtcdFleet {
    /// The fleet's stable config.
    ///
    /// # Errors
    ///
    /// The etcd error when the read fails.
    pub async fn config(&self) -> Result<Option<ConfigVersion>> {
        let key = self.keys.config();
        let response = self.client.clone().get(key.as_str(), None).await?;
        Ok(response
            .kvs()
            .first()
            .and_then(|kv| decode_config(&key, kv.value())))
    }

    /// One version from the history.
    ///
    /// # Errors
    ///
    /// Never for a missing version (that is `None`); the etcd error when etcd cannot be read.
    pub async fn config_version(&self, version: u64) -> Result<Option<ConfigVersion>> {
        // Probe etcd first so that an unreachable etcd is an error, not a missing version.
        self.client
            .clone()
            .get(
                self.keys.config(),
                Some(GetOptions::new().with_count_only()),
            )
            .await?;
        Ok(read_version(&mut self.client.clone(), &self.keys, version).await)
    }

    /// Stores `document` as a new version and makes it the stable config every member follows
    /// (unless a rollout assigned it another). Returns the new version.
    ///
    /// # Errors
    ///
    /// The etcd error, or [`Error::Conflict`] when other writers kept taking the next version.
    pub async fn put_config(&self, document: &[u8]) -> Result<u64> {
        self.store_config(document, true).await
    }

    /// Stores `document` as a new version in the history only, for a rollout to assign.
    ///
    /// # Errors
    ///
    /// As [`put_config`](Self::put_config).
    pub async fn stage_config(&self, document: &[u8]) -> Result<u64> {
        self.store_config(document, false).await
    }

    async fn latest_version(&self) -> Result<u64> {
        let history = self.keys.config_history();
        let options = GetOptions::new()
            .with_prefix()
            .with_sort(SortTarget::Key, SortOrder::Descend)
            .with_limit(1)
            .with_keys_only();
        let response = self
            .client
            .clone()
            .get(history.as_str(), Some(options))
            .await?;
        Ok(response
            .kvs()
            .first()
            .and_then(|kv| {
                std::str::from_utf8(kv.key())
                    .ok()?
                    .strip_prefix(history.as_str())?
                    .parse()
                    .ok()
            })
            .unwrap_or(0))
    }

    async fn store_config(&self, document: &[u8], make_stable: bool) -> Result<u64> {
        for _ in 0..MAX_ATTEMPTS {
            let version = self.latest_version().await? + 1;
            let stored = encode(&StoredConfig::from(&ConfigVersion {
                version,
                document: document.into(),
            }));
            let history_key = self.keys.config_version(version);
            let mut ops = vec![TxnOp::put(
                history_key.as_str(),
                stored.clone(),
                None::<PutOptions>,
            )];
            if make_stable {
                ops.push(TxnOp::put(self.keys.config(), stored, None));
            }
            let txn = Txn::new()
                .when([Compare::create_revision(
                    history_key.as_str(),
                    CompareOp::Equal,
                    0,
                )])
                .and_then(ops);
            if self.client.clone().txn(txn).await?.succeeded() {
                return Ok(version);
            }
        }
        Err(Error::Conflict(format!(
            "could not claim a config version in {MAX_ATTEMPTS} attempts"
        )))
    }
}
