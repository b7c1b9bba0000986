//! What a receiver that is one HTTP/1.1 server does to start (`zipkin`, `collectd`, `influxdb`): its TLS and
//! authenticator checked and its port bound before anything serves, the request handlers' shared state built
//! around the [`HttpState`] every HTTP receiver reads bodies and submits batches with, CORS when configured.

use super::otlp::http::{HttpState, serve_app};
use super::otlp::{CorsSettings, Decoding, acceptor, authenticator};
use super::{RunningReceiver, bind};
use crate::Error;
use crate::auth::AuthSettings;
use crate::component::ReceiverContext;
use crate::telemetry::ReceiverCounters;
use crate::tls::ServerTlsSettings;
use std::sync::Arc;

/// `confighttp`'s server keys, as a receiver's config holds them.
pub(in crate::receiver) struct HttpServerSettings<'a> {
    pub(in crate::receiver) endpoint: &'a str,
    pub(in crate::receiver) tls: Option<&'a ServerTlsSettings>,
    pub(in crate::receiver) auth: Option<&'a AuthSettings>,
    pub(in crate::receiver) cors: Option<&'a CorsSettings>,
    pub(in crate::receiver) max_request_body_size: usize,
    pub(in crate::receiver) include_metadata: bool,
}

/// The [`HttpServerSettings`] of a receiver's config that has `confighttp`'s server keys under their own names
/// (`endpoint`, `tls`, `auth`, `cors`, `max_request_body_size`, `include_metadata`). A macro, not a struct the configs share: serde's
/// `flatten` does not work with `deny_unknown_fields`, which every config has.
macro_rules! http_server_settings {
    ($config:expr) => {
        $crate::receiver::http_server::HttpServerSettings {
            endpoint: &$config.endpoint,
            tls: $config.tls.as_ref(),
            auth: $config.auth.as_ref(),
            cors: $config.cors.as_ref(),
            max_request_body_size: $config.max_request_body_size,
            include_metadata: $config.include_metadata,
        }
    };
}
pub(in crate::receiver) use http_server_settings;

/// Starts the server: `state` makes the handlers' state from the shared [`HttpState`], `routes` adds the
/// receiver's routes to a router of that state.
pub(in crate::receiver) async fn serve_http<S: Send + Sync + 'static>(
    context: ReceiverContext,
    settings: HttpServerSettings<'_>,
    state: impl FnOnce(HttpState) -> S,
    routes: impl FnOnce(axum::Router<Arc<S>>) -> axum::Router<Arc<S>>,
) -> Result<RunningReceiver, Error> {
    let ReceiverContext {
        id,
        ingest,
        telemetry,
        authenticators,
        ..
    } = context;
    let component = format!("receivers.{id}");
    let tls = acceptor(&component, "http", settings.tls, &[b"http/1.1"])?;
    let auth = authenticator(&component, "http", settings.auth, &authenticators)?;
    let listener = bind(&component, settings.endpoint).await?;
    let (shutdown, watch) = tokio::sync::watch::channel(false);
    let mut running = RunningReceiver::new(shutdown);
    running.listening("http", &listener);
    let state = Arc::new(state(HttpState {
        ingest,
        auth,
        component: component.clone(),
        counters: ReceiverCounters::new(&telemetry, &id, "http"),
        max_body: settings.max_request_body_size,
        decoding: Decoding::default(),
        include_metadata: settings.include_metadata,
    }));
    let mut app = routes(axum::Router::new()).with_state(state);
    if let Some(cors) = settings.cors.and_then(|cors| cors.layer(&component)) {
        app = app.layer(cors);
    }
    running.spawn(async move { serve_app(&component, listener, tls, app, watch).await });
    Ok(running)
}
