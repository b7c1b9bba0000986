//! The `arrow_flight` receiver: OTLP as Arrow record batches over Arrow Flight `do_put`, on otlp-arrow's server.
//! Each batch is acknowledged only once the pipelines took it; a full pipeline ends the call with
//! `RESOURCE_EXHAUSTED` and a `retry-after` hint, so senders slow down instead of the collector buffering.

mod config;

pub use config::ArrowFlightReceiverConfig;

use super::{HTTP2_MAX_FRAME, Ingest, RunningReceiver, bind, shutdown_signal};
use crate::component::{Component, ReceiverContext, ReceiverFactory};
use crate::pipeline::RefusalKind;
use crate::telemetry::ReceiverCounters;
use crate::{AnyRequest, Batch, Error};
use futures::future::BoxFuture;
use otlp_arrow::flight::{FlightServer, Refusal, TelemetrySink};
use std::sync::Arc;
use tonic::transport::server::TcpIncoming;

/// The `arrow_flight` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = ArrowFlightReceiverConfig;
    const TYPE: &'static str = "arrow_flight";
}

impl ReceiverFactory for Factory {
    /// Binds the listener and starts serving Flight.
    async fn start(
        &self,
        config: &ArrowFlightReceiverConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let component = format!("receivers.{}", context.id);
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let listener = bind(&component, &config.endpoint).await?;
        running.listening("flight", &listener);
        let sink = PipelineSink {
            ingest: context.ingest,
            counters: ReceiverCounters::new(&context.telemetry, &context.id, "flight"),
        };
        let service = FlightServer::new(sink, config.bearer_token.clone()).into_service();
        running.spawn(async move {
            tonic::transport::Server::builder()
                .max_frame_size(HTTP2_MAX_FRAME)
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
}

struct PipelineSink {
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
}

impl TelemetrySink for PipelineSink {
    fn consume(&self, request: AnyRequest) -> BoxFuture<'static, Result<(), Refusal>> {
        let ingest = self.ingest.clone();
        let counters = self.counters.clone();
        Box::pin(async move {
            ingest
                .submit(Batch::from(request), &counters)
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
