//! What every scraper builds its metrics with: the metric each one may emit (name, unit, kind, enabled by default,
//! as otelcol's generated `documentation.md` lists them), which are enabled, and OTLP points with attributes.

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, Sum, metric::Data, number_data_point,
};
use std::collections::BTreeMap;

/// How a metric's points aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A cumulative monotonic sum since boot (a counter).
    Counter,
    /// A cumulative non-monotonic sum (a level: bytes in use).
    UpDown,
    Gauge,
}

/// A metric a scraper may emit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) kind: Kind,
    /// Emitted unless `metrics: { <name>: { enabled: false } }`.
    pub(crate) default: bool,
}

/// When and since when a scrape measures: the point's time, and the start of cumulative sums (the host's boot for
/// `hostmetrics`, the server's start for a service's receiver).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub(crate) now: u64,
    pub(crate) start: u64,
}

/// The metrics of one scraper that its `metrics` settings leave enabled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Enabled(BTreeMap<&'static str, bool>);

impl Enabled {
    /// `specs` each as `toggles` says, else as its default.
    pub(crate) fn new(specs: &[Spec], toggles: &BTreeMap<String, Toggle>) -> Self {
        Enabled(
            specs
                .iter()
                .map(|spec| {
                    let on = toggles.get(spec.name).map_or(spec.default, |t| t.enabled);
                    (spec.name, on)
                })
                .collect(),
        )
    }

    pub(crate) fn on(&self, name: &str) -> bool {
        self.0.get(name).copied().unwrap_or(false)
    }
}

/// `metrics: { <name>: { enabled: true } }`.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    /// Whether the metric is emitted.
    pub enabled: bool,
}

/// Collects the points of a scrape by metric, in the order of `specs`, leaving out disabled metrics.
pub(crate) struct Builder<'a> {
    specs: &'a [Spec],
    enabled: &'a Enabled,
    clock: Clock,
    points: BTreeMap<&'static str, Vec<NumberDataPoint>>,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(specs: &'a [Spec], enabled: &'a Enabled, clock: Clock) -> Self {
        Builder {
            specs,
            enabled,
            clock,
            points: BTreeMap::new(),
        }
    }

    /// Points recorded from now on are of time `now` (a check's own moment, in a scrape of several).
    pub(crate) fn at(&mut self, now: u64) {
        self.clock.now = now;
    }

    /// Whether `name` is enabled: a scraper skips reading what no enabled metric needs.
    pub(crate) fn wants(&self, name: &str) -> bool {
        self.enabled.on(name)
    }

    pub(crate) fn int(&mut self, name: &'static str, value: i64, attributes: &[(&str, &str)]) {
        self.record(
            name,
            number_data_point::Value::AsInt(value),
            strings(attributes),
        );
    }

    pub(crate) fn double(&mut self, name: &'static str, value: f64, attributes: &[(&str, &str)]) {
        self.record(
            name,
            number_data_point::Value::AsDouble(value),
            strings(attributes),
        );
    }

    /// A point whose attributes are not all strings (`http.status_code`).
    pub(crate) fn record(
        &mut self,
        name: &'static str,
        value: number_data_point::Value,
        attributes: Vec<KeyValue>,
    ) {
        if !self.wants(name) {
            return;
        }
        let Some(spec) = self.specs.iter().find(|spec| spec.name == name) else {
            return;
        };
        let start = match spec.kind {
            Kind::Gauge => 0,
            Kind::Counter | Kind::UpDown => self.clock.start,
        };
        self.points.entry(name).or_default().push(NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: self.clock.now,
            value: Some(value),
            ..Default::default()
        });
    }

    /// The metrics with at least one point.
    pub(crate) fn finish(mut self) -> Vec<Metric> {
        let cumulative = AggregationTemporality::Cumulative as i32;
        self.specs
            .iter()
            .filter_map(|spec| {
                let data_points = self.points.remove(spec.name)?;
                let data = match spec.kind {
                    Kind::Gauge => Data::Gauge(Gauge { data_points }),
                    Kind::Counter | Kind::UpDown => Data::Sum(Sum {
                        data_points,
                        aggregation_temporality: cumulative,
                        is_monotonic: spec.kind == Kind::Counter,
                    }),
                };
                Some(Metric {
                    name: spec.name.to_owned(),
                    description: spec.description.to_owned(),
                    unit: spec.unit.to_owned(),
                    data: Some(data),
                    ..Default::default()
                })
            })
            .collect()
    }
}

fn strings(attributes: &[(&str, &str)]) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|(k, v)| otlp_ottl::key_value(*k, otlp_ottl::string_value(*v)))
        .collect()
}

/// A problem for each toggle in `toggles` (at `<at>.<name>`) that names no metric of `specs`, listing those it has.
pub(crate) fn unknown_toggles(
    at: &str,
    specs: &[Spec],
    toggles: &BTreeMap<String, Toggle>,
) -> Vec<crate::component::Invalid> {
    toggles
        .keys()
        .filter(|name| !specs.iter().any(|spec| spec.name == name.as_str()))
        .map(|name| {
            let known: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
            crate::component::Invalid::at(
                format!("{at}.{name}"),
                format!(
                    "there is no metric `{name}` here; there are: {}",
                    known.join(", ")
                ),
            )
        })
        .collect()
}

/// A resource attribute a scraper may set, and whether it is set unless `resource_attributes` says otherwise.
pub(crate) type ResourceAttribute = (&'static str, bool);

/// Whether `resource_attributes` (`<name>: { enabled: bool }`) leaves resource attribute `name` of `known` on.
pub(crate) fn resource_attribute_on(
    known: &[ResourceAttribute],
    toggles: &BTreeMap<String, Toggle>,
    name: &str,
) -> bool {
    let default = known.iter().any(|(known, on)| *known == name && *on);
    toggles.get(name).map_or(default, |toggle| toggle.enabled)
}

/// A problem for each toggle in `toggles` (at `resource_attributes.<name>`) that names no resource attribute of
/// `known`, listing those there are.
pub(crate) fn unknown_resource_toggles(
    known: &[ResourceAttribute],
    toggles: &BTreeMap<String, Toggle>,
) -> Vec<crate::component::Invalid> {
    toggles
        .keys()
        .filter(|name| !known.iter().any(|(known, _)| known == name))
        .map(|name| {
            let names: Vec<&str> = known.iter().map(|(name, _)| *name).collect();
            crate::component::Invalid::at(
                format!("resource_attributes.{name}"),
                format!(
                    "there is no resource attribute `{name}` here; there are: {}",
                    names.join(", ")
                ),
            )
        })
        .collect()
}
