//! Metric generation: a fixed set of time series per service, each step of which yields one
//! data point; cumulative series keep their running state so that values only grow.

use crate::catalog::{
    AD, API_GATEWAY, CART, CHECKOUT, CURRENCY, Catalog, EMAIL, FRONTEND, Language, PAYMENT,
    PRODUCT_CATALOG, RECOMMENDATION, SCHEMA_URL, SERVICES, SHIPPING, ScopeKind, ServiceId,
};
use crate::util::{Latency, kv_int, kv_str, random_id};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const INTERVAL_NS: u64 = 10_000_000_000;
/// The simulated processes started an hour before the generator's start time.
const UPTIME_NS: u64 = 3_600_000_000_000;

/// The OpenTelemetry SDK default bounds for `http.server.request.duration` (seconds).
const HTTP_BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const EXP_SCALE: i32 = 3;
/// Bucket index range kept for the exponential histogram: 2^(-32/8) ms = 62 µs up to
/// 2^(128/8) ms = 65 s at scale 3.
const EXP_OFFSET: i32 = -32;
const EXP_BUCKETS: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    HttpDuration,
    RpcDuration,
    NetworkIo,
    CpuTime,
    ContextSwitches,
    ActiveRequests,
    MemoryUtilization,
    GcPauses,
}

impl Shape {
    fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Shape::HttpDuration => (
                "http.server.request.duration",
                "Duration of HTTP server requests.",
                "s",
            ),
            Shape::RpcDuration => (
                "rpc.server.duration",
                "Measures the duration of inbound RPC.",
                "ms",
            ),
            Shape::NetworkIo => (
                "system.network.io",
                "The number of bytes transmitted and received.",
                "By",
            ),
            Shape::CpuTime => (
                "process.cpu.time",
                "Total CPU seconds broken down by different CPU modes.",
                "s",
            ),
            Shape::ContextSwitches => (
                "process.context_switches",
                "Number of times the process has been context switched.",
                "{context_switch}",
            ),
            Shape::ActiveRequests => (
                "http.server.active_requests",
                "Number of active HTTP server requests.",
                "{request}",
            ),
            Shape::MemoryUtilization => (
                "system.memory.utilization",
                "Fraction of memory in use, by state.",
                "1",
            ),
            Shape::GcPauses => (
                "go_gc_duration_seconds",
                "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.",
                "s",
            ),
        }
    }

    fn scope(self) -> ScopeKind {
        match self {
            Shape::HttpDuration | Shape::ActiveRequests => ScopeKind::Http,
            Shape::RpcDuration => ScopeKind::Grpc,
            _ => ScopeKind::App,
        }
    }
}

/// One time series: a metric of one service with one attribute set.
pub(crate) struct Series {
    service: ServiceId,
    shape: Shape,
    attributes: Vec<KeyValue>,
    latency: Latency,
    /// A series of failed requests (HTTP 5xx): it sees only a trickle of observations.
    failing: bool,
}

impl Series {
    #[cfg(test)]
    pub(crate) fn latency_is_valid(&self) -> bool {
        self.latency.is_valid()
    }
}

#[derive(Debug, Clone, Default)]
struct SeriesState {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    buckets: Vec<u64>,
    int_total: i64,
    double_total: f64,
}

/// The metric signal's state inside a `Generator`.
#[derive(Debug, Clone)]
pub(crate) struct MetricState {
    rng: ChaCha8Rng,
    start_ns: u64,
    cursor: usize,
    cycle: u64,
    series: Vec<SeriesState>,
}

fn http_routes(service: ServiceId) -> &'static [(&'static str, &'static str)] {
    match service {
        FRONTEND => &[
            ("GET", "/api/products/{id}"),
            ("GET", "/api/cart"),
            ("POST", "/api/cart"),
            ("POST", "/api/checkout"),
            ("GET", "/"),
        ],
        API_GATEWAY => &[("GET", "/api/v2/products")],
        SHIPPING => &[("POST", "/get-quote"), ("POST", "/ship-order")],
        EMAIL => &[("POST", "/send_order_confirmation")],
        _ => &[],
    }
}

fn rpc_methods(service: ServiceId) -> &'static [(&'static str, &'static str)] {
    match service {
        CART => &[
            ("oteldemo.CartService", "GetCart"),
            ("oteldemo.CartService", "AddItem"),
            ("oteldemo.CartService", "EmptyCart"),
        ],
        CHECKOUT => &[("oteldemo.CheckoutService", "PlaceOrder")],
        PAYMENT => &[("oteldemo.PaymentService", "Charge")],
        CURRENCY => &[("oteldemo.CurrencyService", "Convert")],
        PRODUCT_CATALOG => &[
            ("oteldemo.ProductCatalogService", "GetProduct"),
            ("oteldemo.ProductCatalogService", "ListProducts"),
        ],
        RECOMMENDATION => &[("oteldemo.RecommendationService", "ListRecommendations")],
        AD => &[("oteldemo.AdService", "GetAds")],
        _ => &[],
    }
}

/// All series, grouped by service, then scope, then metric, so that a request built from
/// consecutive steps groups naturally.
pub(crate) fn build_series() -> Vec<Series> {
    let mut series = Vec::new();
    let http_latency = Latency::new(30_000_000.0, 0.9);
    let rpc_latency = Latency::new(3_000_000.0, 0.9);
    let none = Latency::new(1.0, 0.0);
    for (service, def) in SERVICES.iter().enumerate() {
        let mut push = |shape: Shape, attributes: Vec<KeyValue>, latency: Latency| {
            let failing = attributes.iter().any(|a| {
                a.key == "http.response.status_code"
                    && a.value.as_ref().and_then(|v| v.value.as_ref())
                        == Some(&Value::IntValue(500))
            });
            series.push(Series {
                service,
                shape,
                attributes,
                latency,
                failing,
            });
        };
        for (method, route) in http_routes(service) {
            for status in [200, 500] {
                push(
                    Shape::HttpDuration,
                    vec![
                        kv_str("http.request.method", method),
                        kv_str("http.route", route),
                        kv_int("http.response.status_code", status),
                        kv_str(
                            "url.scheme",
                            if service == FRONTEND || service == API_GATEWAY {
                                "https"
                            } else {
                                "http"
                            },
                        ),
                        kv_str("network.protocol.version", "1.1"),
                    ],
                    http_latency,
                );
            }
        }
        if !http_routes(service).is_empty() {
            push(
                Shape::ActiveRequests,
                vec![
                    kv_str("http.request.method", "GET"),
                    kv_str("url.scheme", "http"),
                ],
                none,
            );
        }
        for (rpc_service, method) in rpc_methods(service) {
            push(
                Shape::RpcDuration,
                vec![
                    kv_str("rpc.system", "grpc"),
                    kv_str("rpc.service", rpc_service),
                    kv_str("rpc.method", method),
                    kv_int("rpc.grpc.status_code", 0),
                ],
                rpc_latency,
            );
        }
        for direction in ["transmit", "receive"] {
            push(
                Shape::NetworkIo,
                vec![
                    kv_str("network.io.direction", direction),
                    kv_str("network.interface.name", "eth0"),
                ],
                none,
            );
        }
        for mode in ["user", "system"] {
            push(Shape::CpuTime, vec![kv_str("cpu.mode", mode)], none);
        }
        for kind in ["voluntary", "involuntary"] {
            push(
                Shape::ContextSwitches,
                vec![kv_str("process.context_switch.type", kind)],
                none,
            );
        }
        for state in ["used", "free", "cached"] {
            push(
                Shape::MemoryUtilization,
                vec![kv_str("system.memory.state", state)],
                none,
            );
        }
        if def.language == Language::Go {
            push(Shape::GcPauses, Vec::new(), Latency::new(200_000.0, 0.8));
        }
    }
    series
}

enum Point {
    Number(NumberDataPoint),
    Histogram(HistogramDataPoint),
    Exponential(ExponentialHistogramDataPoint),
    Summary(SummaryDataPoint),
}

fn new_metric(shape: Shape) -> Metric {
    let (name, description, unit) = shape.describe();
    let cumulative = AggregationTemporality::Cumulative as i32;
    let data = match shape {
        Shape::HttpDuration => Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
        }),
        Shape::RpcDuration => Data::ExponentialHistogram(ExponentialHistogram {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
        }),
        Shape::NetworkIo | Shape::CpuTime => Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
            is_monotonic: true,
        }),
        Shape::ContextSwitches => Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: AggregationTemporality::Delta as i32,
            is_monotonic: true,
        }),
        Shape::ActiveRequests => Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
            is_monotonic: false,
        }),
        Shape::MemoryUtilization => Data::Gauge(Gauge {
            data_points: Vec::new(),
        }),
        Shape::GcPauses => Data::Summary(Summary {
            data_points: Vec::new(),
        }),
    };
    Metric {
        name: name.to_owned(),
        description: description.to_owned(),
        unit: unit.to_owned(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

fn push_point(metric: &mut Metric, point: Point) {
    match (&mut metric.data, point) {
        (Some(Data::Sum(sum)), Point::Number(p)) => sum.data_points.push(p),
        (Some(Data::Gauge(gauge)), Point::Number(p)) => gauge.data_points.push(p),
        (Some(Data::Histogram(h)), Point::Histogram(p)) => h.data_points.push(p),
        (Some(Data::ExponentialHistogram(h)), Point::Exponential(p)) => h.data_points.push(p),
        (Some(Data::Summary(s)), Point::Summary(p)) => s.data_points.push(p),
        // `new_metric` and `MetricState::point` derive both sides from the same shape.
        _ => {}
    }
}

/// The position in the kept bucket range of the bucket `(base^(i), base^(i+1)]` holding
/// `value_ms`; values outside the range land in the first or last bucket.
fn exp_index(value_ms: f64) -> usize {
    // Latencies are positive; anything else (and NaN) goes to the lowest bucket.
    if value_ms.is_nan() || value_ms <= 0.0 {
        return 0;
    }
    let index = ((value_ms.log2() * f64::from(1 << EXP_SCALE)).ceil() as i32).saturating_sub(1);
    index
        .saturating_sub(EXP_OFFSET)
        .clamp(0, EXP_BUCKETS as i32 - 1) as usize
}

impl MetricState {
    pub(crate) fn new(rng: ChaCha8Rng, start_ns: u64, series: usize) -> Self {
        Self {
            rng,
            start_ns,
            cursor: 0,
            cycle: 0,
            series: vec![SeriesState::default(); series],
        }
    }

    pub(crate) fn set_start(&mut self, start_ns: u64) {
        self.start_ns = start_ns;
    }

    /// Exactly `data_points` points: one step of the series cycle per point.
    pub(crate) fn request(
        &mut self,
        catalog: &Catalog,
        data_points: usize,
    ) -> ExportMetricsServiceRequest {
        let mut resource_metrics: Vec<ResourceMetrics> = Vec::new();
        let mut last: Option<(ServiceId, ScopeKind, Shape)> = None;
        let series_count = catalog.series.len();
        if series_count == 0 {
            return ExportMetricsServiceRequest { resource_metrics };
        }
        for _ in 0..data_points {
            let index = self.cursor;
            self.cursor += 1;
            if self.cursor == series_count {
                self.cursor = 0;
                self.cycle += 1;
            }
            let Some(series) = catalog.series.get(index) else {
                continue;
            };
            let Some(runtime) = catalog.services.get(series.service) else {
                continue;
            };
            let point = self.point(series, index);
            let scope = series.shape.scope();
            let same_service = last.is_some_and(|(s, _, _)| s == series.service);
            let same_scope = same_service && last.is_some_and(|(_, k, _)| k == scope);
            let same_metric = same_scope && last.is_some_and(|(_, _, m)| m == series.shape);
            if !same_service {
                resource_metrics.push(ResourceMetrics {
                    resource: Some(runtime.resource.clone()),
                    scope_metrics: Vec::new(),
                    schema_url: SCHEMA_URL.to_owned(),
                });
            }
            let Some(resource) = resource_metrics.last_mut() else {
                continue;
            };
            if !same_scope {
                resource.scope_metrics.push(ScopeMetrics {
                    scope: catalog.scope(series.service, scope).cloned(),
                    metrics: Vec::new(),
                    schema_url: String::new(),
                });
            }
            let Some(scope_metrics) = resource.scope_metrics.last_mut() else {
                continue;
            };
            if !same_metric {
                scope_metrics.metrics.push(new_metric(series.shape));
            }
            if let Some(metric) = scope_metrics.metrics.last_mut() {
                push_point(metric, point);
            }
            last = Some((series.service, scope, series.shape));
        }
        ExportMetricsServiceRequest { resource_metrics }
    }

    fn point(&mut self, series: &Series, index: usize) -> Point {
        let time = self
            .start_ns
            .saturating_add(self.cycle.saturating_add(1).saturating_mul(INTERVAL_NS));
        let process_start = self.start_ns.saturating_sub(UPTIME_NS);
        let rng = &mut self.rng;
        let Some(state) = self.series.get_mut(index) else {
            return Point::Number(NumberDataPoint::default());
        };
        let number = |value: number_data_point::Value, start: u64| NumberDataPoint {
            attributes: series.attributes.clone(),
            start_time_unix_nano: start,
            time_unix_nano: time,
            exemplars: Vec::new(),
            flags: 0,
            value: Some(value),
        };
        match series.shape {
            Shape::HttpDuration => {
                if state.buckets.is_empty() {
                    state.buckets = vec![0; HTTP_BOUNDS.len() + 1];
                    state.min = f64::MAX;
                }
                let mut exemplar_value = None;
                let observations = if series.failing {
                    rng.random_range(0..3)
                } else {
                    rng.random_range(5..60)
                };
                for _ in 0..observations {
                    let seconds = series.latency.sample_ns(rng) as f64 / 1e9;
                    record(state, seconds);
                    let bucket = HTTP_BOUNDS
                        .iter()
                        .position(|b| seconds <= *b)
                        .unwrap_or(HTTP_BOUNDS.len());
                    if let Some(count) = state.buckets.get_mut(bucket) {
                        *count += 1;
                    }
                    exemplar_value = Some(seconds);
                }
                Point::Histogram(HistogramDataPoint {
                    attributes: series.attributes.clone(),
                    start_time_unix_nano: process_start,
                    time_unix_nano: time,
                    count: state.count,
                    sum: Some(state.sum),
                    bucket_counts: state.buckets.clone(),
                    explicit_bounds: HTTP_BOUNDS.to_vec(),
                    exemplars: exemplars(rng, exemplar_value, time),
                    flags: 0,
                    min: (state.count > 0).then_some(state.min),
                    max: (state.count > 0).then_some(state.max),
                })
            }
            Shape::RpcDuration => {
                if state.buckets.is_empty() {
                    state.buckets = vec![0; EXP_BUCKETS];
                    state.min = f64::MAX;
                }
                let mut exemplar_value = None;
                for _ in 0..rng.random_range(10..120) {
                    let millis = series.latency.sample_ns(rng) as f64 / 1e6;
                    record(state, millis);
                    if let Some(count) = state.buckets.get_mut(exp_index(millis)) {
                        *count += 1;
                    }
                    exemplar_value = Some(millis);
                }
                let first = state.buckets.iter().position(|c| *c > 0).unwrap_or(0);
                let last = state
                    .buckets
                    .iter()
                    .rposition(|c| *c > 0)
                    .map_or(first, |l| l + 1);
                Point::Exponential(ExponentialHistogramDataPoint {
                    attributes: series.attributes.clone(),
                    start_time_unix_nano: process_start,
                    time_unix_nano: time,
                    count: state.count,
                    sum: Some(state.sum),
                    scale: EXP_SCALE,
                    zero_count: 0,
                    positive: Some(Buckets {
                        offset: EXP_OFFSET + first as i32,
                        bucket_counts: state
                            .buckets
                            .get(first..last)
                            .map(<[u64]>::to_vec)
                            .unwrap_or_default(),
                    }),
                    negative: None,
                    flags: 0,
                    exemplars: exemplars(rng, exemplar_value, time),
                    min: (state.count > 0).then_some(state.min),
                    max: (state.count > 0).then_some(state.max),
                    zero_threshold: 0.0,
                })
            }
            Shape::NetworkIo => {
                state.int_total += rng.random_range(10_000..2_000_000);
                Point::Number(number(
                    number_data_point::Value::AsInt(state.int_total),
                    process_start,
                ))
            }
            Shape::CpuTime => {
                state.double_total += rng.random_range(0.05..4.0);
                Point::Number(number(
                    number_data_point::Value::AsDouble(state.double_total),
                    process_start,
                ))
            }
            Shape::ContextSwitches => {
                let delta = rng.random_range(100..5_000);
                Point::Number(number(
                    number_data_point::Value::AsInt(delta),
                    time.saturating_sub(INTERVAL_NS),
                ))
            }
            Shape::ActiveRequests => Point::Number(number(
                number_data_point::Value::AsInt(rng.random_range(0..40)),
                process_start,
            )),
            Shape::MemoryUtilization => {
                let value: f64 = rng.random_range(0.05..0.8);
                // Gauges have no start time.
                Point::Number(number(
                    number_data_point::Value::AsDouble((value * 1e4).round() / 1e4),
                    0,
                ))
            }
            Shape::GcPauses => {
                let cycles = rng.random_range(1..6);
                let mut quantiles = Vec::with_capacity(5);
                let mut value = 0.0;
                for quantile in [0.0, 0.25, 0.5, 0.75, 1.0] {
                    value += series.latency.sample_ns(rng) as f64 / 1e9 * 0.5;
                    quantiles.push(ValueAtQuantile { quantile, value });
                }
                state.count += cycles;
                state.sum += value * cycles as f64 * 0.6;
                Point::Summary(SummaryDataPoint {
                    attributes: series.attributes.clone(),
                    start_time_unix_nano: process_start,
                    time_unix_nano: time,
                    count: state.count,
                    sum: state.sum,
                    quantile_values: quantiles,
                    flags: 0,
                })
            }
        }
    }
}

fn record(state: &mut SeriesState, value: f64) {
    state.count += 1;
    state.sum += value;
    state.min = state.min.min(value);
    state.max = state.max.max(value);
}

/// A quarter of the histogram points carry an exemplar pointing at a (sampled) trace.
fn exemplars(rng: &mut ChaCha8Rng, value: Option<f64>, time: u64) -> Vec<Exemplar> {
    match value {
        Some(value) if rng.random_bool(0.25) => vec![Exemplar {
            filtered_attributes: Vec::new(),
            time_unix_nano: time.saturating_sub(rng.random_range(0..INTERVAL_NS)),
            span_id: random_id::<8>(rng).to_vec(),
            trace_id: random_id::<16>(rng).to_vec(),
            value: Some(exemplar::Value::AsDouble(value)),
        }],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_bucket_index_follows_the_otlp_definition() {
        // At scale 3 the base is 2^(1/8): 1 ms is the upper bound of bucket -1 and
        // 2 ms the upper bound of bucket 7.
        let position = |index: i32| (index - EXP_OFFSET) as usize;
        assert_eq!(exp_index(1.0), position(-1));
        assert_eq!(exp_index(1.01), position(0));
        assert_eq!(exp_index(2.0), position(7));
        assert_eq!(exp_index(0.0), 0);
        assert_eq!(exp_index(-3.0), 0);
        assert_eq!(exp_index(1e12), EXP_BUCKETS - 1);
    }
}
