//! Fleet coordination on etcd (feature `etcd`).
//!
//! Key layout under the fleet prefix `<p>`:
//!
//! | key | value |
//! | --- | --- |
//! | `<p>/members/<id>` | the [`Member`] record (JSON), attached to the member's lease |
//! | `<p>/config` | the stable config: version and document |
//! | `<p>/config-history/<version>` | every config version ever stored (rollouts, rollbacks) |
//! | `<p>/binary-version` | the stable binary version, once a binary rollout set one |
//! | `<p>/assign/<id>` | a rollout's assignment to one member, overriding the stable versions |
//! | `<p>/leader/<lease>` | election candidates; the oldest is the leader |
//! | `<p>/locks/<name>/<lease>` | lock waiters; the oldest holds the lock |
//! | `<p>/rollout` | the current (or last) [`Rollout`](crate::fleet::Rollout) record |
//! | `<p>/view` | the leader's [`GlobalView`](crate::fleet::GlobalView) |

mod config;
mod discovery;
mod election;
mod leader;
mod membership;
mod mirror;
mod rollout;
mod session;
mod status;

use std::time::Duration;

use etcd_client::{Client, ConnectOptions};
use futures::FutureExt;
use futures::future::BoxFuture;

pub use election::LeaderWatch;
pub use election::{Leadership, LockGuard};
pub use leader::LeaderOptions;
pub use membership::MembershipOptions;
pub use rollout::{RolloutChange, RolloutRequest, RolloutWatch};
pub use session::Session;

use crate::error::Result;
use crate::fleet::{ConfigVersion, Member};
use crate::registry::{MemberWatch, Registration, Registry, TargetWatch};

/// The keys of one fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (a trailing `/` is ignored).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.trim_end_matches('/').to_owned(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The members prefix, `<p>/members/`.
    pub fn members(&self) -> String {
        format!("{}/members/", self.prefix)
    }

    /// One member's key.
    pub fn member(&self, id: &str) -> String {
        format!("{}/members/{id}", self.prefix)
    }

    /// The stable config.
    pub fn config(&self) -> String {
        format!("{}/config", self.prefix)
    }

    /// The config history prefix.
    pub fn config_history(&self) -> String {
        format!("{}/config-history/", self.prefix)
    }

    /// One version of the config history (zero-padded so keys sort by version).
    pub fn config_version(&self, version: u64) -> String {
        format!("{}/config-history/{version:020}", self.prefix)
    }

    /// The stable binary version.
    pub fn binary_version(&self) -> String {
        format!("{}/binary-version", self.prefix)
    }

    /// The assignments prefix.
    pub fn assignments(&self) -> String {
        format!("{}/assign/", self.prefix)
    }

    /// One member's assignment.
    pub fn assignment(&self, id: &str) -> String {
        format!("{}/assign/{id}", self.prefix)
    }

    /// The election prefix.
    pub fn election(&self) -> String {
        format!("{}/leader/", self.prefix)
    }

    /// A lock's prefix.
    pub fn lock(&self, name: &str) -> String {
        format!("{}/locks/{name}/", self.prefix)
    }

    /// The rollout record.
    pub fn rollout(&self) -> String {
        format!("{}/rollout", self.prefix)
    }

    /// The leader's global view.
    pub fn view(&self) -> String {
        format!("{}/view", self.prefix)
    }
}

/// How to reach etcd.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Client URLs, e.g. `http://127.0.0.1:2379`.
    pub endpoints: Vec<String>,
    /// Key prefix of the fleet, e.g. `/otlp-suite/prod`.
    pub prefix: String,
    /// User and password, when etcd has auth enabled.
    pub credentials: Option<(String, String)>,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
}

impl EtcdOptions {
    /// Options for `endpoints` and `prefix`, no auth, a 5 s connect timeout.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>, prefix: &str) -> Self {
        Self {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            prefix: prefix.to_owned(),
            credentials: None,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A connection to the fleet's etcd; cheap to clone.
#[derive(Clone)]
pub struct EtcdFleet {
    client: Client,
    keys: Keys,
}

impl std::fmt::Debug for EtcdFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdFleet")
            .field("prefix", &self.keys.prefix)
            .finish_non_exhaustive()
    }
}

impl EtcdFleet {
    /// Connects with `options`.
    ///
    /// # Errors
    ///
    /// [`Error::Etcd`](crate::Error::Etcd) when no endpoint answers.
    pub async fn connect(options: &EtcdOptions) -> Result<Self> {
        let mut connect = ConnectOptions::new()
            .with_connect_timeout(options.connect_timeout)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        if let Some((user, password)) = &options.credentials {
            connect = connect.with_user(user.clone(), password.clone());
        }
        Self::connect_with(&options.endpoints, Some(connect), &options.prefix).await
    }

    /// Connects with etcd-client's own options (TLS, when etcd-client's TLS feature is on).
    ///
    /// # Errors
    ///
    /// [`Error::Etcd`](crate::Error::Etcd) when no endpoint answers.
    pub async fn connect_with(
        endpoints: &[String],
        options: Option<ConnectOptions>,
        prefix: &str,
    ) -> Result<Self> {
        let client = Client::connect(endpoints, options).await?;
        Ok(Self::from_client(client, prefix))
    }

    /// Wraps an existing client.
    pub fn from_client(client: Client, prefix: &str) -> Self {
        Self {
            client,
            keys: Keys::new(prefix),
        }
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A clone of the underlying client.
    pub fn client(&self) -> Client {
        self.client.clone()
    }
}

impl Registry for EtcdFleet {
    fn register(&self, member: Member) -> BoxFuture<'_, Result<Registration>> {
        self.register_member(member, MembershipOptions::default())
            .boxed()
    }

    fn watch_members(&self) -> BoxFuture<'_, Result<MemberWatch>> {
        EtcdFleet::watch_members(self).boxed()
    }

    fn members(&self) -> BoxFuture<'_, Result<Vec<Member>>> {
        EtcdFleet::members(self).boxed()
    }

    fn put_config(&self, document: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        async move { EtcdFleet::put_config(self, &document).await }.boxed()
    }

    fn config(&self) -> BoxFuture<'_, Result<Option<ConfigVersion>>> {
        EtcdFleet::config(self).boxed()
    }

    fn watch_target<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<TargetWatch>> {
        EtcdFleet::watch_target(self, member_id).boxed()
    }
}

/// Decodes a JSON record, naming the key when it does not decode.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(key: &[u8], value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(|source| crate::Error::Decode {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

/// Encodes a record as JSON.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Our records are plain structs of strings and numbers: serializing them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}
