//! The admin HTTP servers operators talk to: the self-telemetry endpoint (`/metrics`, `/health`, `/ready`), the
//! one the `health_check` extension serves and the `prometheus` exporter's scrape endpoint.

use crate::Error;
use crate::component::RunningExtension;
use crate::pipeline::BoxFuture;
use crate::receiver::{bind, shutdown_signal};
use crate::telemetry::Telemetry;
use crate::tls::accept_tls;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// An HTTP server the collector runs for operators (health check, self-metrics, scrape endpoint).
pub(crate) struct AdminServer {
    pub(crate) addr: SocketAddr,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl AdminServer {
    async fn start(component: &str, endpoint: &str, router: axum::Router) -> Result<Self, Error> {
        let listener = bind(component, endpoint).await?;
        AdminServer::serve(component, endpoint, listener, None, router)
    }

    /// Serves `router` on `endpoint`, over TLS when `tls` is given: an extension's own server (`health_check`,
    /// `pprof`).
    pub(crate) async fn listen(
        component: &str,
        endpoint: &str,
        tls: Option<TlsAcceptor>,
        router: axum::Router,
    ) -> Result<Self, Error> {
        let listener = bind(component, endpoint).await?;
        AdminServer::serve(component, endpoint, listener, tls, router)
    }

    /// Serves `router` on `listener` (bound to `endpoint`), over TLS when `tls` is given, until
    /// [`shutdown`](Self::shutdown).
    pub(crate) fn serve(
        component: &str,
        endpoint: &str,
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
        router: axum::Router,
    ) -> Result<Self, Error> {
        let bound = |source| Error::Bind {
            component: component.to_string(),
            endpoint: endpoint.to_string(),
            source,
        };
        let addr = listener.local_addr().map_err(bound)?;
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let component = component.to_string();
        let task = match tls {
            None => tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown_signal(watch))
                    .await
                {
                    tracing::error!(%component, error = %e, "admin server failed");
                }
            }),
            Some(acceptor) => {
                let (connections, accepting) =
                    accept_tls(listener, acceptor, component.clone()).map_err(bound)?;
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(connections, router)
                        .with_graceful_shutdown(shutdown_signal(watch))
                        .await
                    {
                        tracing::error!(%component, error = %e, "admin server failed");
                    }
                    accepting.stop().await;
                })
            }
        };
        Ok(AdminServer {
            addr,
            shutdown,
            task,
        })
    }

    /// `/metrics` (Prometheus text), `/health` (alive) and `/ready` (serving) on the self-telemetry address.
    pub(crate) async fn telemetry(endpoint: &str, telemetry: Telemetry) -> Result<Self, Error> {
        let metrics = telemetry.clone();
        let ready = telemetry;
        let router = axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(move || async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        metrics.render_prometheus(),
                    )
                        .into_response()
                }),
            )
            .route("/health", axum::routing::get(|| async { "ok" }))
            .route(
                "/ready",
                axum::routing::get(move || async move {
                    if ready.is_ready() {
                        (StatusCode::OK, "ready")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
                    }
                }),
            );
        AdminServer::start("service.telemetry.metrics", endpoint, router).await
    }

    pub(crate) async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

impl RunningExtension for AdminServer {
    fn addr(&self) -> Option<SocketAddr> {
        Some(self.addr)
    }

    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(AdminServer::shutdown(*self))
    }
}
