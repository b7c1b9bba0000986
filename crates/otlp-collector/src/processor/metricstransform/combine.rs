//! `action: combine`: several metrics made one, the regexp groups of their names becoming labels of their points,
//! and the points that then have the same labels merged.

use super::Transform;
use super::config::SubmatchCase;
use super::points;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, Gauge, Histogram, Metric, Sum, Summary,
};
use std::collections::BTreeSet;

/// Why `metrics` cannot be one metric, if they cannot: summaries, or different types, units, label keys,
/// temporalities or monotonicity.
pub(super) fn can_combine(metrics: &[&Metric]) -> Result<(), String> {
    let Some(first) = metrics.first() else {
        return Ok(());
    };
    let keys = |m: &Metric| -> BTreeSet<String> {
        points::attributes(m)
            .iter()
            .flat_map(|a| a.iter().map(|kv| kv.key.clone()))
            .collect()
    };
    let shape = |m: &Metric| match &m.data {
        Some(Data::Gauge(_)) => Some(("gauge", 0, false)),
        Some(Data::Sum(s)) => Some(("sum", s.aggregation_temporality, s.is_monotonic)),
        Some(Data::Histogram(h)) => Some(("histogram", h.aggregation_temporality, false)),
        Some(Data::ExponentialHistogram(h)) => {
            Some(("exponential histogram", h.aggregation_temporality, false))
        }
        Some(Data::Summary(_)) | None => None,
    };
    for metric in metrics {
        if matches!(metric.data, Some(Data::Summary(_))) {
            return Err(format!(
                "summary metrics cannot be combined: {}",
                metric.name
            ));
        }
    }
    for metric in &metrics[1..] {
        let (a, b) = (shape(first), shape(metric));
        if a.map(|s| s.0) != b.map(|s| s.0) {
            return Err(format!(
                "{} and {} are of different types",
                first.name, metric.name
            ));
        }
        if a.map(|s| s.1) != b.map(|s| s.1) {
            return Err(format!(
                "{} and {} have different aggregation temporalities",
                first.name, metric.name
            ));
        }
        if a.map(|s| s.2) != b.map(|s| s.2) {
            return Err(format!(
                "{} and {} have different monotonicity",
                first.name, metric.name
            ));
        }
        if first.unit != metric.unit {
            return Err(format!(
                "{} and {} have different units",
                first.name, metric.name
            ));
        }
        if keys(first) != keys(metric) {
            return Err(format!(
                "{} and {} have different attributes",
                first.name, metric.name
            ));
        }
    }
    Ok(())
}

/// One metric named `new_name` with the first metric's unit, description and type, holding every point of
/// `metrics` with their names' submatches as labels, merged by the transform's aggregation.
pub(super) fn combine(transform: &Transform, metrics: Vec<Metric>) -> Metric {
    let Some(first) = metrics.first() else {
        return Metric::default();
    };
    let mut combined = Metric {
        name: transform.new_name.clone(),
        description: first.description.clone(),
        unit: first.unit.clone(),
        data: first.data.as_ref().map(empty_like),
        ..Default::default()
    };
    for mut metric in metrics {
        let labels: Vec<(String, String)> = transform
            .selector
            .submatch_labels(&metric.name)
            .into_iter()
            .map(|(key, value)| {
                let value = match transform.submatch_case {
                    Some(SubmatchCase::Lower) => value.to_lowercase(),
                    Some(SubmatchCase::Upper) => value.to_uppercase(),
                    None => value,
                };
                (key, value)
            })
            .collect();
        points::each_attributes(&mut metric, |attributes| {
            for (key, value) in &labels {
                points::put_string(attributes, key, value);
            }
        });
        match (&mut combined.data, metric.data) {
            (Some(Data::Gauge(to)), Some(Data::Gauge(from))) => {
                to.data_points.extend(from.data_points)
            }
            (Some(Data::Sum(to)), Some(Data::Sum(from))) => to.data_points.extend(from.data_points),
            (Some(Data::Histogram(to)), Some(Data::Histogram(from))) => {
                to.data_points.extend(from.data_points)
            }
            (Some(Data::ExponentialHistogram(to)), Some(Data::ExponentialHistogram(from))) => {
                to.data_points.extend(from.data_points)
            }
            // `can_combine` let only metrics of one type through.
            _ => {}
        }
    }
    if let Some(aggregation) = transform.aggregation {
        otlp_ottl::aggregate_metric(&mut combined, aggregation);
    }
    combined
}

/// The same type with no points.
fn empty_like(data: &Data) -> Data {
    match data {
        Data::Gauge(_) => Data::Gauge(Gauge::default()),
        Data::Sum(s) => Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: s.aggregation_temporality,
            is_monotonic: s.is_monotonic,
        }),
        Data::Histogram(h) => Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: h.aggregation_temporality,
        }),
        Data::ExponentialHistogram(h) => Data::ExponentialHistogram(ExponentialHistogram {
            data_points: Vec::new(),
            aggregation_temporality: h.aggregation_temporality,
        }),
        Data::Summary(_) => Data::Summary(Summary::default()),
    }
}
