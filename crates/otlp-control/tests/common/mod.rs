//! Shared helpers of the etcd tests: a real etcd, members with config followers, a TCP proxy
//! that can partition a client from etcd, and a hang guard for event-driven waits.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use otlp_control::etcd::{EtcdFleet, EtcdOptions, MembershipOptions};
use otlp_control::fleet::{ConfigVersion, Member};
use otlp_control::{ConfigFollower, Registration};
use otlp_testkit::etcd::EtcdServer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long any single wait may take before the test is declared hung. Not a timing
/// assertion: every wait is event-driven and normally ends far sooner.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A real etcd; panics with the Debian package's name when the binary is missing.
pub fn etcd() -> EtcdServer {
    EtcdServer::start().unwrap_or_else(|error| panic!("{error}"))
}

pub async fn fleet(endpoint: &str, prefix: &str) -> EtcdFleet {
    EtcdFleet::connect(&EtcdOptions::new([endpoint], prefix))
        .await
        .unwrap()
}

/// Awaits `future` (an event-driven wait) and unwraps its result.
pub async fn within<T, E: std::fmt::Debug>(
    what: &str,
    future: impl Future<Output = Result<T, E>>,
) -> T {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("hung waiting for {what}"))
        .unwrap_or_else(|error| panic!("waiting for {what}: {error:?}"))
}

/// The config validator members use: a YAML mapping.
pub fn validate(config: &ConfigVersion) -> Result<serde_norway::Value, String> {
    let text = config.text().ok_or("not UTF-8")?;
    let value: serde_norway::Value =
        serde_norway::from_str(text).map_err(|error| format!("invalid YAML: {error}"))?;
    if value.is_mapping() {
        Ok(value)
    } else {
        Err("the config must be a YAML mapping".to_owned())
    }
}

pub struct TestMember {
    pub registration: Registration,
    pub follower: ConfigFollower<serde_norway::Value>,
}

pub async fn member(fleet: &EtcdFleet, id: &str, region: &str, ttl: Duration) -> TestMember {
    let record = Member::new(id, region, format!("{id}.local:4317"), "0.1.0").unwrap();
    let registration = fleet
        .register_member(record, MembershipOptions { ttl })
        .await
        .unwrap();
    let targets = fleet.watch_target(id).await.unwrap();
    let follower = ConfigFollower::spawn(targets, registration.record(), validate);
    TestMember {
        registration,
        follower,
    }
}

/// A TCP proxy in front of etcd that can cut every connection, as a network partition would.
pub struct Proxy {
    pub endpoint: String,
    partitioned: watch::Sender<bool>,
    _task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (partitioned, cut) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if *cut.borrow() {
                    continue; // dropped: refused while partitioned
                }
                let mut cut = cut.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self {
            endpoint,
            partitioned,
            _task: task,
        }
    }

    pub fn partition(&self, cut: bool) {
        self.partitioned.send_replace(cut);
    }
}
