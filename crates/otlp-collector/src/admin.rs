//! The admin HTTP servers operators talk to: the self-telemetry endpoint (`/metrics`, `/health`, `/ready`) and
//! the one the `health_check` extension serves.

use crate::Error;
use crate::component::RunningExtension;
use crate::pipeline::BoxFuture;
use crate::receiver::{bind, shutdown_signal};
use crate::telemetry::Telemetry;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::net::SocketAddr;
use std::time::Instant;
use tokio::task::JoinHandle;

/// An HTTP server the collector runs for operators (health check, self-metrics).
pub(crate) struct AdminServer {
    pub(crate) addr: SocketAddr,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl AdminServer {
    async fn start(component: &str, endpoint: &str, router: axum::Router) -> Result<Self, Error> {
        let listener = bind(component, endpoint).await?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            component: component.to_string(),
            endpoint: endpoint.to_string(),
            source,
        })?;
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let component = component.to_string();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown_signal(watch))
                .await
            {
                tracing::error!(%component, error = %e, "admin server failed");
            }
        });
        Ok(AdminServer {
            addr,
            shutdown,
            task,
        })
    }

    /// otelcol's `health_check`: 200 while the collector serves, 503 while it starts or drains.
    pub(crate) async fn health_check(
        id: &str,
        endpoint: &str,
        path: &str,
        telemetry: Telemetry,
    ) -> Result<Self, Error> {
        let started = Instant::now();
        let router = axum::Router::new().route(
            path,
            axum::routing::get(move || async move {
                let body = |status: &str| {
                    serde_json::json!({
                        "status": status,
                        "uptime": format!("{:?}", started.elapsed()),
                    })
                    .to_string()
                };
                if telemetry.is_ready() {
                    (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        body("Server available"),
                    )
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [(header::CONTENT_TYPE, "application/json")],
                        body("Server not available"),
                    )
                }
            }),
        );
        AdminServer::start(&format!("extensions.{id}"), endpoint, router).await
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
