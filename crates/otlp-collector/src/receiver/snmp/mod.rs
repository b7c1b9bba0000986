//! The `snmp` receiver (otelcol-contrib's): metrics polled from an SNMP agent (a switch, a router, a UPS, a
//! printer, `snmpd` on a host), every `collection_interval`, as the config maps OIDs to metrics.
//!
//! ```yaml
//! receivers:
//!   snmp:
//!     endpoint: udp://switch-1:161
//!     version: v2c
//!     community: public
//!     resource_attributes:
//!       interface.name: { oid: "1.3.6.1.2.1.31.1.1.1.1" }    # IF-MIB::ifName
//!     attributes:
//!       direction: { enum: [received, sent] }
//!     metrics:
//!       network.io:
//!         unit: By
//!         sum: { aggregation: cumulative, monotonic: true, value_type: int }
//!         column_oids:
//!           - oid: "1.3.6.1.2.1.31.1.1.1.6"                    # ifHCInOctets
//!             attributes: [{ name: direction, value: received }]
//!             resource_attributes: [interface.name]
//!           - oid: "1.3.6.1.2.1.31.1.1.1.10"                   # ifHCOutOctets
//!             attributes: [{ name: direction, value: sent }]
//!             resource_attributes: [interface.name]
//! ```
//!
//! Each scrape asks the agent (`client.rs`, BER in `ber.rs`; SNMPv3's messages in `v3.rs` and its user-based
//! security in `usm.rs`) for every scalar in `GET`s and walks every column (the metrics', and those of attributes
//! and resource attributes). As otelcol's:
//!
//! - a scalar OID is a data point of its metric, its enum attributes set as the OID says, on the resource of its
//!   `scalar_oid` resource attributes (the agent's values of those scalars), else on a resource with no attributes;
//! - a column OID is a data point per row, its attributes the value of an attribute column in the same row, an
//!   `indexed_value_prefix` followed by the row's index (`port` → `port.3`), or an enum value; with resource
//!   attributes (same sources, or scalars), the row's point goes to the resource they make;
//! - an attribute's key is its `value` when set, else its name;
//! - values are the metric's `int` or `double`, from any numeric type; a text value cannot be a metric's and is
//!   logged. Sums start when the receiver started (cumulative) or at the previous scrape (delta).
//!
//! A variable the agent does not have, a row whose attribute has no value, or an agent that does not answer is
//! logged, and the rest is reported.

mod ber;
mod client;
mod config;
mod usm;
mod v3;

pub use config::{
    AttributeConfig, AttributeRef, ColumnOid, GaugeConfig, MetricConfig, ResourceAttributeConfig,
    ScalarOid, SnmpConfig, SumConfig,
};

use super::RunningReceiver;
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use ber::{Oid, Value, Version};
use client::{Client, Security};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// The `snmp` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = SnmpConfig;
    const TYPE: &'static str = "snmp";

    fn validate(&self, config: &SnmpConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &SnmpConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let (address, tcp) =
            config::target(&config.endpoint).map_err(|e| context.start_error(e))?;
        let plan = Plan::new(config).map_err(|e| context.start_error(e))?;
        let now = crate::clock::now_nanos();
        let security = match config.version.as_str() {
            "v1" => Security::Community(Version::V1, config.community.clone()),
            "v3" => {
                let (user, auth, privacy) =
                    config.user_security().map_err(|e| context.start_error(e))?;
                Security::User(Box::new(v3::UserSecurity::new(user, auth, privacy)))
            }
            _ => Security::Community(Version::V2c, config.community.clone()),
        };
        let scraper = SnmpScraper {
            address,
            tcp,
            security,
            timeout: config.timeout,
            plan,
            start: now,
            previous: now,
            id: context.id.clone(),
        };
        Ok(scraper::start(
            context,
            config.collection_interval,
            config.initial_delay,
            scraper,
        ))
    }
}

/// Where a (resource) attribute's value comes from.
#[derive(Debug, Clone)]
enum Source {
    /// The value of this column in the point's row.
    Column(Oid),
    /// The value of this scalar.
    Scalar(Oid),
    /// This prefix and the point's row index.
    Prefix(String),
    /// This value, always (an enum attribute as the OID sets it).
    Fixed(String),
}

/// A (resource) attribute of a point: its key and where its value comes from.
#[derive(Debug, Clone)]
struct Part {
    key: String,
    source: Source,
}

/// An OID of a metric and what its points carry.
#[derive(Debug, Clone)]
struct Input {
    oid: Oid,
    metric: usize,
    attributes: Vec<Part>,
    resource: Vec<Part>,
}

/// A metric's kind, unit and value type.
#[derive(Debug, Clone)]
struct Shape {
    name: String,
    description: String,
    unit: String,
    int: bool,
    /// `Some((cumulative, monotonic))` for a sum.
    sum: Option<(bool, bool)>,
}

/// What to ask the agent and how answers become points, resolved from the config once.
#[derive(Debug, Clone)]
struct Plan {
    shapes: Vec<Shape>,
    scalars: Vec<Input>,
    columns: Vec<Input>,
}

impl Plan {
    fn new(config: &SnmpConfig) -> Result<Plan, String> {
        let parse = |text: &str| Oid::parse(text);
        let attribute = |reference: &AttributeRef| -> Result<Part, String> {
            let attribute = config
                .attributes
                .get(&reference.name)
                .ok_or_else(|| format!("no attribute `{}`", reference.name))?;
            let source = match (&attribute.oid, &attribute.indexed_value_prefix) {
                (Some(oid), _) => Source::Column(parse(oid)?),
                (None, Some(prefix)) => Source::Prefix(prefix.clone()),
                (None, None) => Source::Fixed(reference.value.clone().unwrap_or_default()),
            };
            Ok(Part {
                key: attribute
                    .value
                    .clone()
                    .filter(|key| !key.is_empty())
                    .unwrap_or_else(|| reference.name.clone()),
                source,
            })
        };
        let resource_attribute = |name: &String| -> Result<Part, String> {
            let attribute = config
                .resource_attributes
                .get(name)
                .ok_or_else(|| format!("no resource attribute `{name}`"))?;
            let source = match (
                &attribute.oid,
                &attribute.scalar_oid,
                &attribute.indexed_value_prefix,
            ) {
                (Some(oid), _, _) => Source::Column(parse(oid)?),
                (None, Some(oid), _) => Source::Scalar(parse(oid)?),
                (None, None, Some(prefix)) => Source::Prefix(prefix.clone()),
                (None, None, None) => {
                    return Err(format!("resource attribute `{name}` has no source"));
                }
            };
            Ok(Part {
                key: name.clone(),
                source,
            })
        };
        let mut plan = Plan {
            shapes: Vec::new(),
            scalars: Vec::new(),
            columns: Vec::new(),
        };
        for (metric, (name, config)) in config.metrics.iter().enumerate() {
            let (int, sum) = match (&config.gauge, &config.sum) {
                (Some(gauge), _) => (gauge.value_type == "int", None),
                (None, Some(sum)) => (
                    sum.value_type == "int",
                    Some((sum.aggregation != "delta", sum.monotonic)),
                ),
                (None, None) => {
                    return Err(format!("metric `{name}` is neither a gauge nor a sum"));
                }
            };
            plan.shapes.push(Shape {
                name: name.clone(),
                description: config.description.clone().unwrap_or_default(),
                unit: config.unit.clone().unwrap_or_else(|| "1".to_owned()),
                int,
                sum,
            });
            for scalar in &config.scalar_oids {
                plan.scalars.push(Input {
                    oid: parse(&scalar.oid)?,
                    metric,
                    attributes: scalar
                        .attributes
                        .iter()
                        .map(attribute)
                        .collect::<Result<_, _>>()?,
                    resource: scalar
                        .resource_attributes
                        .iter()
                        .map(resource_attribute)
                        .collect::<Result<_, _>>()?,
                });
            }
            for column in &config.column_oids {
                plan.columns.push(Input {
                    oid: parse(&column.oid)?,
                    metric,
                    attributes: column
                        .attributes
                        .iter()
                        .map(attribute)
                        .collect::<Result<_, _>>()?,
                    resource: column
                        .resource_attributes
                        .iter()
                        .map(resource_attribute)
                        .collect::<Result<_, _>>()?,
                });
            }
        }
        Ok(plan)
    }

    /// Every scalar to `GET`: the metrics' and those of their resource attributes.
    fn scalar_oids(&self) -> Vec<Oid> {
        let of_parts = self
            .scalars
            .iter()
            .chain(&self.columns)
            .flat_map(|input| input.attributes.iter().chain(&input.resource))
            .filter_map(|part| match &part.source {
                Source::Scalar(oid) => Some(oid.clone()),
                _ => None,
            });
        let oids: BTreeSet<Oid> = self
            .scalars
            .iter()
            .map(|input| input.oid.clone())
            .chain(of_parts)
            .collect();
        oids.into_iter().collect()
    }

    /// Every column to walk: the metrics' and those of their (resource) attributes.
    fn column_oids(&self) -> Vec<Oid> {
        let mut oids = BTreeSet::new();
        for input in &self.columns {
            oids.insert(input.oid.clone());
            for part in input.attributes.iter().chain(&input.resource) {
                if let Source::Column(oid) = &part.source {
                    oids.insert(oid.clone());
                }
            }
        }
        oids.into_iter().collect()
    }
}

/// A value as an attribute's text, as otelcol writes it (floats with two decimals).
fn text(value: &Value) -> Option<String> {
    Some(match value {
        Value::Text(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::Integer(n) => n.to_string(),
        Value::Unsigned(n) => n.to_string(),
        Value::Float(f) => format!("{f:.2}"),
        Value::IpAddress([a, b, c, d]) => format!("{a}.{b}.{c}.{d}"),
        Value::Oid(oid) => oid.to_string(),
        Value::Null | Value::NoSuch | Value::EndOfMibView | Value::Other(_) => return None,
    })
}

/// What one scrape read: scalars by OID, and each column's rows by index.
#[derive(Default)]
struct Read {
    scalars: HashMap<Oid, Value>,
    columns: HashMap<Oid, Vec<(String, Value)>>,
}

impl Read {
    fn column_value(&self, column: &Oid, index: &str) -> Option<String> {
        self.columns
            .get(column)?
            .iter()
            .find(|(row, _)| row == index)
            .and_then(|(_, value)| text(value))
    }

    /// The parts' values for the row `index` (`None` for a scalar's point), or the first part without one.
    fn resolve(&self, parts: &[Part], index: Option<&str>) -> Result<Attributes, String> {
        parts
            .iter()
            .map(|part| {
                let value = match (&part.source, index) {
                    (Source::Fixed(value), _) => Some(value.clone()),
                    (Source::Scalar(oid), _) => self.scalars.get(oid).and_then(text),
                    (Source::Prefix(prefix), Some(index)) => Some(format!("{prefix}{index}")),
                    (Source::Column(oid), Some(index)) => self.column_value(oid, index),
                    (Source::Prefix(_) | Source::Column(_), None) => None,
                };
                value
                    .filter(|value| !value.is_empty())
                    .map(|value| (part.key.clone(), value))
                    .ok_or_else(|| format!("`{}` has no value", part.key))
            })
            .collect()
    }
}

struct SnmpScraper {
    address: String,
    tcp: bool,
    /// Kept across scrapes: a v3 user's keys are made once for the agent's engine.
    security: Security,
    timeout: Duration,
    plan: Plan,
    start: u64,
    previous: u64,
    id: String,
}

/// Attribute keys and values, in order.
type Attributes = Vec<(String, String)>;

/// The metrics being built: resources (by their attributes) in the order they first appear, each with its
/// metrics (by their index in the plan) in the same way.
#[derive(Default)]
struct Output {
    resources: Vec<(Attributes, Vec<(usize, Metric)>)>,
}

impl Output {
    /// Adds `point` to metric `index` (of `shape`) on the resource `resource`.
    fn add(&mut self, resource: Attributes, index: usize, shape: &Shape, point: NumberDataPoint) {
        let at = match self.resources.iter().position(|(key, _)| *key == resource) {
            Some(at) => at,
            None => {
                self.resources.push((resource, Vec::new()));
                self.resources.len() - 1
            }
        };
        let metrics = &mut self.resources[at].1;
        let at_metric = match metrics.iter().position(|(i, _)| *i == index) {
            Some(found) => found,
            None => {
                let data = match shape.sum {
                    None => metric::Data::Gauge(Gauge::default()),
                    Some((cumulative, monotonic)) => metric::Data::Sum(Sum {
                        aggregation_temporality: if cumulative {
                            AggregationTemporality::Cumulative
                        } else {
                            AggregationTemporality::Delta
                        } as i32,
                        is_monotonic: monotonic,
                        ..Default::default()
                    }),
                };
                metrics.push((
                    index,
                    Metric {
                        name: shape.name.clone(),
                        description: shape.description.clone(),
                        unit: shape.unit.clone(),
                        data: Some(data),
                        ..Default::default()
                    },
                ));
                metrics.len() - 1
            }
        };
        let metric = &mut metrics[at_metric].1;
        match &mut metric.data {
            Some(metric::Data::Gauge(gauge)) => gauge.data_points.push(point),
            Some(metric::Data::Sum(sum)) => sum.data_points.push(point),
            _ => {}
        }
    }

    fn finish(self) -> Option<ExportMetricsServiceRequest> {
        let resource_metrics: Vec<_> = self
            .resources
            .into_iter()
            .map(|(attributes, metrics)| {
                let resource = Resource {
                    attributes: attributes
                        .into_iter()
                        .map(|(k, v)| key_value(k, string_value(v)))
                        .collect::<Vec<KeyValue>>(),
                    ..Default::default()
                };
                scraper::resource_metrics(
                    resource,
                    "receiver/snmpreceiver",
                    metrics.into_iter().map(|(_, metric)| metric).collect(),
                )
            })
            .collect();
        (!resource_metrics.is_empty()).then_some(ExportMetricsServiceRequest { resource_metrics })
    }
}

impl SnmpScraper {
    async fn read(&mut self) -> Result<(Read, Vec<String>), String> {
        let mut client = Client::connect(&self.address, self.tcp, self.timeout).await?;
        let mut missing = Vec::new();
        let mut read = Read::default();
        let scalars = self.plan.scalar_oids();
        if !scalars.is_empty() {
            read.scalars = client
                .get(&mut self.security, &scalars, &mut missing)
                .await?
                .into_iter()
                .collect();
        }
        for column in self.plan.column_oids() {
            let rows = client.walk(&mut self.security, &column).await?;
            if rows.is_empty() {
                missing.push(column.to_string());
            }
            let rows = rows
                .into_iter()
                .map(|(oid, value)| (oid.index_after(&column), value))
                .collect();
            read.columns.insert(column, rows);
        }
        Ok((read, missing))
    }

    /// A data point of `input`'s metric with `value`, or why it cannot be one.
    fn point(
        &self,
        input: &Input,
        value: &Value,
        attributes: Attributes,
        now: u64,
    ) -> Result<NumberDataPoint, String> {
        let shape = &self.plan.shapes[input.metric];
        let value = match (value, shape.int) {
            (Value::Integer(n), true) => number_data_point::Value::AsInt(*n),
            (Value::Unsigned(n), true) => {
                number_data_point::Value::AsInt(i64::try_from(*n).unwrap_or(i64::MAX))
            }
            (Value::Float(f), true) => number_data_point::Value::AsInt(*f as i64),
            (Value::Integer(n), false) => number_data_point::Value::AsDouble(*n as f64),
            (Value::Unsigned(n), false) => number_data_point::Value::AsDouble(*n as f64),
            (Value::Float(f), false) => number_data_point::Value::AsDouble(*f),
            (other, _) => {
                return Err(format!(
                    "{} is not a number, so it cannot be a point of `{}`",
                    text(other).map_or_else(|| format!("{other:?}"), |t| format!("`{t}`")),
                    shape.name
                ));
            }
        };
        let start = match shape.sum {
            Some((true, _)) => self.start,
            Some((false, _)) => self.previous,
            None => 0,
        };
        Ok(NumberDataPoint {
            attributes: attributes
                .into_iter()
                .map(|(k, v)| key_value(k, string_value(v)))
                .collect(),
            start_time_unix_nano: start,
            time_unix_nano: now,
            value: Some(value),
            ..Default::default()
        })
    }

    /// The metrics of what was read, and what could not be made of it.
    fn build(&self, read: &Read, now: u64) -> (Output, Vec<String>) {
        let mut out = Output::default();
        let mut problems = Vec::new();
        // A scalar's value (no row index), then each row of each column.
        let scalars = self.plan.scalars.iter().filter_map(|input| {
            let value = read.scalars.get(&input.oid)?;
            Some((input, None, value))
        });
        let rows = self.plan.columns.iter().flat_map(|input| {
            read.columns
                .get(&input.oid)
                .into_iter()
                .flatten()
                .map(move |(index, value)| (input, Some(index.as_str()), value))
        });
        for (input, index, value) in scalars.chain(rows) {
            let made = read
                .resolve(&input.attributes, index)
                .and_then(|attributes| Ok((attributes, read.resolve(&input.resource, index)?)))
                .and_then(|(attributes, resource)| {
                    Ok((self.point(input, value, attributes, now)?, resource))
                });
            match made {
                Ok((point, resource)) => out.add(
                    resource,
                    input.metric,
                    &self.plan.shapes[input.metric],
                    point,
                ),
                Err(problem) => {
                    problems.push(format!("{}{}: {problem}", input.oid, index.unwrap_or("")))
                }
            }
        }
        (out, problems)
    }
}

impl Scrape for SnmpScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let (read, missing) = match self.read().await {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(receiver = %self.id, agent = %self.address, %error, "the SNMP agent could not be read");
                return None;
            }
        };
        if !missing.is_empty() {
            tracing::warn!(receiver = %self.id, agent = %self.address, oids = ?missing, "the agent has no such variables");
        }
        let now = crate::clock::now_nanos();
        let (out, problems) = self.build(&read, now);
        if !problems.is_empty() {
            tracing::warn!(receiver = %self.id, agent = %self.address, ?problems, "values left out");
        }
        self.previous = now;
        out.finish()
    }
}

#[cfg(test)]
mod tests;
