//! The `otlp` receiver: OTLP over gRPC and over HTTP (protobuf and JSON), as the OTLP specification describes.
//! Both transports handle the three signals with one generic handler each, over
//! [`OtlpRequest`](otlp_model::OtlpRequest).

mod config;
mod grpc;
mod http;

pub use config::{GrpcServerConfig, HttpServerConfig, OtlpReceiverConfig, Protocols};

use super::{RunningReceiver, bind};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error};
use bytes::Bytes;
use otlp_model::{OtlpRequest, Rejected};

/// The `otlp` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = OtlpReceiverConfig;
    const TYPE: &'static str = "otlp";

    fn validate(&self, config: &OtlpReceiverConfig) -> Result<(), Invalid> {
        config
            .validate()
            .map_err(|message| Invalid::at("protocols", message))
    }
}

impl ReceiverFactory for Factory {
    /// Binds the enabled transports and starts serving them.
    async fn start(
        &self,
        config: &OtlpReceiverConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let ReceiverContext {
            id,
            ingest,
            telemetry,
        } = context;
        let component = format!("receivers.{id}");
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        if let Some(grpc) = &config.protocols.grpc {
            let listener = bind(&component, &grpc.endpoint).await?;
            running.listening("grpc", &listener);
            let counters = ReceiverCounters::new(&telemetry, &id, "grpc");
            running.spawn(grpc::serve(
                component.clone(),
                listener,
                grpc.clone(),
                ingest.clone(),
                counters,
                watch.clone(),
            ));
        }
        if let Some(http) = &config.protocols.http {
            let listener = bind(&component, &http.endpoint).await?;
            running.listening("http", &listener);
            let counters = ReceiverCounters::new(&telemetry, &id, "http");
            running.spawn(http::serve(
                component.clone(),
                listener,
                http.clone(),
                ingest,
                counters,
                watch,
            ));
        }
        Ok(running)
    }
}

/// A received protobuf request as a batch, checked in place: a request without invalid items stays as its bytes
/// (nothing decoded); one with invalid items is decoded and cleaned, and what was removed is reported for the
/// partial-success answer. Bytes prost would refuse are refused with prost's own error.
pub(crate) fn accept_encoded<R: OtlpRequest>(
    bytes: Bytes,
) -> Result<(Batch, Option<Rejected>), prost::DecodeError> {
    match otlp_model::wire::scan(R::SIGNAL, &bytes) {
        Ok(scan) if scan.invalid == 0 => {
            Ok((Batch::from_encoded(R::SIGNAL, bytes, scan.items), None))
        }
        // Rare: decode to remove the invalid items, with the reference's exact message.
        Ok(_) | Err(_) => {
            let mut request = R::decode(bytes)?;
            let rejected = request.remove_invalid();
            Ok((Batch::new(request), rejected))
        }
    }
}
