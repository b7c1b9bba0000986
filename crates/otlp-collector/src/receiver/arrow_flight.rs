//! The `arrow_flight` receiver: OTLP as Arrow record batches over Arrow Flight `do_put`, on otlp-arrow's server.
//! Each batch is acknowledged only once the pipelines took it; a full pipeline ends the call with
//! `RESOURCE_EXHAUSTED` and a `retry-after` hint, so senders slow down instead of the collector buffering.

use super::{Ingest, RunningReceiver, bind, shutdown_signal};
use crate::pipeline::RefusalKind;
use crate::telemetry::{ReceiverCounters, Telemetry};
use crate::{Batch, Error};
use futures::future::BoxFuture;
use otlp_arrow::flight::{FlightServer, Refusal, TelemetrySink};
use serde::Deserialize;
use std::sync::Arc;
use tonic::transport::server::TcpIncoming;

/// The `arrow_flight` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArrowFlightReceiverConfig {
    /// `host:port` to listen on.
    pub endpoint: String,
    /// When set, every call must carry `authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
}

impl Default for ArrowFlightReceiverConfig {
    fn default() -> Self {
        ArrowFlightReceiverConfig {
            endpoint: "localhost:4319".to_string(),
            bearer_token: None,
        }
    }
}

struct PipelineSink {
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
}

impl TelemetrySink for PipelineSink {
    fn consume(&self, telemetry: otlp_arrow::Telemetry) -> BoxFuture<'static, Result<(), Refusal>> {
        let ingest = self.ingest.clone();
        let counters = self.counters.clone();
        Box::pin(async move {
            let batch = match telemetry {
                otlp_arrow::Telemetry::Traces(r) => Batch::from_traces(r),
                otlp_arrow::Telemetry::Metrics(r) => Batch::from_metrics(r),
                otlp_arrow::Telemetry::Logs(r) => Batch::from_logs(r),
            };
            ingest
                .submit(batch, &counters)
                .await
                .map_err(|refusal| match refusal.kind {
                    RefusalKind::Backpressure | RefusalKind::Unavailable => Refusal::Overloaded {
                        retry_after: Some(refusal.retry_after),
                    },
                    RefusalKind::Permanent => Refusal::Rejected(refusal.message),
                })
        })
    }
}

/// Binds the listener and starts serving Flight.
pub(crate) async fn start(
    id: &str,
    config: &ArrowFlightReceiverConfig,
    ingest: Arc<Ingest>,
    telemetry: &Telemetry,
) -> Result<RunningReceiver, Error> {
    let component = format!("receivers.{id}");
    let (shutdown, watch) = tokio::sync::watch::channel(false);
    let mut running = RunningReceiver::new(shutdown);
    let listener = bind(&component, &config.endpoint).await?;
    running.listening("flight", &listener);
    let sink = PipelineSink {
        ingest,
        counters: ReceiverCounters::new(telemetry, id, "flight"),
    };
    let service = FlightServer::new(sink, config.bearer_token.clone()).into_service();
    running.spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown_signal(watch),
            )
            .await
            .map_err(|e| Error::Serve {
                component: format!("{component} (flight)"),
                message: e.to_string(),
            })
    });
    Ok(running)
}
