//! The `otlp` receiver: OTLP over gRPC and over HTTP (protobuf and JSON), as the OTLP specification describes.
//! Both transports handle the three signals with one generic handler each, over
//! [`OtlpRequest`].

mod config;
mod cors;
pub(in crate::receiver) mod grpc;
pub(crate) mod http;
mod keepalive;

pub use config::{Decoding, GrpcServerConfig, HttpServerConfig, OtlpReceiverConfig, Protocols};
pub use cors::CorsSettings;
pub use keepalive::{GrpcKeepalive, KeepaliveServerParameters};

use super::{RunningReceiver, bind};
use crate::auth::{AuthSettings, Authenticator, Authenticators};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::tls::ServerTlsSettings;
use crate::{Batch, Error};
use bytes::Bytes;
use otlp_model::{OtlpRequest, Rejected};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// A transport's bound socket, the acceptor for its connections when it speaks TLS, and the authenticator its
/// requests must satisfy.
pub(in crate::receiver) struct Bound {
    pub(in crate::receiver) listener: tokio::net::TcpListener,
    pub(in crate::receiver) tls: Option<TlsAcceptor>,
    pub(in crate::receiver) auth: Option<Arc<dyn Authenticator>>,
}

/// The authenticator a transport's `auth` names.
pub(in crate::receiver) fn authenticator(
    component: &str,
    transport: &str,
    auth: Option<&AuthSettings>,
    authenticators: &Authenticators,
) -> Result<Option<Arc<dyn Authenticator>>, Error> {
    auth.map(|auth| authenticators.server(auth))
        .transpose()
        .map_err(|message| Error::Start {
            component: format!("{component} ({transport})"),
            message,
        })
}

/// The acceptor of a transport's `tls` block, built before anything is bound, so that a certificate that cannot be
/// read fails the start rather than every connection.
pub(in crate::receiver) fn acceptor(
    component: &str,
    transport: &str,
    tls: Option<&ServerTlsSettings>,
    alpn: &[&[u8]],
) -> Result<Option<TlsAcceptor>, Error> {
    tls.map(|tls| tls.acceptor(alpn))
        .transpose()
        .map_err(|message| Error::Start {
            component: format!("{component} ({transport}.tls)"),
            message,
        })
}

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
            authenticators,
            ..
        } = context;
        let component = format!("receivers.{id}");
        let ingest = match &config.rate_limit {
            Some(limits) => {
                Arc::new(
                    ingest
                        .rate_limited(&id, limits)
                        .map_err(|message| Error::Start {
                            component: component.clone(),
                            message,
                        })?,
                )
            }
            None => ingest,
        };
        let (grpc_tls, grpc_auth) = match &config.protocols.grpc {
            Some(grpc) => (
                acceptor(&component, "grpc", grpc.tls.as_ref(), &[b"h2"])?,
                authenticator(&component, "grpc", grpc.auth.as_ref(), &authenticators)?,
            ),
            None => (None, None),
        };
        // axum serves HTTP/1.1 only here.
        let (http_tls, http_auth) = match &config.protocols.http {
            Some(http) => (
                acceptor(&component, "http", http.tls.as_ref(), &[b"http/1.1"])?,
                authenticator(&component, "http", http.auth.as_ref(), &authenticators)?,
            ),
            None => (None, None),
        };
        // Every port is bound before anything serves: when one cannot be bound, the others are closed as this
        // returns, instead of by a server task winding down after it, so the same ports can be bound again at once.
        let grpc_listener = match &config.protocols.grpc {
            Some(grpc) => Some((grpc, bind(&component, &grpc.endpoint).await?)),
            None => None,
        };
        let http_listener = match &config.protocols.http {
            Some(http) => Some((http, bind(&component, &http.endpoint).await?)),
            None => None,
        };
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        if let Some((grpc, listener)) = grpc_listener {
            running.listening("grpc", &listener);
            let counters = ReceiverCounters::new(&telemetry, &id, "grpc");
            running.spawn(grpc::serve(
                component.clone(),
                Bound {
                    listener,
                    tls: grpc_tls,
                    auth: grpc_auth,
                },
                grpc.clone(),
                ingest.clone(),
                counters,
                config.decoding,
                watch.clone(),
            ));
        }
        if let Some((http, listener)) = http_listener {
            running.listening("http", &listener);
            let counters = ReceiverCounters::new(&telemetry, &id, "http");
            running.spawn(http::serve(
                component.clone(),
                Bound {
                    listener,
                    tls: http_tls,
                    auth: http_auth,
                },
                http.clone(),
                ingest,
                counters,
                config.decoding,
                watch,
            ));
        }
        Ok(running)
    }
}

/// A received protobuf request as a batch, checked in place: a request without invalid items stays as its bytes
/// (nothing decoded); one with invalid items is decoded and cleaned, and what was removed is reported for the
/// partial-success answer. Bytes prost would refuse are refused with prost's own error. With
/// [`Decoding::Prost`] every request is decoded, which must give the same answers.
pub(crate) fn accept_encoded<R: OtlpRequest>(
    bytes: Bytes,
    decoding: Decoding,
) -> Result<(Batch, Option<Rejected>), prost::DecodeError> {
    if decoding == Decoding::Prost {
        let mut request = R::decode(bytes)?;
        let rejected = request.remove_invalid();
        return Ok((Batch::new(request), rejected));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use otlp_model::ExportTraceServiceRequest;
    use prost::Message;

    #[test]
    fn in_place_keeps_the_bytes_and_prost_decodes_with_the_same_answer() {
        let mut request = otlp_testkit::Generator::new(3).traces(20);
        if let Some(span) = request
            .resource_spans
            .iter_mut()
            .flat_map(|r| &mut r.scope_spans)
            .flat_map(|s| &mut s.spans)
            .next()
        {
            span.trace_id = vec![7; 3];
        }
        let good = Bytes::from(otlp_testkit::Generator::new(4).traces(20).encode_to_vec());
        let bad = Bytes::from(request.encode_to_vec());

        let (kept, none) =
            accept_encoded::<ExportTraceServiceRequest>(good.clone(), Decoding::InPlace).unwrap();
        assert!(none.is_none());
        assert_eq!(kept.encoded().map(|chunks| chunks.len()), Some(1));
        let (decoded, none) =
            accept_encoded::<ExportTraceServiceRequest>(good, Decoding::Prost).unwrap();
        assert!(none.is_none());
        assert!(decoded.encoded().is_none(), "prost decoding keeps the tree");
        assert_eq!(kept.to_protobuf(), decoded.to_protobuf());

        let (in_place, in_place_rejected) =
            accept_encoded::<ExportTraceServiceRequest>(bad.clone(), Decoding::InPlace).unwrap();
        let (prost, prost_rejected) =
            accept_encoded::<ExportTraceServiceRequest>(bad, Decoding::Prost).unwrap();
        assert_eq!(in_place_rejected, prost_rejected);
        assert_eq!(in_place_rejected.map(|r| r.items), Some(1));
        assert_eq!(in_place.item_count(), prost.item_count());
        assert_eq!(in_place.to_protobuf(), prost.to_protobuf());

        let garbage = Bytes::from_static(b"\xff\xff\xff\xff garbage");
        assert_eq!(
            accept_encoded::<ExportTraceServiceRequest>(garbage.clone(), Decoding::InPlace)
                .err()
                .map(|e| e.to_string()),
            accept_encoded::<ExportTraceServiceRequest>(garbage, Decoding::Prost)
                .err()
                .map(|e| e.to_string()),
        );
    }
}
