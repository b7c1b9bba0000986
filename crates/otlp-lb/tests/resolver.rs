//! Resolvers against the real system resolver (`localhost`, a `.invalid` name), and the
//! keep-the-last-good-set and never-freeze guarantees with lookups that fail or hang.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otlp_lb::policy::RoundRobin;
use otlp_lb::resolver::{DnsConfig, DnsResolver, HostLookup, Resolver, StaticResolver, follow};
use otlp_lb::{Balancer, Endpoint};

fn fast(hostname: &str) -> DnsConfig {
    DnsConfig {
        port: 4317,
        interval: Duration::from_millis(20),
        timeout: Duration::from_millis(500),
        ..DnsConfig::new(hostname)
    }
}

#[tokio::test]
async fn dns_resolves_localhost_to_loopback_endpoints() {
    let resolver = DnsResolver::spawn(fast("localhost")).unwrap();
    let mut updates = resolver.subscribe();
    let set = updates
        .wait_for(|set| !set.is_empty())
        .await
        .unwrap()
        .clone();
    let addresses: Vec<&str> = set.iter().map(Endpoint::address).collect();
    assert!(
        addresses
            .iter()
            .all(|a| *a == "127.0.0.1:4317" || *a == "[::1]:4317"),
        "{addresses:?}"
    );
    assert!(addresses.contains(&"127.0.0.1:4317"));
    assert_eq!(resolver.stats().last_error, None);
    let reader = resolver.stats_reader();
    let succeeded = resolver.stats().succeeded;
    assert!(succeeded >= 1);
    drop(resolver);
    assert!(
        reader.read().succeeded >= succeeded,
        "the counts outlive the resolver"
    );
}

#[tokio::test]
async fn dns_failure_is_counted_and_routes_nowhere_new() {
    // RFC 6761: `.invalid` never resolves.
    let resolver = DnsResolver::spawn(fast("collectors.invalid")).unwrap();
    resolver.attempts().wait_for(|n| *n >= 2).await.unwrap();
    assert!(resolver.subscribe().borrow().is_empty());
    let stats = resolver.stats();
    assert!(stats.failed >= 2 && stats.succeeded == 0, "{stats:?}");
    assert!(stats.last_error.unwrap().contains("collectors.invalid"));
}

#[derive(Clone)]
enum Step {
    Answer(Vec<SocketAddr>),
    Fail,
    Hang,
}

/// Answers from a script, then repeats its last step forever.
struct Scripted(Mutex<Vec<Step>>);

impl HostLookup for Scripted {
    async fn lookup(&self, _host: &str, _port: u16) -> io::Result<Vec<SocketAddr>> {
        let step = {
            let mut script = self.0.lock().unwrap();
            if script.len() > 1 {
                script.remove(0)
            } else {
                script[0].clone()
            }
        };
        match step {
            Step::Answer(addresses) => Ok(addresses),
            Step::Fail => Err(io::Error::other("SERVFAIL")),
            Step::Hang => std::future::pending().await,
        }
    }
}

#[tokio::test]
async fn dns_keeps_the_last_good_set_through_failures_empty_answers_and_hangs() {
    let good: Vec<SocketAddr> = vec![
        "10.0.0.2:4317".parse().unwrap(),
        "10.0.0.1:4317".parse().unwrap(),
    ];
    let script = Scripted(Mutex::new(vec![
        Step::Answer(good),
        Step::Fail,
        Step::Answer(Vec::new()),
        Step::Hang, // only the timeout gets the resolver out
    ]));
    let config = DnsConfig {
        timeout: Duration::from_millis(30),
        interval: Duration::from_millis(5),
        ..DnsConfig::new("collectors")
    };
    let resolver = DnsResolver::spawn_with(config, script).unwrap();
    let balancer = Arc::new(Balancer::new(RoundRobin::new()));
    let follower = follow(Arc::clone(&balancer), resolver.subscribe()).unwrap();
    // Two timed-out resolutions after the failures: the resolver is not frozen.
    resolver.attempts().wait_for(|n| *n >= 6).await.unwrap();
    let stats = resolver.stats();
    assert_eq!(stats.succeeded, 1);
    assert!(stats.failed >= 5);
    assert!(stats.last_error.unwrap().contains("took longer"));
    let set: Vec<String> = resolver
        .subscribe()
        .borrow()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(set, ["10.0.0.1:4317", "10.0.0.2:4317"]);
    follower.applied().wait_for(|n| *n >= 1).await.unwrap();
    assert_eq!(balancer.len(), 2);
    assert!(
        balancer.pick().is_ok(),
        "picks keep working while resolution hangs"
    );
}

#[tokio::test]
async fn a_follower_applies_every_published_set_and_skips_rejected_ones() {
    let resolver = StaticResolver::new(vec![Endpoint::new("a:1")]).unwrap();
    let balancer = Arc::new(Balancer::new(RoundRobin::new()));
    let follower = follow(Arc::clone(&balancer), resolver.subscribe()).unwrap();
    let mut applied = follower.applied();
    applied.wait_for(|n| *n >= 1).await.unwrap();
    assert_eq!(balancer.endpoints()[0].id(), "a:1");

    resolver
        .set(vec![Endpoint::new("b:1"), Endpoint::new("c:1")])
        .unwrap();
    applied.wait_for(|n| *n >= 2).await.unwrap();
    assert_eq!(balancer.len(), 2);
    assert!(
        resolver
            .set(vec![Endpoint::new("d:1"), Endpoint::new("d:1")])
            .is_err()
    );
    assert_eq!(
        resolver.subscribe().borrow().len(),
        2,
        "a bad set is not published"
    );
}

#[test]
fn resolvers_need_a_runtime() {
    assert!(matches!(
        DnsResolver::spawn(DnsConfig::new("localhost")),
        Err(otlp_lb::Error::NoRuntime(_))
    ));
}
