//! What sending alone costs: a batch exactly as the forwarding config's OTLP exporter sent it to the sink, sent
//! again and again straight over HTTP/2 (the `h2` crate under hyper and tonic, framed as gRPC frames an
//! uncompressed message), one request at a time on one thread, which counts its own CPU time. No batching, no
//! retries, no queue, no tonic: the part of every OTLP/gRPC exporter's cost that is HTTP/2 and the kernel.

use bytes::Bytes;
use std::time::{Duration, Instant};

/// Sending a batch over and over for a while.
pub(crate) struct Sent {
    pub(crate) spans_per_second: f64,
    pub(crate) cpu_per_million: f64,
}

/// CPU time of the calling thread, user + system.
fn thread_cpu() -> Duration {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(time.tv_sec).unwrap_or(0),
        u32::try_from(time.tv_nsec).unwrap_or(0),
    )
}

/// Sends `message` (an `ExportTraceServiceRequest` of `spans` spans) to the gRPC server on `port` for `duration`.
pub(crate) fn send_floor(
    port: u16,
    message: &[u8],
    spans: usize,
    duration: Duration,
) -> Result<Sent, String> {
    let length = u32::try_from(message.len()).map_err(|_| "a batch over 4 GiB")?;
    // gRPC's message prefix: not compressed, then the length, big-endian.
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(message);
    let framed = Bytes::from(framed);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(send_for(port, framed, spans, duration))
    })
    .join()
    .map_err(|_| "the sending thread panicked".to_owned())?
}

async fn send_for(
    port: u16,
    framed: Bytes,
    spans: usize,
    duration: Duration,
) -> Result<Sent, String> {
    let error = |e: h2::Error| e.to_string();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut client, connection) = h2::client::handshake(tcp).await.map_err(error)?;
    // The connection is driven on this thread too, so that its CPU is counted.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let uri = format!(
        "http://127.0.0.1:{port}/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    );
    let (cpu_before, started) = (thread_cpu(), Instant::now());
    let mut sent = 0usize;
    while started.elapsed() < duration {
        client = client.ready().await.map_err(error)?;
        let request = http::Request::post(uri.as_str())
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .map_err(|e| e.to_string())?;
        let (response, mut stream) = client.send_request(request, false).map_err(error)?;
        stream.send_data(framed.clone(), true).map_err(error)?;
        let mut body = response.await.map_err(error)?.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(error)?;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        let status = body
            .trailers()
            .await
            .map_err(error)?
            .and_then(|trailers| trailers.get("grpc-status").cloned());
        if status.as_ref().is_none_or(|s| s.as_bytes() != b"0") {
            return Err(format!("the sink answered grpc-status {status:?}"));
        }
        sent += spans;
    }
    let cpu = (thread_cpu() - cpu_before).as_secs_f64();
    Ok(Sent {
        spans_per_second: sent as f64 / started.elapsed().as_secs_f64(),
        cpu_per_million: cpu * 1e6 / sent.max(1) as f64,
    })
}
