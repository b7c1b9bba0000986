//! A tower service balanced over three TCP echo servers on loopback with P2C peak-EWMA; one
//! of them is slow, and the balancer learns to avoid it. Failed requests are retried on
//! another endpoint.
//!
//! `cargo run -p otlp-lb --example tower_echo`

use std::sync::Arc;
use std::time::Duration;

use otlp_lb::policy::PeakEwma;
use otlp_lb::retry::RetryPolicy;
use otlp_lb::service::BalanceLayer;
use otlp_lb::{Balancer, Endpoint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, ServiceExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An echo server answering after `delay`; returns its address.
async fn echo_server(delay: Duration) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                if stream.read_to_end(&mut request).await.is_ok() {
                    tokio::time::sleep(delay).await;
                    let _ = stream.write_all(&request).await;
                }
            });
        }
    });
    Ok(address)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let fast_a = echo_server(Duration::from_millis(1)).await?;
    let fast_b = echo_server(Duration::from_millis(1)).await?;
    let slow = echo_server(Duration::from_millis(40)).await?;

    let balancer = Arc::new(Balancer::new(PeakEwma::new()));
    balancer.set_endpoints([&fast_a, &fast_b, &slow].map(|a| Endpoint::new(a.as_str())))?;

    // One inner service per endpoint: connect, send, half-close, read the echo.
    let service = BalanceLayer::new(Arc::clone(&balancer))
        .with_retry(RetryPolicy::new(2))
        .layer(|endpoint: &Endpoint| {
            let address = endpoint.address().to_owned();
            tower::service_fn(move |request: Vec<u8>| {
                let address = address.clone();
                async move {
                    let mut stream = TcpStream::connect(&address).await?;
                    stream.write_all(&request).await?;
                    stream.shutdown().await?;
                    let mut reply = Vec::new();
                    stream.read_to_end(&mut reply).await?;
                    Ok::<_, std::io::Error>(reply)
                }
            })
        });

    for i in 0..60 {
        let reply = service
            .clone()
            .oneshot(format!("ping {i}").into_bytes())
            .await?;
        assert_eq!(reply, format!("ping {i}").into_bytes());
    }
    for stats in balancer.stats() {
        let slow_marker = if stats.endpoint.address() == slow {
            " (slow)"
        } else {
            ""
        };
        println!(
            "{}{slow_marker}: {} requests, peak-EWMA {:?}",
            stats.endpoint,
            stats.successes,
            stats.peak_ewma.unwrap_or_default()
        );
    }
    Ok(())
}
