//! The tower layer balancing over real TCP echo servers on loopback, with failover when one
//! of them is down, and active health checks against real listeners.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use otlp_lb::health::{ActiveHealthCheck, HealthChecker, OutlierDetection, TcpConnect};
use otlp_lb::policy::{ConsistentHash, RoundRobin};
use otlp_lb::retry::{Backoff, RetryPolicy};
use otlp_lb::service::BalanceLayer;
use otlp_lb::{Balancer, Endpoint, hash_key};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, Service, ServiceExt};

/// An echo server that prefixes each reply with its name; runs until the test ends.
async fn echo_server(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = [0_u8; 256];
                let Ok(n) = stream.read(&mut buffer).await else {
                    return;
                };
                let mut reply = format!("{name}:").into_bytes();
                reply.extend_from_slice(&buffer[..n]);
                let _ = stream.write_all(&reply).await;
            });
        }
    });
    address
}

/// A loopback address nothing listens on (bound, then closed).
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// The per-endpoint service: connect, send the request, read the reply.
fn tcp_client(
    endpoint: &Endpoint,
) -> tower::util::BoxCloneSyncService<String, String, std::io::Error> {
    let address = endpoint.address().to_owned();
    tower::util::BoxCloneSyncService::new(tower::service_fn(move |request: String| {
        let address = address.clone();
        async move {
            let mut stream = TcpStream::connect(&address).await?;
            stream.write_all(request.as_bytes()).await?;
            stream.shutdown().await?;
            let mut reply = String::new();
            stream.read_to_string(&mut reply).await?;
            Ok(reply)
        }
    }))
}

#[tokio::test]
async fn balances_over_echo_servers_and_fails_over_from_a_dead_one() {
    let alive = [echo_server("one").await, echo_server("two").await];
    let dead = closed_port().await;
    let balancer = Arc::new(
        Balancer::builder(RoundRobin::new())
            .outlier_detection(OutlierDetection {
                consecutive_failures: 2,
                ..OutlierDetection::default()
            })
            .endpoints([alive[0], alive[1], dead].map(|a| Endpoint::new(a.to_string())))
            .build()
            .unwrap(),
    );
    let retry = RetryPolicy::new(3).with_backoff(Backoff {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
        multiplier: 2.0,
    });
    let mut service = BalanceLayer::new(Arc::clone(&balancer))
        .with_retry(retry)
        .layer(tcp_client);
    let mut replies = Vec::new();
    for i in 0..12 {
        let reply = service
            .ready()
            .await
            .unwrap()
            .call(format!("hello {i}"))
            .await
            .unwrap();
        assert!(reply.ends_with(&format!("hello {i}")), "{reply}");
        replies.push(reply);
    }
    assert!(replies.iter().any(|r| r.starts_with("one:")));
    assert!(replies.iter().any(|r| r.starts_with("two:")));
    // The dead endpoint failed its way out of rotation.
    assert!(balancer.ejected_for(&dead.to_string()).is_some());
}

#[tokio::test]
async fn keyed_requests_stick_to_one_server() {
    let servers = [
        echo_server("a").await,
        echo_server("b").await,
        echo_server("c").await,
    ];
    let balancer = Arc::new(Balancer::new(ConsistentHash::new()));
    balancer
        .set_endpoints(servers.map(|a| Endpoint::new(a.to_string())))
        .unwrap();
    let service = BalanceLayer::new(Arc::clone(&balancer))
        .with_key(|request: &String| {
            Some(hash_key(request.split(' ').next().unwrap_or("").as_bytes()))
        })
        .layer(tcp_client);
    for user in ["alice", "bob", "carol"] {
        let mut names = std::collections::BTreeSet::new();
        for i in 0..5 {
            let reply = service
                .clone()
                .oneshot(format!("{user} {i}"))
                .await
                .unwrap();
            names.insert(reply.split(':').next().unwrap().to_owned());
        }
        assert_eq!(names.len(), 1, "{user} went to {names:?}");
    }
}

#[tokio::test]
async fn no_endpoint_is_a_clear_error() {
    let balancer = Arc::new(Balancer::new(RoundRobin::new()));
    let service = BalanceLayer::new(balancer).layer(tcp_client);
    let error = service.oneshot("x".to_owned()).await.unwrap_err();
    assert!(error.to_string().contains("no endpoints"), "{error}");
}

#[tokio::test]
async fn active_tcp_checks_take_a_dead_endpoint_out_and_bring_it_back() {
    let alive = echo_server("up").await;
    // Not a port-0 bind dropped at once: another test's server could be handed the same port and answer the probes
    // of an endpoint that must be down (otlp_testkit::net explains).
    let port = otlp_testkit::net::free_port().unwrap();
    let flapping: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let balancer = Arc::new(Balancer::new(RoundRobin::new()));
    balancer
        .set_endpoints([alive, flapping].map(|a| Endpoint::new(a.to_string())))
        .unwrap();
    let config = ActiveHealthCheck {
        interval: Duration::from_millis(10),
        timeout: Duration::from_millis(500),
        unhealthy_threshold: 2,
        healthy_threshold: 1,
    };
    let checker = HealthChecker::spawn(Arc::clone(&balancer), TcpConnect, config).unwrap();
    let mut rounds = checker.rounds();
    rounds.wait_for(|n| *n >= 2).await.unwrap();
    assert!(balancer.is_eligible(&alive.to_string()));
    assert!(!balancer.is_eligible(&flapping.to_string()));
    for _ in 0..4 {
        assert_eq!(
            balancer.pick().unwrap().endpoint().address(),
            alive.to_string()
        );
    }
    // Something listens there again: one good probe brings it back.
    let _listener = TcpListener::bind(flapping).await.unwrap();
    let seen = *rounds.borrow();
    rounds.wait_for(|n| *n >= seen + 2).await.unwrap();
    assert!(balancer.is_eligible(&flapping.to_string()));
}
