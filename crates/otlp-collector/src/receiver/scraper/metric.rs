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

impl Spec {
    /// A metric of `kind`, emitted by default or not as `default` says.
    pub(crate) const fn new(
        name: &'static str,
        description: &'static str,
        unit: &'static str,
        kind: Kind,
        default: bool,
    ) -> Spec {
        Spec {
            name,
            description,
            unit,
            kind,
            default,
        }
    }

    /// A metric emitted unless toggled off.
    pub(crate) const fn on(
        name: &'static str,
        description: &'static str,
        unit: &'static str,
        kind: Kind,
    ) -> Spec {
        Spec::new(name, description, unit, kind, true)
    }
}

/// A field of a server's status (memcached's `stats`, Apache's page) and the point it becomes: the field's name,
/// the metric's name and the point's attributes.
pub(crate) type FieldPoint = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

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

    /// A whole-number point for each of `table` whose field `fields` has; a field that is not a whole number is
    /// named (with its text) in `unreadable` and left out.
    pub(crate) fn ints(
        &mut self,
        fields: &BTreeMap<&str, &str>,
        table: &[FieldPoint],
        unreadable: &mut Vec<String>,
    ) {
        for (field, name, attributes) in table {
            match fields.get(field).map(|text| text.parse::<i64>()) {
                Some(Ok(value)) => self.int(name, value, attributes),
                Some(Err(_)) => unreadable.push(format!("{field}: {}", fields[field])),
                None => {}
            }
        }
    }

    /// A decimal point for each of `table` whose field `fields` has; a field that is not a finite number is named
    /// (with its text) in `unreadable` and left out.
    pub(crate) fn doubles(
        &mut self,
        fields: &BTreeMap<&str, &str>,
        table: &[FieldPoint],
        unreadable: &mut Vec<String>,
    ) {
        for (field, name, attributes) in table {
            match fields.get(field).map(|text| text.parse::<f64>()) {
                Some(Ok(value)) if value.is_finite() => self.double(name, value, attributes),
                Some(_) => unreadable.push(format!("{field}: {}", fields[field])),
                None => {}
            }
        }
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

/// The log events otelcol's database receivers (`postgresql`, `mysql`) can emit, which ours do not.
const DATABASE_EVENTS: &[&str] = &["db.server.query_sample", "db.server.top_query"];

/// A problem for each toggle in `toggles` (`events: { <name>: { enabled: bool } }`) that names none of otelcol's
/// database log events or turns one on: configs brought over may turn them off, not on.
pub(crate) fn only_disabled_events(
    toggles: &BTreeMap<String, Toggle>,
) -> Vec<crate::component::Invalid> {
    let known = DATABASE_EVENTS;
    toggles
        .iter()
        .filter_map(|(name, toggle)| {
            if !known.contains(&name.as_str()) {
                Some(crate::component::Invalid::at(
                    format!("events.{name}"),
                    format!("there is no event `{name}`; otelcol's are {}", known.join(", ")),
                ))
            } else if toggle.enabled {
                Some(crate::component::Invalid::at(
                    format!("events.{name}"),
                    "log events are not produced by this receiver; only `enabled: false` is accepted",
                ))
            } else {
                None
            }
        })
        .collect()
}

/// The reader of otelcol's `query_sample_collection` and `top_query_collection` keys (settings of log events
/// our database receivers do not produce): refuses them, saying why.
pub(crate) fn refuse_events<'de, D: serde::Deserializer<'de>>(
    _: D,
) -> Result<crate::de::Refused, D::Error> {
    crate::de::refuse::<D>(
        "query samples and top queries are log events, which this receiver does not produce; it reports the \
         server's statistics as metrics",
    )
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

/// The metrics of `specs` enabled as `toggles` (name, enabled) say, else by default; a test's `metrics:`.
#[cfg(test)]
pub(crate) fn enabled_with(specs: &[Spec], toggles: &[(&str, bool)]) -> Enabled {
    let toggles: BTreeMap<String, Toggle> = toggles
        .iter()
        .map(|(name, enabled)| (name.to_string(), Toggle { enabled: *enabled }))
        .collect();
    Enabled::new(specs, &toggles)
}

/// Each point of the metric `name` of `metrics` as its attributes (`key=value` in their order, joined by `,`) and
/// its value; a test's view of what a scraper recorded.
#[cfg(test)]
pub(crate) fn labelled_points(
    metrics: &[opentelemetry_proto::tonic::metrics::v1::Metric],
    name: &str,
) -> Vec<(String, f64)> {
    let metric = metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name}"));
    let points: &[NumberDataPoint] = match &metric.data {
        Some(Data::Sum(sum)) => &sum.data_points,
        Some(Data::Gauge(gauge)) => &gauge.data_points,
        other => panic!("{other:?}"),
    };
    points
        .iter()
        .map(|p| {
            let attributes: Vec<String> = p
                .attributes
                .iter()
                .map(|kv| match &kv.value.as_ref().unwrap().value {
                    Some(
                        opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s),
                    ) => format!("{}={s}", kv.key),
                    other => format!("{}={other:?}", kv.key),
                })
                .collect();
            let value = match p.value {
                Some(number_data_point::Value::AsInt(v)) => v as f64,
                Some(number_data_point::Value::AsDouble(v)) => v,
                None => f64::NAN,
            };
            (attributes.join(","), value)
        })
        .collect()
}

/// Asserts that `request` is one scope of otelcol's receiver `receiver` (`memcachedreceiver`) holding every metric of
/// `specs`, in their order (otelcol's `metadata.yaml` order), and returns its metrics.
#[cfg(test)]
pub(crate) fn assert_every_metric<'a>(
    request: &'a opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
    receiver: &str,
    specs: &[Spec],
) -> &'a [Metric] {
    let scope = &request.resource_metrics[0].scope_metrics[0];
    let name = &scope.scope.as_ref().expect("a scope").name;
    assert!(name.ends_with(&format!("/receiver/{receiver}")), "{name}");
    let names: Vec<&str> = scope.metrics.iter().map(|m| m.name.as_str()).collect();
    let expected: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
    assert_eq!(names, expected, "every metric, in otelcol's order");
    &scope.metrics
}
