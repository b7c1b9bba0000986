//! The `loadbalancing` exporter's `fleet` resolver: the live members of a fleet on etcd are the backends, each at
//! the address it advertises, so a front tier follows members joining and leaving (a lease that expires takes a
//! dead member out) without a DNS name or a static list to keep up to date.

use std::sync::Arc;
use std::time::Duration;

use otlp_collector::exporter::loadbalancing::Resolver;
use otlp_control::fleet::Member;
use otlp_lb::Endpoint;
use serde::Deserialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::{EtcdTlsConfig, default_prefix};
use super::{connect, explain};

/// `resolver.fleet` of a `loadbalancing` exporter: which fleet, and which of its members.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetResolverConfig {
    /// etcd client URLs of the fleet, as in the `fleet` extension.
    pub endpoints: Vec<String>,
    /// The fleet's key prefix.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Only members of this region (default: every member).
    #[serde(default)]
    pub region: Option<String>,
    /// etcd user, with `password`.
    #[serde(default)]
    pub username: Option<String>,
    /// etcd password, with `username`.
    #[serde(default)]
    pub password: Option<String>,
    /// TLS to etcd.
    #[serde(default)]
    pub tls: Option<EtcdTlsConfig>,
}

impl FleetResolverConfig {
    /// Reads and checks the settings as written under `resolver.fleet`.
    pub fn from_value(value: &serde_norway::Value) -> Result<Self, String> {
        let config: FleetResolverConfig =
            serde_norway::from_value(value.clone()).map_err(|error| error.to_string())?;
        if config.endpoints.is_empty() {
            return Err("endpoints: must list at least one etcd endpoint".to_owned());
        }
        if config.username.is_some() != config.password.is_some() {
            return Err("username and password go together".to_owned());
        }
        Ok(config)
    }
}

/// Publishes a fleet's members as load-balancing backends, kept current by a watch on etcd.
#[derive(Debug)]
pub struct FleetResolver {
    endpoints: watch::Receiver<Arc<[Endpoint]>>,
    task: JoinHandle<()>,
}

impl FleetResolver {
    /// Starts following the fleet on a task of its own. Until etcd first answers, the set is empty (the exporter
    /// holds its data and retries, as with a DNS name not yet resolved); an unreachable etcd is retried every
    /// second and a broken watch resumes by itself, so a running front tier keeps its last set through an etcd
    /// outage.
    pub fn spawn(config: FleetResolverConfig) -> Self {
        let (sender, endpoints) = watch::channel(Arc::<[Endpoint]>::from(Vec::new()));
        let task = tokio::spawn(follow(config, sender));
        FleetResolver { endpoints, task }
    }
}

impl Drop for FleetResolver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Resolver for FleetResolver {
    fn subscribe(&self) -> watch::Receiver<Arc<[Endpoint]>> {
        self.endpoints.clone()
    }
}

async fn follow(config: FleetResolverConfig, sender: watch::Sender<Arc<[Endpoint]>>) {
    let credentials = config.username.as_deref().zip(config.password.as_deref());
    let watch = loop {
        let connected = connect(
            &config.endpoints,
            &config.prefix,
            credentials,
            config.tls.as_ref(),
        )
        .await;
        let watching = match connected {
            Ok(fleet) => fleet
                .watch_members()
                .await
                .map_err(|error| explain(error.into(), &config.endpoints, config.tls.as_ref())),
            Err(error) => Err(error),
        };
        match watching {
            Ok(watch) => break watch,
            Err(error) => {
                tracing::warn!(%error, "resolver.fleet: cannot read the fleet's members; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut members = watch.receiver();
    loop {
        let next = backends(&members.borrow_and_update(), config.region.as_deref());
        sender.send_if_modified(|current| {
            let changed = **current != *next;
            if changed {
                tracing::info!(
                    backends = next.len(),
                    "resolver.fleet: the fleet's members changed"
                );
                *current = next;
            }
            changed
        });
        if members.changed().await.is_err() {
            return;
        }
    }
}

/// The backends of a member set: each member's advertised address, once, sorted.
fn backends(members: &[Member], region: Option<&str>) -> Arc<[Endpoint]> {
    let mut addresses: Vec<&str> = members
        .iter()
        .filter(|member| region.is_none_or(|region| member.region == region))
        .map(|member| member.address.as_str())
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    addresses.into_iter().map(Endpoint::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, region: &str, address: &str) -> Member {
        Member::new(id, region, address, "1").unwrap()
    }

    #[test]
    fn backends_are_advertised_addresses_once_sorted_and_of_the_region_asked() {
        let members = [
            member("c", "eu", "10.0.0.3:4317"),
            member("a", "us", "10.0.0.1:4317"),
            member("b", "eu", "10.0.0.2:4317"),
            member("b2", "eu", "10.0.0.2:4317"),
        ];
        let ids = |set: Arc<[Endpoint]>| -> Vec<String> {
            set.iter().map(|e| e.id().to_string()).collect()
        };
        assert_eq!(
            ids(backends(&members, None)),
            ["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"]
        );
        assert_eq!(
            ids(backends(&members, Some("eu"))),
            ["10.0.0.2:4317", "10.0.0.3:4317"]
        );
    }

    #[test]
    fn settings_are_checked() {
        let parse =
            |yaml: &str| FleetResolverConfig::from_value(&serde_norway::from_str(yaml).unwrap());
        let config = parse("endpoints: [http://127.0.0.1:2379]\nregion: eu").unwrap();
        assert_eq!(config.prefix, "/otlp-suite");
        assert!(parse("endpoints: []").unwrap_err().contains("at least one"));
        assert!(
            parse("endpoints: [x]\nregoin: eu")
                .unwrap_err()
                .contains("regoin")
        );
        assert!(
            parse("endpoints: [x]\nusername: u")
                .unwrap_err()
                .contains("together")
        );
    }
}
