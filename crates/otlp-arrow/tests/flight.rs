//! Arrow Flight `do_put` between the real client and server on a loopback port: data
//! arrives intact, acks follow the sink, bad tokens, refusals and garbage are refused.
#![cfg(feature = "flight")]

use std::sync::{Arc, Mutex};

use arrow_flight::FlightData;
use arrow_flight::flight_service_client::FlightServiceClient;
use futures::future::BoxFuture;
use otlp_arrow::flight::{FlightClient, FlightServer, Refusal, TelemetrySink};
use otlp_arrow::{AnyRequest, Compression, IpcFormat, WriterOptions};
use otlp_testkit::Generator;
use tokio::sync::{Notify, Semaphore};
use tonic::Code;

/// Keeps what it receives; optionally waits for a permit per request or refuses.
#[derive(Clone, Default)]
struct Recorder {
    received: Arc<Mutex<Vec<AnyRequest>>>,
    gate: Option<Arc<Semaphore>>,
    called: Arc<Notify>,
    refuse: Option<Refusal>,
}

impl TelemetrySink for Recorder {
    fn consume(&self, telemetry: AnyRequest) -> BoxFuture<'static, Result<(), Refusal>> {
        let this = self.clone();
        Box::pin(async move {
            this.called.notify_one();
            if let Some(refusal) = this.refuse {
                return Err(refusal);
            }
            if let Some(gate) = &this.gate {
                gate.acquire().await.unwrap().forget();
            }
            this.received.lock().unwrap().push(telemetry);
            Ok(())
        })
    }
}

/// A plain Flight client, as any Arrow implementation has, without this crate's.
async fn raw_client(url: String) -> FlightServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightServiceClient::new(channel)
}

async fn start(sink: Recorder, token: Option<&str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = FlightServer::new(sink, token.map(str::to_string)).into_service();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    format!("http://{addr}")
}

fn requests(generator: &mut Generator) -> [Vec<AnyRequest>; 3] {
    [
        (0..4)
            .map(|i| AnyRequest::Traces(generator.traces(10 + i * 50)))
            .collect(),
        (0..3)
            .map(|i| AnyRequest::Metrics(generator.metrics(5 + i * 20)))
            .collect(),
        (0..3)
            .map(|i| AnyRequest::Logs(generator.logs(7 + i * 30)))
            .collect(),
    ]
}

#[tokio::test]
async fn all_signals_arrive_intact_and_acknowledged() {
    let sink = Recorder::default();
    let url = start(sink.clone(), Some("t0ken")).await;
    let mut client = FlightClient::connect(url, Some("t0ken".into()))
        .await
        .unwrap();
    let mut generator = Generator::new(5);
    let mut sent = Vec::new();
    for batch in requests(&mut generator) {
        assert_eq!(client.send(&batch).await.unwrap(), batch.len() as u64);
        sent.extend(batch);
    }
    assert_eq!(*sink.received.lock().unwrap(), sent);
}

#[tokio::test]
async fn every_compression_choice_arrives_intact() {
    let sink = Recorder::default();
    let url = start(sink.clone(), None).await;
    let mut generator = Generator::new(11);
    let mut sent = Vec::new();
    let choices = [
        (true, Compression::None),
        (true, Compression::Zstd(3)),
        (false, Compression::Lz4),
        (false, Compression::None),
    ];
    for (transport_zstd, buffers) in choices {
        let mut client = FlightClient::connect(url.clone(), None)
            .await
            .unwrap()
            .with_transport_compression(transport_zstd)
            .with_options(WriterOptions::new(IpcFormat::Stream).with_compression(buffers));
        let batch: Vec<AnyRequest> = (0..2)
            .map(|_| AnyRequest::Traces(generator.traces(40)))
            .collect();
        assert_eq!(client.send(&batch).await.unwrap(), 2);
        sent.extend(batch);
    }
    assert_eq!(*sink.received.lock().unwrap(), sent);
}

#[tokio::test]
async fn wrong_or_missing_token_is_unauthenticated() {
    let sink = Recorder::default();
    let url = start(sink.clone(), Some("right")).await;
    let batch = vec![AnyRequest::Traces(Generator::new(1).traces(5))];
    for token in [Some("wrong".to_string()), None] {
        let mut client = FlightClient::connect(url.clone(), token).await.unwrap();
        match client.send(&batch).await.unwrap_err() {
            otlp_arrow::Error::Flight(status) => assert_eq!(status.code(), Code::Unauthenticated),
            other => panic!("expected an unauthenticated status, got {other}"),
        }
    }
    assert!(sink.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_overloaded_sink_refuses_with_resource_exhausted() {
    let sink = Recorder {
        refuse: Some(Refusal::Overloaded {
            retry_after: Some(std::time::Duration::from_secs(3)),
        }),
        ..Recorder::default()
    };
    let url = start(sink, None).await;
    let mut client = FlightClient::connect(url, None).await.unwrap();
    let batch = vec![AnyRequest::Logs(Generator::new(2).logs(5))];
    match client.send(&batch).await.unwrap_err() {
        otlp_arrow::Error::Flight(status) => {
            assert_eq!(status.code(), Code::ResourceExhausted);
            assert_eq!(status.metadata().get("retry-after").unwrap(), "3");
        }
        other => panic!("expected resource exhausted, got {other}"),
    }
}

#[tokio::test]
async fn acknowledgements_wait_for_the_sink() {
    let gate = Arc::new(Semaphore::new(0));
    let sink = Recorder {
        gate: Some(gate.clone()),
        ..Recorder::default()
    };
    let url = start(sink.clone(), None).await;
    let mut client = FlightClient::connect(url, None).await.unwrap();
    let mut generator = Generator::new(9);
    let batch: Vec<AnyRequest> = (0..3)
        .map(|_| AnyRequest::Traces(generator.traces(20)))
        .collect();
    let expected = batch.clone();
    let send = tokio::spawn(async move { client.send(&batch).await });

    // The sink holds the first request: nothing can be acknowledged, so the client
    // cannot have finished, however long we look.
    sink.called.notified().await;
    assert!(!send.is_finished());
    assert!(sink.received.lock().unwrap().is_empty());

    gate.add_permits(3);
    assert_eq!(send.await.unwrap().unwrap(), 3);
    assert_eq!(*sink.received.lock().unwrap(), expected);
}

#[tokio::test]
async fn a_garbage_flight_stream_is_an_invalid_argument() {
    let sink = Recorder::default();
    let url = start(sink.clone(), None).await;
    let mut raw = raw_client(url).await;
    let garbage = FlightData {
        data_header: vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4].into(),
        data_body: vec![0u8; 16].into(),
        ..FlightData::default()
    };
    let status = match raw.do_put(futures::stream::iter(vec![garbage])).await {
        Err(status) => status,
        Ok(response) => {
            let mut acks = response.into_inner();
            acks.message().await.unwrap_err()
        }
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    assert!(sink.received.lock().unwrap().is_empty());
}

/// A stream of the flat layout, as a generic Flight client sends a table read from the collector's files: every
/// signal arrives as the request the table was built from, one per batch, and each batch is acknowledged.
#[tokio::test]
async fn flat_batches_from_a_generic_client_arrive_intact() {
    use otlp_arrow::flat::FlatBuilder;
    let sink = Recorder::default();
    let url = start(sink.clone(), None).await;
    let mut raw = raw_client(url).await;
    let mut generator = Generator::new(21);
    for sent in requests(&mut generator) {
        let batches: Vec<_> = sent
            .iter()
            .map(|request| {
                let mut builder = FlatBuilder::new(request.signal());
                builder.append(request).unwrap();
                builder.finish().unwrap()
            })
            .collect();
        let messages =
            arrow_flight::utils::batches_to_flight_data(&batches[0].schema(), &batches).unwrap();
        let mut acks = raw
            .do_put(futures::stream::iter(messages))
            .await
            .unwrap()
            .into_inner();
        let mut acknowledged = 0;
        while acks.message().await.unwrap().is_some() {
            acknowledged += 1;
        }
        assert_eq!(acknowledged, sent.len());
        let received = std::mem::take(&mut *sink.received.lock().unwrap());
        let encoded = |requests: &[AnyRequest]| -> Vec<Vec<u8>> {
            requests.iter().map(AnyRequest::encode_to_vec).collect()
        };
        assert_eq!(encoded(&received), encoded(&sent));
    }
}

/// A table without the metadata that names its signal is refused with a message that says what is missing.
#[tokio::test]
async fn a_table_without_otlp_metadata_is_refused_with_the_reason() {
    use arrow::array::{Int64Array, RecordBatch};
    use std::sync::Arc as StdArc;
    let sink = Recorder::default();
    let url = start(sink.clone(), None).await;
    let mut raw = raw_client(url).await;
    let batch = RecordBatch::try_from_iter([(
        "duration_ns",
        StdArc::new(Int64Array::from(vec![1, 2])) as _,
    )])
    .unwrap();
    let messages = arrow_flight::utils::batches_to_flight_data(&batch.schema(), [&batch]).unwrap();
    let status = match raw.do_put(futures::stream::iter(messages)).await {
        Err(status) => status,
        Ok(response) => response.into_inner().message().await.unwrap_err(),
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    assert_eq!(
        status.message(),
        "not an OTLP Arrow stream: the schema metadata has no `otlp_arrow.signal` key, which names the signal \
         (traces, metrics or logs); the collector's Parquet and Arrow files carry it"
    );
}
