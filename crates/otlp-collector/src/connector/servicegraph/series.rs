//! The metrics of completed requests: per client, server, connection type, failure and configured dimensions, a
//! count of requests, a count of failed ones, and the latency each side saw.

use super::edges::{Connection, Edge, Name, Virtual};
use crate::histogram::{Buckets, Histogram};
use foldhash::fast::RandomState;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, Histogram as HistogramMetric, Metric,
    NumberDataPoint, Sum, metric, number_data_point,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The scope otelcol's connector writes its metrics under.
const SCOPE: &str = "traces_service_graph";

/// A series is dropped once it has counted nothing for this long, as in otelcol.
pub(super) const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

/// What tells series apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    client: Name,
    server: Name,
    connection: Connection,
    failed: bool,
    client_dimensions: Vec<Option<String>>,
    server_dimensions: Vec<Option<String>>,
    virtual_side: Option<Virtual>,
}

#[derive(Debug)]
struct Series {
    requests: u64,
    client_seconds: Histogram,
    server_seconds: Histogram,
    last_counted: Instant,
}

/// The series of every request completed since the connector started.
#[derive(Debug)]
pub(super) struct Graph {
    series: HashMap<SeriesKey, Series, RandomState>,
    buckets: Buckets,
    dimensions: Vec<String>,
    virtual_node_label: bool,
    /// Unix nanoseconds when counting began: the start of every (cumulative) point.
    start: u64,
}

impl Graph {
    pub(super) fn new(
        buckets: Buckets,
        dimensions: Vec<String>,
        virtual_node_label: bool,
        start: u64,
    ) -> Self {
        Graph {
            series: HashMap::default(),
            buckets,
            dimensions,
            virtual_node_label,
            start,
        }
    }

    /// Counts a completed request; an edge missing a side is not one.
    pub(super) fn count(&mut self, edge: Edge, now: Instant) {
        let (Some(client), Some(server)) = (edge.client, edge.server) else {
            return;
        };
        let key = SeriesKey {
            client,
            server,
            connection: edge.connection,
            failed: edge.failed,
            client_dimensions: edge.client_dimensions,
            server_dimensions: edge.server_dimensions,
            virtual_side: edge.virtual_side.filter(|_| self.virtual_node_label),
        };
        let buckets = &self.buckets;
        let series = self.series.entry(key).or_insert_with(|| Series {
            requests: 0,
            client_seconds: Histogram::new(buckets),
            server_seconds: Histogram::new(buckets),
            last_counted: now,
        });
        series.requests += 1;
        series.client_seconds.record(edge.client_seconds);
        series.server_seconds.record(edge.server_seconds);
        series.last_counted = now;
    }

    /// Drops the series that counted nothing for [`STALE_AFTER`].
    pub(super) fn drop_stale(&mut self, now: Instant) {
        self.series
            .retain(|_, series| now.saturating_duration_since(series.last_counted) < STALE_AFTER);
    }

    /// Series held now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.series.len()
    }

    /// Every series' points, cumulative, stamped `time` (Unix nanoseconds); `None` when there is no series yet.
    pub(super) fn metrics(&self, time: u64) -> Option<ExportMetricsServiceRequest> {
        if self.series.is_empty() {
            return None;
        }
        let mut series: Vec<(&SeriesKey, &Series)> = self.series.iter().collect();
        // Points in a stable order, for readers and tests alike.
        series.sort_by(|a, b| key_order(a.0).cmp(&key_order(b.0)));
        let times = (self.start, time);
        let attributes: Vec<Vec<KeyValue>> =
            series.iter().map(|(key, _)| self.attributes(key)).collect();
        let count_points = |failed_only: bool| -> Vec<NumberDataPoint> {
            series
                .iter()
                .zip(&attributes)
                .filter(|((key, _), _)| !failed_only || key.failed)
                .map(|((_, series), attributes)| NumberDataPoint {
                    attributes: attributes.clone(),
                    start_time_unix_nano: times.0,
                    time_unix_nano: times.1,
                    value: Some(number_data_point::Value::AsInt(
                        i64::try_from(series.requests).unwrap_or(i64::MAX),
                    )),
                    ..Default::default()
                })
                .collect()
        };
        let mut metrics = vec![sum(
            "traces_service_graph_request_total",
            count_points(false),
        )];
        let failed = count_points(true);
        if !failed.is_empty() {
            metrics.push(sum("traces_service_graph_request_failed_total", failed));
        }
        for (name, side) in [
            ("traces_service_graph_request_server", Side::Server),
            ("traces_service_graph_request_client", Side::Client),
        ] {
            let histograms = series
                .iter()
                .zip(&attributes)
                .map(|((_, series), attributes)| {
                    let histogram = match side {
                        Side::Server => &series.server_seconds,
                        Side::Client => &series.client_seconds,
                    };
                    (histogram, attributes.clone())
                });
            metrics.push(histogram_metric(name, &self.buckets, times, histograms));
        }
        Some(ExportMetricsServiceRequest {
            resource_metrics: vec![crate::connector::resource_metrics(
                Vec::new(),
                SCOPE,
                metrics,
            )],
        })
    }

    /// A series' attributes as otelcol writes them: `client`, `server`, `connection_type`, `failed`, then the
    /// dimensions found (`client_<name>`, `server_<name>`), then `virtual_node` when asked for.
    fn attributes(&self, key: &SeriesKey) -> Vec<KeyValue> {
        let mut attributes = vec![
            string("client", &key.client),
            string("server", &key.server),
            string("connection_type", key.connection.name()),
            KeyValue {
                key: "failed".to_string(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::BoolValue(key.failed)),
                }),
                ..Default::default()
            },
        ];
        for (i, name) in self.dimensions.iter().enumerate() {
            for (side, values) in [
                ("client", &key.client_dimensions),
                ("server", &key.server_dimensions),
            ] {
                if let Some(Some(value)) = values.get(i) {
                    attributes.push(string(&format!("{side}_{name}"), value));
                }
            }
        }
        if self.virtual_node_label {
            let side = key.virtual_side.map_or("", Virtual::name);
            attributes.push(string("virtual_node", side));
        }
        attributes
    }
}

#[derive(Clone, Copy)]
enum Side {
    Client,
    Server,
}

type KeyOrder<'a> = (
    &'a str,
    &'a str,
    &'static str,
    bool,
    &'a [Option<String>],
    &'a [Option<String>],
    Option<&'static str>,
);

fn key_order(key: &SeriesKey) -> KeyOrder<'_> {
    (
        &key.client,
        &key.server,
        key.connection.name(),
        key.failed,
        &key.client_dimensions,
        &key.server_dimensions,
        key.virtual_side.map(Virtual::name),
    )
}

fn string(key: &str, value: &str) -> KeyValue {
    otlp_ottl::key_value(key, otlp_ottl::string_value(value))
}

fn sum(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_string(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

fn histogram_metric<'a>(
    name: &str,
    buckets: &Buckets,
    times: (u64, u64),
    histograms: impl Iterator<Item = (&'a Histogram, Vec<KeyValue>)>,
) -> Metric {
    let temporality = AggregationTemporality::Cumulative as i32;
    let data = match buckets {
        Buckets::Explicit(_) => metric::Data::Histogram(HistogramMetric {
            data_points: histograms
                .filter_map(|(histogram, attributes)| {
                    histogram.explicit_point(times, attributes, Vec::new())
                })
                .collect(),
            aggregation_temporality: temporality,
        }),
        Buckets::Exponential { .. } => metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: histograms
                .filter_map(|(histogram, attributes)| {
                    histogram.exponential_point(times, attributes, Vec::new())
                })
                .collect(),
            aggregation_temporality: temporality,
        }),
    };
    Metric {
        name: name.to_string(),
        unit: "s".to_string(),
        data: Some(data),
        ..Default::default()
    }
}
