//! Metric points as HEC metric events, as otelcol's `mapMetricToSplunkEvent` writes them: `event: "metric"`, the
//! value in the field `metric_name:<name>`, `metric_type` (`Gauge`, `Sum`, `Histogram`, `Summary`), the resource's
//! and the point's attributes as the other fields. A histogram is an event for `<name>_sum`, one for
//! `<name>_count` and one per bucket for `<name>_bucket` with its upper bound in `le` (cumulative counts, `+Inf`
//! last); a summary `<name>_sum`, `<name>_count` and one per quantile for `<name>` with `qt`. Exponential
//! histograms have no HEC form and are counted as refused, as are values HEC cannot take as numbers (NaN, an
//! infinity, a point without a value). With `use_multi_metric_format`, the events of one
//! time, metadata and set of fields are merged into one with a `metric_name:` field per metric.

use super::Settings;
use super::event::{Encoded, HecEvent, Metadata, float};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Metric, NumberDataPoint, metric::Data, number_data_point::Value as Number,
};
use serde_json::{Map, Value};

/// One value of a point before it is an event.
struct Sample {
    metadata: Metadata,
    time: Option<f64>,
    name: String,
    value: Value,
    fields: Map<String, Value>,
}

/// The request's points as events, each with the token it is sent with, and how many points have no HEC form.
pub(super) fn events(
    request: &ExportMetricsServiceRequest,
    settings: &Settings,
) -> (Vec<Encoded>, usize) {
    let mut samples = Vec::new();
    let mut refused = 0;
    for resource_metrics in &request.resource_metrics {
        let (metadata, fields) = settings.resource(
            resource_metrics
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes),
        );
        for metric in resource_metrics
            .scope_metrics
            .iter()
            .flat_map(|scope| &scope.metrics)
        {
            refused += samples_of(metric, &metadata, &fields, settings, &mut samples);
        }
    }
    // HEC takes a metric's value as a number alone: a point without one (no recorded value, NaN, an infinity)
    // would fail its whole request.
    let before = samples.len();
    samples.retain(|sample| sample.value.is_number());
    refused += before - samples.len();
    let samples = if settings.multi_metric {
        merged(samples)
    } else {
        samples
            .into_iter()
            .map(|sample| {
                let mut fields = sample.fields;
                fields.insert(format!("metric_name:{}", sample.name), sample.value);
                (sample.metadata, sample.time, fields)
            })
            .collect()
    };
    let events = samples
        .into_iter()
        .map(|(metadata, time, fields)| {
            let event = HecEvent::new(&metadata, time, Value::String("metric".to_owned()), fields);
            (metadata.token, event.to_json())
        })
        .collect();
    (events, refused)
}

/// Adds the samples of `metric`'s points; returns how many points have no HEC form.
fn samples_of(
    metric: &Metric,
    metadata: &Metadata,
    resource_fields: &Map<String, Value>,
    settings: &Settings,
    samples: &mut Vec<Sample>,
) -> usize {
    let base = |attributes, time_unix_nano: u64, metric_type: &str| {
        let mut metadata = metadata.clone();
        let mut fields = resource_fields.clone();
        for attribute in attributes {
            settings.keys().sort(attribute, &mut metadata, &mut fields);
        }
        fields.insert(
            "metric_type".to_owned(),
            Value::String(metric_type.to_owned()),
        );
        (metadata, super::event::seconds(time_unix_nano), fields)
    };
    let mut push = |(metadata, time, fields): (Metadata, Option<f64>, Map<String, Value>),
                    name: String,
                    value: Value,
                    extra: Option<(&str, String)>| {
        let mut fields = fields;
        if let Some((key, bound)) = extra {
            fields.insert(key.to_owned(), Value::String(bound));
        }
        samples.push(Sample {
            metadata,
            time,
            name,
            value,
            fields,
        });
    };
    let name = &metric.name;
    match &metric.data {
        Some(Data::Gauge(gauge)) => {
            for point in &gauge.data_points {
                push(
                    base(&point.attributes, point.time_unix_nano, "Gauge"),
                    name.clone(),
                    number(point),
                    None,
                );
            }
            0
        }
        Some(Data::Sum(sum)) => {
            for point in &sum.data_points {
                push(
                    base(&point.attributes, point.time_unix_nano, "Sum"),
                    name.clone(),
                    number(point),
                    None,
                );
            }
            0
        }
        Some(Data::Histogram(histogram)) => {
            for point in &histogram.data_points {
                let at = || base(&point.attributes, point.time_unix_nano, "Histogram");
                if let Some(sum) = point.sum {
                    push(at(), format!("{name}_sum"), float(sum), None);
                }
                push(
                    at(),
                    format!("{name}_count"),
                    Value::from(point.count),
                    None,
                );
                let mut cumulative = 0u64;
                for (i, count) in point.bucket_counts.iter().enumerate() {
                    cumulative = cumulative.saturating_add(*count);
                    let bound = point.explicit_bounds.get(i).map_or_else(
                        || "+Inf".to_owned(),
                        |b| otlp_ottl::Value::Double(*b).as_string().into_owned(),
                    );
                    push(
                        at(),
                        format!("{name}_bucket"),
                        Value::from(cumulative),
                        Some(("le", bound)),
                    );
                }
            }
            0
        }
        Some(Data::Summary(summary)) => {
            for point in &summary.data_points {
                let at = || base(&point.attributes, point.time_unix_nano, "Summary");
                push(at(), format!("{name}_sum"), float(point.sum), None);
                push(
                    at(),
                    format!("{name}_count"),
                    Value::from(point.count),
                    None,
                );
                for quantile in &point.quantile_values {
                    let q = otlp_ottl::Value::Double(quantile.quantile)
                        .as_string()
                        .into_owned();
                    push(at(), name.clone(), float(quantile.value), Some(("qt", q)));
                }
            }
            0
        }
        Some(Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
        None => 0,
    }
}

fn number(point: &NumberDataPoint) -> Value {
    match point.value {
        Some(Number::AsInt(i)) => Value::from(i),
        Some(Number::AsDouble(d)) => float(d),
        None => Value::Null,
    }
}

/// `use_multi_metric_format`: samples of the same metadata, time and fields as one event, in the order their first
/// sample came.
fn merged(samples: Vec<Sample>) -> Vec<(Metadata, Option<f64>, Map<String, Value>)> {
    let mut events: Vec<(Metadata, Option<f64>, Map<String, Value>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for sample in samples {
        let key = format!(
            "{:?}\u{0}{:?}\u{0}{}",
            sample.metadata,
            sample.time.map(f64::to_bits),
            Value::Object(sample.fields.clone())
        );
        let field = format!("metric_name:{}", sample.name);
        match index.get(&key) {
            Some(&at) => {
                events[at].2.insert(field, sample.value);
            }
            None => {
                index.insert(key, events.len());
                let mut fields = sample.fields;
                fields.insert(field, sample.value);
                events.push((sample.metadata, sample.time, fields));
            }
        }
    }
    events
}
