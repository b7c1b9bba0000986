//! Consul as a registration, discovery and config backend (feature `consul`), behind the same
//! [`Registry`] trait as etcd.
//!
//! Endpoints used (Consul HTTP API v1):
//!
//! * `PUT /v1/agent/service/register` — a member is a service instance (id = member id) with a
//!   TTL check; its record lives in the service's `Meta`.
//! * `PUT /v1/agent/check/pass/<check>` — the keep-alive, every third of the TTL; a 404 means
//!   the agent forgot the service (agent restart), which triggers a re-registration.
//! * `PUT /v1/agent/service/deregister/<id>` — leaving.
//! * `GET /v1/health/service/<name>?passing=true&index=&wait=` — discovery by blocking query;
//!   an index that goes backwards resets the query (a resync), as Consul's docs require.
//! * `GET /v1/kv/<key>` (blocking) and `PUT /v1/kv/<key>?cas=` — the config document; its
//!   version is the key's `ModifyIndex`.
//!
//! Leader election, locks and rollouts are etcd-only. No Consul server can be installed where
//! this crate is developed, so the backend is tested against a local HTTP server that implements
//! the endpoints above as documented; it has not been run against a real Consul agent.

mod http;
mod records;

use std::sync::Arc;
use std::time::Duration;

use ::http::{Method, StatusCode};
use base64::Engine;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, sleep_until};

use crate::error::{Error, Result};
use crate::fleet::{ConfigVersion, Member, Target};
use crate::registry::{
    MemberWatch, Registration, RegistrationTask, Registry, TargetWatch, WatchStats,
};
use http::{Answer, Http};
use records::{HealthEntry, KvEntry, check_id, from_service, to_service};

/// How to reach Consul.
#[derive(Debug, Clone)]
pub struct ConsulOptions {
    /// The agent's HTTP address, e.g. `http://127.0.0.1:8500`.
    pub address: String,
    /// The service name members register under.
    pub service: String,
    /// The KV key of the config document.
    pub config_key: String,
    /// An ACL token, sent as `X-Consul-Token`.
    pub token: Option<String>,
    /// The TTL of each member's check.
    pub ttl: Duration,
    /// How long a blocking query waits at most.
    pub wait: Duration,
}

impl ConsulOptions {
    /// Options for the agent at `address` and the service `service`; config at
    /// `otlp-suite/<service>/config`, TTL 10 s, blocking queries of 30 s.
    pub fn new(address: &str, service: &str) -> Self {
        Self {
            address: address.to_owned(),
            service: service.to_owned(),
            config_key: format!("otlp-suite/{service}/config"),
            token: None,
            ttl: Duration::from_secs(10),
            wait: Duration::from_secs(30),
        }
    }
}

/// A Consul-backed fleet; cheap to clone.
#[derive(Debug, Clone)]
pub struct ConsulFleet {
    http: Http,
    options: ConsulOptions,
}

/// Waits `backoff`; true when shutdown was asked for meanwhile.
async fn pause(backoff: Duration, shutdown: &mut oneshot::Receiver<()>) -> bool {
    tokio::select! {
        () = sleep_until(Instant::now() + backoff) => false,
        _ = shutdown => true,
    }
}

impl ConsulFleet {
    /// A fleet on the agent in `options`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an address that is not `http://`.
    pub fn new(options: ConsulOptions) -> Result<Self> {
        Ok(Self {
            http: Http::new(&options.address, options.token.clone())?,
            options,
        })
    }

    fn ttl_secs(&self) -> u64 {
        self.options.ttl.as_secs().max(1)
    }

    async fn register_service(&self, member: &Member) -> Result<()> {
        let body = serde_json::to_vec(&to_service(member, &self.options.service, self.ttl_secs()))
            .map_err(|error| Error::Consul(format!("encoding the registration: {error}")))?;
        self.http
            .ok(Method::PUT, "/v1/agent/service/register", body)
            .await?;
        // Registering starts the check critical; pass it so the member is listed at once.
        self.pass(&member.id).await.map(|_| ())
    }

    /// Passes the TTL check; false when the agent does not know it (any more).
    async fn pass(&self, member_id: &str) -> Result<bool> {
        let path = format!("/v1/agent/check/pass/{}", check_id(member_id));
        let answer = self.http.call(Method::PUT, &path, Vec::new()).await?;
        match answer.status {
            status if status.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            status if String::from_utf8_lossy(&answer.body).contains("Unknown check") => {
                tracing::debug!(%status, "agent forgot the check");
                Ok(false)
            }
            status => Err(Error::Consul(format!("{path}: {status}"))),
        }
    }

    /// Registers `member` and keeps its check passing; re-registers when the agent forgets it.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an invalid id; [`Error::Consul`] when the first registration fails.
    pub async fn register_member(&self, member: Member) -> Result<Registration> {
        member.validate()?;
        self.register_service(&member).await?;
        let fleet = self.clone();
        let registration = Registration::spawn(member, move |task| fleet.keep_registered(task));
        registration.wait_registrations(1).await?;
        Ok(registration)
    }

    async fn keep_registered(self, task: RegistrationTask) -> Result<()> {
        let RegistrationTask {
            mut record,
            status,
            mut shutdown,
        } = task;
        status.send_modify(|s| {
            s.registered = true;
            s.registrations = 1;
        });
        let period = self.options.ttl / 3;
        let mut next_pass = Instant::now() + period;
        loop {
            tokio::select! {
                asked = &mut shutdown => {
                    if asked.is_ok() {
                        let id = record.borrow().id.clone();
                        let path = format!("/v1/agent/service/deregister/{id}");
                        self.http.ok(Method::PUT, &path, Vec::new()).await?;
                    }
                    return Ok(());
                }
                changed = record.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let member = record.borrow_and_update().clone();
                    if let Err(error) = self.register_service(&member).await {
                        status.send_modify(|s| s.last_error = Some(error.to_string()));
                    }
                }
                () = sleep_until(next_pass) => {
                    let id = record.borrow().id.clone();
                    next_pass = Instant::now() + period;
                    match self.pass(&id).await {
                        Ok(true) => status.send_if_modified(|s| {
                            let changed = !s.registered;
                            s.registered = true;
                            changed
                        }),
                        Ok(false) => {
                            let member = record.borrow().clone();
                            match self.register_service(&member).await {
                                Ok(()) => status.send_modify(|s| {
                                    s.registered = true;
                                    s.registrations += 1;
                                }),
                                Err(error) => status.send_modify(|s| {
                                    s.registered = false;
                                    s.last_error = Some(error.to_string());
                                }),
                            }
                            true
                        }
                        Err(error) => {
                            status.send_modify(|s| s.last_error = Some(error.to_string()));
                            if pause(Duration::from_millis(200), &mut shutdown).await {
                                return Ok(());
                            }
                            true
                        }
                    };
                }
            }
        }
    }

    fn health_path(&self) -> String {
        format!("/v1/health/service/{}?passing=true", self.options.service)
    }

    fn blocking(&self, path: &str, index: u64) -> String {
        format!(
            "{path}{}index={index}&wait={}s",
            if path.contains('?') { '&' } else { '?' },
            self.options.wait.as_secs().max(1)
        )
    }

    fn decode_members(answer: &Answer) -> Result<Vec<Member>> {
        let entries: Vec<HealthEntry> =
            serde_json::from_slice(&answer.body).map_err(|source| Error::Decode {
                key: "health/service".into(),
                source,
            })?;
        let mut members: Vec<Member> = entries
            .iter()
            .filter_map(|entry| from_service(&entry.service))
            .collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(members)
    }

    /// The members whose checks pass, sorted by id.
    ///
    /// # Errors
    ///
    /// [`Error::Consul`] or [`Error::Decode`].
    pub async fn members(&self) -> Result<Vec<Member>> {
        let answer = self
            .http
            .ok(Method::GET, &self.health_path(), Vec::new())
            .await?;
        Self::decode_members(&answer)
    }

    /// Watches the passing members by blocking queries.
    ///
    /// # Errors
    ///
    /// [`Error::Consul`] when the first query fails.
    pub async fn watch_members(&self) -> Result<MemberWatch> {
        let first = self
            .http
            .ok(Method::GET, &self.health_path(), Vec::new())
            .await?;
        let members: Arc<[Member]> = Self::decode_members(&first)?.into();
        let mut index = first.index.unwrap_or(1).max(1);
        let (members_tx, members_rx) = watch::channel(members);
        let (stats_tx, stats) = watch::channel(WatchStats {
            revision: i64::try_from(index).unwrap_or(i64::MAX),
            ..WatchStats::default()
        });
        let fleet = self.clone();
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(50);
            loop {
                let path = fleet.blocking(&fleet.health_path(), index);
                let answer = match fleet.http.ok(Method::GET, &path, Vec::new()).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        stats_tx.send_modify(|s| s.resumes += 1);
                        sleep_until(Instant::now() + backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                };
                backoff = Duration::from_millis(50);
                let next = answer.index.unwrap_or(1).max(1);
                if next < index {
                    stats_tx.send_modify(|s| s.resyncs += 1);
                }
                index = next;
                stats_tx.send_modify(|s| s.revision = i64::try_from(index).unwrap_or(i64::MAX));
                if let Ok(members) = Self::decode_members(&answer) {
                    let members: Arc<[Member]> = members.into();
                    members_tx.send_if_modified(|current| {
                        let changed = *current != members;
                        if changed {
                            *current = members;
                        }
                        changed
                    });
                }
                if members_tx.is_closed() {
                    return;
                }
            }
        });
        Ok(MemberWatch::new(members_rx, stats, task))
    }

    fn kv_path(&self) -> String {
        format!("/v1/kv/{}", self.options.config_key)
    }

    fn decode_config(answer: &Answer) -> Result<Option<ConfigVersion>> {
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let entries: Vec<KvEntry> =
            serde_json::from_slice(&answer.body).map_err(|source| Error::Decode {
                key: "kv".into(),
                source,
            })?;
        let Some(entry) = entries.into_iter().next() else {
            return Ok(None);
        };
        let document = base64::engine::general_purpose::STANDARD
            .decode(entry.value.unwrap_or_default())
            .map_err(|error| Error::Consul(format!("config value is not base64: {error}")))?;
        Ok(Some(ConfigVersion {
            version: entry.modify_index,
            document: document.into(),
        }))
    }

    /// The config document and its version (the key's `ModifyIndex`).
    ///
    /// # Errors
    ///
    /// [`Error::Consul`] or [`Error::Decode`].
    pub async fn config(&self) -> Result<Option<ConfigVersion>> {
        let answer = self
            .http
            .call(Method::GET, &self.kv_path(), Vec::new())
            .await?;
        if !answer.status.is_success() && answer.status != StatusCode::NOT_FOUND {
            return Err(Error::Consul(format!(
                "{}: {}",
                self.kv_path(),
                answer.status
            )));
        }
        Self::decode_config(&answer)
    }

    /// Stores a new config document with check-and-set; returns its version.
    ///
    /// # Errors
    ///
    /// [`Error::Consul`], or [`Error::Conflict`] when other writers kept winning.
    pub async fn put_config(&self, document: &[u8]) -> Result<u64> {
        for _ in 0..16 {
            let current = self.config().await?.map_or(0, |config| config.version);
            let path = format!("{}?cas={current}", self.kv_path());
            let answer = self.http.ok(Method::PUT, &path, document.to_vec()).await?;
            if answer.body.as_ref().trim_ascii() == b"true" {
                return Ok(self.config().await?.map_or(0, |config| config.version));
            }
        }
        Err(Error::Conflict("the config key kept changing".into()))
    }

    /// Watches the config document (every member's target: Consul has no rollouts).
    ///
    /// # Errors
    ///
    /// [`Error::Consul`] when the first read fails.
    pub async fn watch_target(&self, _member_id: &str) -> Result<TargetWatch> {
        let first = self
            .http
            .call(Method::GET, &self.kv_path(), Vec::new())
            .await?;
        let mut index = first.index.unwrap_or(1).max(1);
        let (target_tx, target) = watch::channel(Target {
            config: Self::decode_config(&first)?,
            binary_version: None,
        });
        let fleet = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let path = fleet.blocking(&fleet.kv_path(), index);
                let Ok(answer) = fleet.http.call(Method::GET, &path, Vec::new()).await else {
                    sleep_until(Instant::now() + Duration::from_millis(200)).await;
                    continue;
                };
                let next = answer.index.unwrap_or(1).max(1);
                index = if next < index { 1 } else { next };
                if let Ok(config) = Self::decode_config(&answer) {
                    target_tx.send_if_modified(|current| {
                        let changed = current.config != config;
                        current.config = config;
                        changed
                    });
                }
                if target_tx.is_closed() {
                    return;
                }
            }
        });
        Ok(TargetWatch::new(target, task))
    }
}

impl Registry for ConsulFleet {
    fn register(&self, member: Member) -> BoxFuture<'_, Result<Registration>> {
        self.register_member(member).boxed()
    }

    fn watch_members(&self) -> BoxFuture<'_, Result<MemberWatch>> {
        ConsulFleet::watch_members(self).boxed()
    }

    fn members(&self) -> BoxFuture<'_, Result<Vec<Member>>> {
        ConsulFleet::members(self).boxed()
    }

    fn put_config(&self, document: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        async move { ConsulFleet::put_config(self, &document).await }.boxed()
    }

    fn config(&self) -> BoxFuture<'_, Result<Option<ConfigVersion>>> {
        ConsulFleet::config(self).boxed()
    }

    fn watch_target<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<TargetWatch>> {
        ConsulFleet::watch_target(self, member_id).boxed()
    }
}
