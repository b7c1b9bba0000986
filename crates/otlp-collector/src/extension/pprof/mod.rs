//! The `pprof` extension (otelcol-contrib's): CPU profiles of the running collector in pprof's format, on the
//! paths of Go's `net/http/pprof`, so that `go tool pprof http://host:1777/debug/pprof/profile?seconds=30`, Grafana
//! Pyroscope or Parca work against otlp-suite as against otelcol.
//!
//! ```yaml
//! extensions:
//!   pprof:
//!     endpoint: "localhost:1777"
//!     save_to_file: /var/tmp/collector.pprof   # the whole run, written at shutdown
//! ```
//!
//! Profiles are sampled at 100 Hz (Go's rate) by SIGPROF, stacks unwound and symbolized by pprof-rs. Only the CPU
//! profile exists: the heap, goroutine, block and mutex profiles are the Go runtime's, and their paths answer
//! `404` with that reason. One CPU profile is taken at a time, in the process as in Go: a second request while one
//! runs (or while `save_to_file` profiles the whole run) is answered `500`, as Go answers it.

mod config;
mod profile;

pub use config::PprofConfig;

use crate::Error;
use crate::admin::AdminServer;
use crate::component::{Component, ExtensionContext, ExtensionFactory, RunningExtension};
use crate::pipeline::BoxFuture;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Go's CPU sampling rate.
const FREQUENCY: i32 = 100;
/// How long `/debug/pprof/profile` samples without `seconds`, as in Go.
const DEFAULT_SECONDS: u64 = 30;
/// Frames pprof-rs does not unwind through: a sample taken inside them could deadlock on their locks.
const BLOCKLIST: &[&str] = &["libc", "libgcc", "pthread", "vdso"];
/// Go's profiles that a Rust program does not have.
const GO_ONLY: &[&str] = &[
    "heap",
    "allocs",
    "goroutine",
    "block",
    "mutex",
    "threadcreate",
    "trace",
    "symbol",
];

/// The `pprof` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = PprofConfig;
    const TYPE: &'static str = "pprof";

    fn warnings(&self, config: &PprofConfig) -> Vec<(String, String)> {
        config.warnings()
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        config: &PprofConfig,
        context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        let component = format!("extensions.{}", context.id);
        let whole_run = match &config.save_to_file {
            Some(path) => Some(
                WholeRun::start(path.clone()).map_err(|message| Error::Start {
                    component: format!("{component}.save_to_file"),
                    message,
                })?,
            ),
            None => None,
        };
        let router = axum::Router::new()
            .route("/debug/pprof/", axum::routing::get(index))
            .route("/debug/pprof/profile", axum::routing::get(cpu_profile))
            .route("/debug/pprof/cmdline", axum::routing::get(cmdline))
            .route("/debug/pprof/{name}", axum::routing::get(go_only));
        let server = AdminServer::listen(&component, &config.endpoint, None, router).await?;
        tracing::info!(extension = %context.id, addr = %server.addr, "pprof listening");
        Ok(Box::new(RunningPprof { server, whole_run }))
    }
}

struct RunningPprof {
    server: AdminServer,
    whole_run: Option<WholeRun>,
}

impl RunningExtension for RunningPprof {
    fn addr(&self) -> Option<SocketAddr> {
        Some(self.server.addr)
    }

    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        let RunningPprof { server, whole_run } = *self;
        Box::pin(async move {
            server.shutdown().await;
            if let Some(whole_run) = whole_run {
                whole_run.finish().await;
            }
        })
    }
}

/// `save_to_file`: a profile from start to shutdown, on a thread of its own (the profiler's guard cannot move
/// between threads).
struct WholeRun {
    stop: std::sync::mpsc::Sender<()>,
    done: tokio::sync::oneshot::Receiver<()>,
}

impl WholeRun {
    fn start(path: PathBuf) -> Result<Self, String> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (started, starting) = std::sync::mpsc::channel::<Result<(), String>>();
        let (finished, done) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("pprof-save".to_owned())
            .spawn(move || {
                let guard = match start_profiler() {
                    Ok(guard) => {
                        let _ = started.send(Ok(()));
                        guard
                    }
                    Err(message) => {
                        let _ = started.send(Err(message));
                        return;
                    }
                };
                let _ = stopped.recv();
                match report(&guard).and_then(|bytes| {
                    std::fs::write(&path, bytes)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))
                }) {
                    Ok(()) => tracing::info!(file = %path.display(), "pprof: CPU profile of the run saved"),
                    Err(message) => tracing::warn!(%message, "pprof: the run's CPU profile is lost"),
                }
                let _ = finished.send(());
            })
            .map_err(|e| format!("cannot start the profiling thread: {e}"))?;
        starting
            .recv()
            .map_err(|_| "the profiling thread ended".to_owned())??;
        Ok(WholeRun { stop, done })
    }

    async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

fn start_profiler() -> Result<::pprof::ProfilerGuard<'static>, String> {
    ::pprof::ProfilerGuardBuilder::default()
        .frequency(FREQUENCY)
        .blocklist(BLOCKLIST)
        .build()
        .map_err(|e| format!("could not enable CPU profiling: {e}"))
}

/// The guard's samples so far, as a gzipped pprof profile.
fn report(guard: &::pprof::ProfilerGuard<'static>) -> Result<Vec<u8>, String> {
    let report = guard
        .report()
        .build()
        .map_err(|e| format!("cannot build the profile: {e}"))?;
    profile::gzipped(&profile::profile(&report))
        .map_err(|e| format!("cannot compress the profile: {e}"))
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `?seconds=N` (30 without), sampled on a blocking thread, as Go's handler does.
async fn cpu_profile(uri: http::Uri) -> Response {
    let asked = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("seconds="));
    let seconds = match asked.map(|s| s.parse::<u64>()) {
        None => DEFAULT_SECONDS,
        Some(Ok(seconds)) if seconds > 0 => seconds,
        Some(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                "invalid value for \"seconds\"\n".into(),
            );
        }
    };
    let profiled = tokio::task::spawn_blocking(move || {
        let guard = start_profiler()?;
        std::thread::sleep(Duration::from_secs(seconds));
        report(&guard)
    })
    .await;
    match profiled {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"profile\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(message)) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{message}\n")),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("profiling failed: {e}\n"),
        ),
    }
}

/// The command line, its arguments separated by NUL bytes, as Go's.
async fn cmdline() -> Response {
    let args: Vec<String> = std::env::args().collect();
    text(StatusCode::OK, args.join("\0"))
}

async fn index() -> Response {
    let mut page = String::from(
        "<html><head><title>/debug/pprof/</title></head><body>\n<p>otlp-suite profiles:</p>\n<table>\n\
         <tr><td><a href=\"profile?seconds=30\">profile</a></td><td>CPU profile: sampled for <code>seconds</code> \
         (30), pprof's format, gzipped</td></tr>\n\
         <tr><td><a href=\"cmdline\">cmdline</a></td><td>the command line</td></tr>\n</table>\n<p>Not here: ",
    );
    page.push_str(&GO_ONLY.join(", "));
    page.push_str(" (the Go runtime's profiles).</p>\n</body></html>\n");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

async fn go_only(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let message = if GO_ONLY.contains(&name.as_str()) {
        format!(
            "no {name} profile: it is the Go runtime's, and otlp-suite is a Rust program; the CPU profile is at \
             /debug/pprof/profile\n"
        )
    } else {
        format!("unknown profile `{name}`; see /debug/pprof/\n")
    };
    text(StatusCode::NOT_FOUND, message)
}

#[cfg(test)]
mod tests;
