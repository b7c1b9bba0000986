//! [`OtlpRequest`] for metrics. An item is a data point, of any of the five metric types.

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, Gauge, Histogram, Metric, ResourceMetrics, ScopeMetrics, Sum, Summary,
};

use crate::any::any_conversions;
use crate::request::{rejected_count, rejected_of};
use crate::split::{Layout, split_front, take_front};
use crate::{AnyRequest, OtlpRequest, OtlpResponse, Rejected, Signal};

/// Data points of one metric, whatever its type.
pub fn data_points(metric: &Metric) -> usize {
    match &metric.data {
        Some(Data::Gauge(gauge)) => gauge.data_points.len(),
        Some(Data::Sum(sum)) => sum.data_points.len(),
        Some(Data::Histogram(histogram)) => histogram.data_points.len(),
        Some(Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
        Some(Data::Summary(summary)) => summary.data_points.len(),
        None => 0,
    }
}

const LAYOUT: Layout<ResourceMetrics, ScopeMetrics> = Layout {
    scopes: |resource| &mut resource.scope_metrics,
    scope_items: |scope| scope.metrics.iter().map(data_points).sum(),
    split_scope,
};

fn split_scope(scope: &mut ScopeMetrics, mut n: usize) -> ScopeMetrics {
    let whole = scope
        .metrics
        .iter()
        .take_while(|metric| {
            let points = data_points(metric);
            let fits = points <= n;
            if fits {
                n -= points;
            }
            fits
        })
        .count();
    let mut metrics = take_front(&mut scope.metrics, whole);
    if n > 0
        && let Some(boundary) = scope.metrics.first_mut()
    {
        metrics.push(split_metric(boundary, n));
    }
    ScopeMetrics {
        scope: scope.scope.clone(),
        metrics,
        schema_url: scope.schema_url.clone(),
    }
}

/// Splits the first `n` data points off a metric; the returned metric keeps name, description, unit, metadata and
/// the aggregation settings.
fn split_metric(metric: &mut Metric, n: usize) -> Metric {
    let data = metric.data.as_mut().map(|data| match data {
        Data::Gauge(gauge) => Data::Gauge(Gauge {
            data_points: take_front(&mut gauge.data_points, n),
        }),
        Data::Sum(sum) => Data::Sum(Sum {
            data_points: take_front(&mut sum.data_points, n),
            aggregation_temporality: sum.aggregation_temporality,
            is_monotonic: sum.is_monotonic,
        }),
        Data::Histogram(histogram) => Data::Histogram(Histogram {
            data_points: take_front(&mut histogram.data_points, n),
            aggregation_temporality: histogram.aggregation_temporality,
        }),
        Data::ExponentialHistogram(histogram) => Data::ExponentialHistogram(ExponentialHistogram {
            data_points: take_front(&mut histogram.data_points, n),
            aggregation_temporality: histogram.aggregation_temporality,
        }),
        Data::Summary(summary) => Data::Summary(Summary {
            data_points: take_front(&mut summary.data_points, n),
        }),
    });
    Metric {
        name: metric.name.clone(),
        description: metric.description.clone(),
        unit: metric.unit.clone(),
        metadata: metric.metadata.clone(),
        data,
    }
}

impl OtlpRequest for ExportMetricsServiceRequest {
    const SIGNAL: Signal = Signal::Metrics;
    const MESSAGE_NAME: &'static str = "ExportMetricsServiceRequest";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const GRPC_METHOD: &'static str =
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    type Response = ExportMetricsServiceResponse;

    fn item_count(&self) -> usize {
        self.resource_metrics
            .iter()
            .flat_map(|resource| &resource.scope_metrics)
            .flat_map(|scope| &scope.metrics)
            .map(data_points)
            .sum()
    }

    fn append(&mut self, other: Self) {
        self.resource_metrics.extend(other.resource_metrics);
    }

    fn split_front(&mut self, max_items: usize) -> Self {
        ExportMetricsServiceRequest {
            resource_metrics: split_front(&mut self.resource_metrics, max_items, &LAYOUT),
        }
    }

    /// Nothing in a data point makes it unusable downstream, so nothing is removed.
    fn remove_invalid(&mut self) -> Option<Rejected> {
        None
    }

    any_conversions!(Metrics);
}

impl OtlpResponse for ExportMetricsServiceResponse {
    fn with_rejected(rejected: Option<Rejected>) -> Self {
        ExportMetricsServiceResponse {
            partial_success: rejected.map(|rejected| ExportMetricsPartialSuccess {
                rejected_data_points: rejected_count(&rejected),
                error_message: rejected.message,
            }),
        }
    }

    fn rejected(&self) -> Option<Rejected> {
        let partial = self.partial_success.as_ref()?;
        rejected_of(partial.rejected_data_points, &partial.error_message)
    }
}
