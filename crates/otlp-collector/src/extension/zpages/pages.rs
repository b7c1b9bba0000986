//! The pages themselves: plain HTML tables, readable in a browser and by `curl`.

use crate::config::ServiceConfig;
use crate::id::ComponentId;
use crate::telemetry::Telemetry;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// What the pages show: the running config's service section and the self-metrics.
pub(super) struct Pages {
    service: Arc<ServiceConfig>,
    telemetry: Telemetry,
    started: Instant,
    started_at: SystemTime,
}

impl Pages {
    pub(super) fn new(service: Arc<ServiceConfig>, telemetry: Telemetry) -> Self {
        Pages {
            service,
            telemetry,
            started: Instant::now(),
            started_at: SystemTime::now(),
        }
    }

    pub(super) fn router(self: Arc<Self>) -> axum::Router {
        let page = |render: fn(&Pages) -> String| {
            let pages = self.clone();
            axum::routing::get(move || async move { Html(render(&pages)).into_response() })
        };
        axum::Router::new()
            .route("/debug/servicez", page(Pages::servicez))
            .route("/debug/pipelinez", page(Pages::pipelinez))
            .route("/debug/extensionz", page(Pages::extensionz))
            .route("/debug/featurez", page(Pages::featurez))
            .route("/debug/tracez", axum::routing::get(not_recorded))
            .route("/debug/rpcz", axum::routing::get(not_recorded))
    }

    fn servicez(&self) -> String {
        let since = jiff::Timestamp::try_from(self.started_at)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let uptime = self.started.elapsed().as_secs();
        let mut body = String::new();
        table(
            &mut body,
            &["", ""],
            &[
                vec!["Version".into(), env!("CARGO_PKG_VERSION").into()],
                vec!["Started".into(), since],
                vec![
                    "Uptime".into(),
                    format!(
                        "{}h{:02}m{:02}s",
                        uptime / 3600,
                        uptime / 60 % 60,
                        uptime % 60
                    ),
                ],
                vec!["Pipelines".into(), self.service.pipelines.len().to_string()],
                vec![
                    "Extensions".into(),
                    self.service.extensions.len().to_string(),
                ],
            ],
        );
        body.push_str(
            "<p><a href=\"/debug/pipelinez\">pipelinez</a> · <a href=\"/debug/extensionz\">extensionz</a> · \
             <a href=\"/debug/featurez\">featurez</a></p>",
        );
        page("otlp-suite service", &body)
    }

    fn pipelinez(&self) -> String {
        let mut body = String::new();
        for (id, pipeline) in &self.service.pipelines {
            let unit = id.signal.item_unit();
            let count = |metric: &str, label: &str, component: &ComponentId| {
                self.telemetry
                    .total_with_label(
                        &format!("otelcol_{metric}_{unit}"),
                        label,
                        &component.to_string(),
                    )
                    .to_string()
            };
            let _ = write!(body, "<h2>{}</h2>", escape(&id.to_string()));
            let mut rows = Vec::new();
            for receiver in &pipeline.receivers {
                rows.push(vec![
                    "receiver".into(),
                    escape(&receiver.to_string()),
                    count("receiver_accepted", "receiver", receiver),
                    count("receiver_refused", "receiver", receiver),
                    String::new(),
                    String::new(),
                ]);
            }
            for processor in &pipeline.processors {
                rows.push(vec![
                    "processor".into(),
                    escape(&processor.to_string()),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
            for exporter in &pipeline.exporters {
                rows.push(vec![
                    "exporter".into(),
                    escape(&exporter.to_string()),
                    String::new(),
                    String::new(),
                    count("exporter_sent", "exporter", exporter),
                    count("exporter_send_failed", "exporter", exporter),
                ]);
            }
            table(
                &mut body,
                &["", "component", "accepted", "refused", "sent", "failed"],
                &rows,
            );
        }
        body.push_str(
            "<p>Items since the start, from the self-metrics (<code>otelcol_receiver_accepted_*</code> and the \
             others); a connector is counted as the receiver and exporter it is.</p>",
        );
        page("otlp-suite pipelines", &body)
    }

    fn extensionz(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .service
            .extensions
            .iter()
            .map(|id| vec![escape(&id.to_string()), escape(id.kind())])
            .collect();
        let mut body = String::new();
        table(&mut body, &["extension", "type"], &rows);
        page("otlp-suite extensions", &body)
    }

    fn featurez(&self) -> String {
        page(
            "otlp-suite feature gates",
            "<p>otlp-suite has no feature gates: what otelcol puts behind one is a config key here, or not here.</p>",
        )
    }
}

async fn not_recorded() -> Response {
    (
        StatusCode::NOT_FOUND,
        "otlp-suite records no spans of its own, so there is nothing to summarize here; its own telemetry is the \
         self-metrics (service.telemetry.metrics) and its log\n",
    )
        .into_response()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>body{{font-family:sans-serif}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}</style>\
         </head><body><h1>{title}</h1>{body}</body></html>\n"
    )
}

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><tr>");
    for name in header {
        let _ = write!(out, "<th>{name}</th>");
    }
    out.push_str("</tr>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// `text` safe inside HTML (component ids are the operator's).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
