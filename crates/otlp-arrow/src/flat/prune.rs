//! What a flat file keeps of a request's structure: containers without items go.
//!
//! A flat table has one row per item, so a `ResourceSpans` without `ScopeSpans`, a
//! `ScopeSpans` without spans and a `Metric` without data points (or without data)
//! have no row to live in. These functions remove exactly those from a request, giving
//! what reading the flat file back returns.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

/// Removes the scope and resource containers that hold no span.
pub fn prune_traces(request: &mut ExportTraceServiceRequest) {
    for rs in &mut request.resource_spans {
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
    }
    request
        .resource_spans
        .retain(|rs| !rs.scope_spans.is_empty());
}

/// Removes the scope and resource containers that hold no log record.
pub fn prune_logs(request: &mut ExportLogsServiceRequest) {
    for rl in &mut request.resource_logs {
        rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
    }
    request.resource_logs.retain(|rl| !rl.scope_logs.is_empty());
}

fn has_points(metric: &Metric) -> bool {
    match &metric.data {
        None => false,
        Some(Data::Gauge(g)) => !g.data_points.is_empty(),
        Some(Data::Sum(s)) => !s.data_points.is_empty(),
        Some(Data::Histogram(h)) => !h.data_points.is_empty(),
        Some(Data::ExponentialHistogram(h)) => !h.data_points.is_empty(),
        Some(Data::Summary(s)) => !s.data_points.is_empty(),
    }
}

/// Removes the metrics without data points, then the containers left empty.
pub fn prune_metrics(request: &mut ExportMetricsServiceRequest) {
    for rm in &mut request.resource_metrics {
        for sm in &mut rm.scope_metrics {
            sm.metrics.retain(has_points);
        }
        rm.scope_metrics.retain(|sm| !sm.metrics.is_empty());
    }
    request
        .resource_metrics
        .retain(|rm| !rm.scope_metrics.is_empty());
}
