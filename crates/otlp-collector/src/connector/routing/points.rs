//! A metric routed data point by data point, for `datapoint` routes: each point goes to the first route it meets
//! (by its resource for a `resource` route, its metric for a `metric` route, itself for a `datapoint` route), and
//! each destination gets a copy of the metric with its points, in their order.
//!
//! A `resource` or `metric` route's condition is evaluated once per metric, on the whole metric, for every such
//! route up to the first that takes it; a `datapoint` route's on each point it is asked about.

use super::RouteContext;
use super::split::{Pieces, Router};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, Gauge, Histogram, Metric, Sum, Summary, metric::Data,
};
use otlp_ottl::{ResourceParts, ScopeParts, TransformContext, for_each_point, point_count};

/// Where a metric's points go: `None` when no route looks at points, or the metric has none (it then goes
/// whole, as an item); else the metric's pieces, each with its destination.
pub(super) fn pieces(
    router: &Router,
    metric: &mut Metric,
    resource: &mut ResourceParts<'_>,
    scope: &mut ScopeParts<'_>,
    resource_verdicts: &mut [Option<Option<bool>>],
    cache: &mut Vec<KeyValue>,
    id: &str,
) -> Result<Pieces<Metric>, otlp_ottl::Error> {
    if !router.routes_points() || point_count(metric) == 0 {
        return Ok(None);
    }
    let default = router.destinations() - 1;
    // The verdicts of the routes that look at the resource or the metric, up to the first that takes it: no
    // point gets past that one.
    let mut whole: Vec<Option<Option<bool>>> = vec![None; default];
    for (route, (context, condition)) in router.routes().iter().enumerate() {
        let verdict = match context {
            RouteContext::Resource => router.resource_verdict(
                route,
                condition,
                (resource, resource_verdicts),
                cache,
                id,
            )?,
            RouteContext::Metric => {
                cache.clear();
                let ctx = TransformContext::for_metric(
                    resource.reborrow(),
                    scope.reborrow(),
                    metric,
                    cache,
                );
                router.judge(condition.eval(&ctx), id)?
            }
            _ => continue,
        };
        whole[route] = Some(verdict);
        if verdict != Some(false) {
            break;
        }
    }
    let mut destinations = Vec::with_capacity(point_count(metric));
    for_each_point(metric, |metric, mut point| {
        let mut destination = default;
        for (route, (context, condition)) in router.routes().iter().enumerate() {
            let verdict = match context {
                RouteContext::Datapoint => {
                    cache.clear();
                    let ctx = TransformContext::for_data_point(
                        resource.reborrow(),
                        scope.reborrow(),
                        metric,
                        point.reborrow(),
                        cache,
                    );
                    router.judge(condition.eval(&ctx), id)?
                }
                _ => match whole[route] {
                    Some(verdict) => verdict,
                    None => continue,
                },
            };
            match verdict {
                Some(false) => continue,
                Some(true) => destination = route,
                None => destination = default,
            }
            break;
        }
        destinations.push(destination);
        Ok(())
    })?;
    Ok(Some(split_points(std::mem::take(metric), &destinations)))
}

/// `metric` as one copy per destination, each with the points `destinations` sends there (one destination per
/// point, in order); the whole metric when every point goes to one place.
fn split_points(mut metric: Metric, destinations: &[usize]) -> Vec<(usize, Metric)> {
    let Some(&first) = destinations.first() else {
        return Vec::new();
    };
    if destinations.iter().all(|&d| d == first) {
        return vec![(first, metric)];
    }
    let mut targets: Vec<usize> = destinations.to_vec();
    targets.sort_unstable();
    targets.dedup();
    /// The points of each destination, in `targets`' order.
    fn share<P>(points: Vec<P>, destinations: &[usize], targets: &[usize]) -> Vec<Vec<P>> {
        let mut shares: Vec<Vec<P>> = targets.iter().map(|_| Vec::new()).collect();
        for (point, destination) in points.into_iter().zip(destinations) {
            if let Ok(at) = targets.binary_search(destination) {
                shares[at].push(point);
            }
        }
        shares
    }
    let data: Vec<Data> = match metric.data.take() {
        Some(Data::Gauge(d)) => share(d.data_points, destinations, &targets)
            .into_iter()
            .map(|data_points| Data::Gauge(Gauge { data_points }))
            .collect(),
        Some(Data::Sum(d)) => share(d.data_points, destinations, &targets)
            .into_iter()
            .map(|data_points| {
                Data::Sum(Sum {
                    data_points,
                    aggregation_temporality: d.aggregation_temporality,
                    is_monotonic: d.is_monotonic,
                })
            })
            .collect(),
        Some(Data::Histogram(d)) => share(d.data_points, destinations, &targets)
            .into_iter()
            .map(|data_points| {
                Data::Histogram(Histogram {
                    data_points,
                    aggregation_temporality: d.aggregation_temporality,
                })
            })
            .collect(),
        Some(Data::ExponentialHistogram(d)) => share(d.data_points, destinations, &targets)
            .into_iter()
            .map(|data_points| {
                Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality: d.aggregation_temporality,
                })
            })
            .collect(),
        Some(Data::Summary(d)) => share(d.data_points, destinations, &targets)
            .into_iter()
            .map(|data_points| Data::Summary(Summary { data_points }))
            .collect(),
        None => Vec::new(),
    };
    targets
        .into_iter()
        .zip(data)
        .map(|(destination, data)| {
            (
                destination,
                Metric {
                    data: Some(data),
                    ..metric.clone()
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Batch;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{
        HistogramDataPoint, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    };
    use otlp_ottl::{ContextKind, ErrorMode, parse_condition};

    fn point(env: &str, time: u64) -> NumberDataPoint {
        NumberDataPoint {
            attributes: vec![otlp_ottl::key_value("env", otlp_ottl::string_value(env))],
            time_unix_nano: time,
            ..Default::default()
        }
    }

    fn metric(name: &str, data: Data) -> Metric {
        Metric {
            name: name.to_string(),
            unit: "1".to_string(),
            data: Some(data),
            ..Default::default()
        }
    }

    fn request() -> ExportMetricsServiceRequest {
        let metrics = vec![
            metric(
                "queue.depth",
                Data::Gauge(Gauge {
                    data_points: vec![point("prod", 1), point("test", 2), point("prod", 3)],
                }),
            ),
            metric(
                "requests",
                Data::Sum(Sum {
                    data_points: vec![point("test", 4), point("test", 5)],
                    aggregation_temporality: 2,
                    is_monotonic: true,
                }),
            ),
            metric(
                "latency",
                Data::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: point("prod", 6).attributes,
                        time_unix_nano: 6,
                        ..Default::default()
                    }],
                    aggregation_temporality: 1,
                }),
            ),
            metric("empty", Data::Gauge(Gauge::default())),
        ];
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// (metric, its data's kind-specific settings, the times of its points) of a part's metrics.
    fn placed(part: &Option<Batch>) -> Vec<(String, String, Vec<u64>)> {
        let Some(part) = part else { return Vec::new() };
        let Some(request) = part.get::<ExportMetricsServiceRequest>() else {
            panic!("not metrics");
        };
        let mut out = Vec::new();
        for metric in request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
        {
            assert_eq!(metric.unit, "1");
            let (settings, times) = match &metric.data {
                Some(Data::Gauge(d)) => (
                    String::new(),
                    d.data_points.iter().map(|p| p.time_unix_nano).collect(),
                ),
                Some(Data::Sum(d)) => (
                    format!("{} {}", d.aggregation_temporality, d.is_monotonic),
                    d.data_points.iter().map(|p| p.time_unix_nano).collect(),
                ),
                Some(Data::Histogram(d)) => (
                    d.aggregation_temporality.to_string(),
                    d.data_points.iter().map(|p| p.time_unix_nano).collect(),
                ),
                other => panic!("{other:?}"),
            };
            out.push((metric.name.clone(), settings, times));
        }
        out
    }

    fn at(name: &str, settings: &str, times: &[u64]) -> (String, String, Vec<u64>) {
        (name.to_string(), settings.to_string(), times.to_vec())
    }

    #[test]
    fn points_go_to_the_first_route_they_meet_each_destination_with_a_copy_of_their_metric() {
        let router = Router::new(
            vec![
                (
                    RouteContext::Metric,
                    parse_condition(ContextKind::Metric, r#"name == "latency""#).unwrap(),
                ),
                (
                    RouteContext::Datapoint,
                    parse_condition(ContextKind::DataPoint, r#"attributes["env"] == "prod""#)
                        .unwrap(),
                ),
            ],
            ErrorMode::Propagate,
        );
        let parts = router.split_metrics(request(), "routing").unwrap();
        assert_eq!(parts.len(), 3);
        // The metric route comes first: the histogram goes whole, though its point is `prod`.
        assert_eq!(placed(&parts[0]), [at("latency", "1", &[6])]);
        assert_eq!(placed(&parts[1]), [at("queue.depth", "", &[1, 3])]);
        // A metric whose points all go one way goes whole; one without points goes by the other routes.
        assert_eq!(
            placed(&parts[2]),
            [
                at("queue.depth", "", &[2]),
                at("requests", "2 true", &[4, 5]),
                at("empty", "", &[]),
            ]
        );
    }

    #[test]
    fn a_condition_that_fails_on_a_point_refuses_the_batch_or_sends_the_point_to_the_default() {
        let routes = || {
            vec![(
                RouteContext::Datapoint,
                parse_condition(ContextKind::DataPoint, r#"attributes["missing"] * 2 > 100"#)
                    .unwrap(),
            )]
        };
        assert!(
            Router::new(routes(), ErrorMode::Propagate)
                .split_metrics(request(), "routing")
                .is_err()
        );
        let parts = Router::new(routes(), ErrorMode::Silent)
            .split_metrics(request(), "routing")
            .unwrap();
        assert_eq!(parts[0], None);
        assert_eq!(placed(&parts[1]).len(), 4);
    }
}
