//! The `otlp` exporter: OTLP over gRPC, with otelcol's settings and the OTLP specification's rules for which
//! failures are retried. A batch is encoded once; every retry sends the same bytes.

mod codec;
mod config;
mod parts_body;

pub use config::{GrpcClientKeepalive, OtlpGrpcExporterConfig};

use super::{Delivered, Export, ExportError, Exporter};
use crate::Batch;
use crate::auth::{ClientAuth, client_auth};
use crate::client::ClientInfo;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::compression::Compression;
use bytes::Bytes;
use codec::EncodedCodec;
pub(crate) use config::grpc_endpoint;
use config::metadata;
use otlp_model::{OtlpRequest, OtlpResponse, Rejected, Signal, with_signal};
use parts_body::{EncodedParts, SendParts};
use std::sync::Arc;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_types::StatusExt;

/// The `otlp` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = OtlpGrpcExporterConfig;
    const TYPE: &'static str = "otlp";

    fn validate(&self, config: &OtlpGrpcExporterConfig) -> Result<(), Invalid> {
        Ok(config.validate()?)
    }
}

impl ExporterFactory for Factory {
    fn build(
        &self,
        config: &OtlpGrpcExporterConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let auth = client_auth(config.auth.as_ref(), context.authenticators)?;
        Ok(Exporter::new(
            OtlpGrpcExport::new(config, auth)?,
            config.helper(),
        ))
    }
}

/// An OTLP/gRPC client for one endpoint; the `loadbalancing` exporter keeps one per backend.
pub(crate) struct OtlpGrpcExport {
    channel: Channel,
    compression: Option<CompressionEncoding>,
    metadata: MetadataMap,
    auth: Option<ClientAuth>,
}

impl OtlpGrpcExport {
    /// A client for `config`'s endpoint, sending `auth`'s header (resolved from `config.auth`) with every call.
    pub(crate) fn new(
        config: &OtlpGrpcExporterConfig,
        auth: Option<ClientAuth>,
    ) -> Result<Self, String> {
        let (uri, secure) = grpc_endpoint(&config.endpoint, &config.tls)?;
        let mut endpoint = Endpoint::from_shared(uri)
            .map_err(|e| format!("endpoint `{}`: {e}", config.endpoint))?
            .connect_timeout(config.timeout)
            .tcp_nodelay(true);
        let keepalive = &config.keepalive;
        if let Some(every) = keepalive.time.filter(|d| !d.is_zero()) {
            endpoint = endpoint
                .http2_keep_alive_interval(every)
                .keep_alive_while_idle(keepalive.permit_without_stream);
            if let Some(timeout) = keepalive.timeout.filter(|d| !d.is_zero()) {
                endpoint = endpoint.keep_alive_timeout(timeout);
            }
        }
        if secure {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(ca) = &config.tls.ca_file {
                let pem =
                    std::fs::read(ca).map_err(|e| format!("tls.ca_file {}: {e}", ca.display()))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            match (&config.tls.cert_file, &config.tls.key_file) {
                (Some(cert), Some(key)) => {
                    let cert = std::fs::read(cert)
                        .map_err(|e| format!("tls.cert_file {}: {e}", cert.display()))?;
                    let key = std::fs::read(key)
                        .map_err(|e| format!("tls.key_file {}: {e}", key.display()))?;
                    tls = tls.identity(Identity::from_pem(cert, key));
                }
                (None, None) => {}
                _ => return Err("tls.cert_file and tls.key_file go together".into()),
            }
            if let Some(name) = &config.tls.server_name_override {
                tls = tls.domain_name(name.clone());
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| format!("tls: {e}"))?;
        }
        let compression = match config.compression {
            Compression::Gzip => Some(CompressionEncoding::Gzip),
            Compression::Zstd => Some(CompressionEncoding::Zstd),
            Compression::None | Compression::Deflate => None,
        };
        Ok(OtlpGrpcExport {
            // Lazy: the collector starts while its backend is down, and the queue absorbs the outage.
            channel: endpoint.connect_lazy(),
            compression,
            metadata: metadata(&config.headers)?,
            auth,
        })
    }

    /// One unary `Export` call of `R`'s service with the encoded request, in parts whose concatenation is the
    /// request, carrying the data of `client` (for an authenticator that sets headers from it).
    pub(crate) async fn send_encoded<R: OtlpRequest>(
        &self,
        body: Vec<Bytes>,
        client: Option<&ClientInfo>,
    ) -> Result<Delivered, ExportError> {
        let mut grpc = tonic::client::Grpc::new(SendParts(self.channel.clone()));
        let mut request = match self.compression {
            Some(encoding) => {
                grpc = grpc.send_compressed(encoding);
                tonic::Request::new(body)
            }
            // Sent as they are, by `SendParts`, rather than copied into the message tonic encodes.
            None => match EncodedParts::new(body) {
                Ok(parts) => {
                    let mut request = tonic::Request::new(Vec::new());
                    request.extensions_mut().insert(parts);
                    request
                }
                Err(body) => tonic::Request::new(body),
            },
        };
        grpc.ready()
            .await
            .map_err(|e| ExportError::retryable(format!("cannot connect: {e}")))?;
        *request.metadata_mut() = match &self.auth {
            None => self.metadata.clone(),
            Some(auth) => {
                let mut headers = self.metadata.clone().into_headers();
                auth.apply(&mut headers, client).await?;
                MetadataMap::from_headers(headers)
            }
        };
        let path = http::uri::PathAndQuery::from_static(R::GRPC_METHOD);
        let response = grpc
            .unary(request, path, EncodedCodec::<R::Response>::default())
            .await
            .map_err(|status| grpc_error(&status))?
            .into_inner();
        Ok(delivered(response.rejected()))
    }
}

impl Export for OtlpGrpcExport {
    /// The signal and the request encoded as protobuf, in parts (shared with the batch, not copied), and the
    /// client whose data it is.
    type Payload = (Signal, Vec<Bytes>, Option<Arc<ClientInfo>>);

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Self::Payload, ExportError> {
        Ok((
            batch.signal(),
            batch.protobuf_parts(),
            batch.shared_client(),
        ))
    }

    async fn send(&self, (signal, body, client): &Self::Payload) -> Result<Delivered, ExportError> {
        with_signal!(*signal, R => self.send_encoded::<R>(body.clone(), client.as_deref()).await)
    }
}

/// What a partial success reports, as the helper counts it.
pub(crate) fn delivered(rejected: Option<Rejected>) -> Delivered {
    rejected.map_or_else(Delivered::default, |rejected| Delivered {
        rejected: usize::try_from(rejected.items).unwrap_or(usize::MAX),
        message: rejected.message,
    })
}

/// The OTLP specification's retry rules for gRPC status codes.
pub(crate) fn grpc_error(status: &tonic::Status) -> ExportError {
    use tonic::Code;
    let message = crate::error::with_causes(
        format!("{:?}: {}", status.code(), status.message()),
        std::error::Error::source(status),
    );
    let retry_after = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay);
    // A message over the server's limit, as grpc-go ("received message larger than max", "after decompression
    // larger than max") and tonic ("message length too large", under OUT_OF_RANGE) word it.
    if matches!(status.code(), Code::ResourceExhausted | Code::OutOfRange)
        && ["larger than max", "too large"]
            .iter()
            .any(|words| status.message().contains(words))
    {
        return ExportError::TooLarge { message };
    }
    match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => ExportError::Retryable {
            message,
            retry_after,
        },
        // RESOURCE_EXHAUSTED is only worth retrying when the server says when.
        Code::ResourceExhausted if retry_after.is_some() => ExportError::Retryable {
            message,
            retry_after,
        },

        // Not an answer from the server but tonic's account of a local transport failure, whatever code it maps it
        // to: a connection reset mid-request or a server killed (`Unknown`), an HTTP/2 protocol error as a server
        // shuts its connections down (`Internal`). The request may never have been processed, so it is worth another
        // try. A status the server sent has no source.
        _ if std::error::Error::source(status).is_some() => ExportError::Retryable {
            message,
            retry_after,
        },
        _ => ExportError::Permanent { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retry_rules_follow_the_otlp_specification() {
        let retryable = |s: tonic::Status| matches!(grpc_error(&s), ExportError::Retryable { .. });
        assert!(retryable(tonic::Status::unavailable("down")));
        assert!(retryable(tonic::Status::deadline_exceeded("slow")));
        assert!(!retryable(tonic::Status::invalid_argument("bad")));
        assert!(!retryable(tonic::Status::resource_exhausted("no hint")));
        let too_large = |s: tonic::Status| matches!(grpc_error(&s), ExportError::TooLarge { .. });
        assert!(too_large(tonic::Status::resource_exhausted(
            "grpc: received message after decompression larger than max (5242880 vs. 4194304)"
        )));
        assert!(too_large(tonic::Status::out_of_range(
            "Error, decoded message length too large: found 5242880 bytes, the limit is: 4194304 bytes"
        )));
        assert!(!too_large(tonic::Status::resource_exhausted("queue full")));
        assert!(!retryable(tonic::Status::unknown("the server says so")));
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        assert!(retryable(tonic::Status::from_error(Box::new(reset))));
        // As tonic reports an HTTP/2 protocol error while the server closes its connections: Internal, with a source.
        assert!(!retryable(tonic::Status::internal("the server says so")));
        let mut protocol_error = tonic::Status::internal("h2 protocol error: http2 error");
        protocol_error.set_source(std::sync::Arc::new(std::io::Error::other("GOAWAY")));
        assert!(retryable(protocol_error));
        let with_hint = tonic::Status::with_error_details(
            tonic::Code::ResourceExhausted,
            "full",
            tonic_types::ErrorDetails::with_retry_info(Some(Duration::from_secs(2))),
        );
        match grpc_error(&with_hint) {
            ExportError::Retryable { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(2)))
            }
            other => panic!("{other:?}"),
        }
    }
}
