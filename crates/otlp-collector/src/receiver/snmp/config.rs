//! The `snmp` receiver's settings, with otelcol-contrib's keys: the agent and how to reach it, and which OIDs make
//! which metrics, attributes and resources.

use super::ber::Oid;
use super::usm::{Auth, Privacy};
use crate::component::Invalid;
use crate::de;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `snmp` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnmpConfig {
    /// `[udp|tcp://]host[:port]`: UDP and port 161 when not given.
    pub endpoint: String,
    /// `v1`, `v2c` or `v3`.
    pub version: String,
    /// The community string (v1 and v2c).
    pub community: String,
    /// The v3 user.
    pub user: Option<String>,
    /// v3: `no_auth_no_priv` (the default), `auth_no_priv` or `auth_priv`.
    pub security_level: Option<String>,
    /// v3: `MD5` (the default), `SHA`, `SHA224`, `SHA256`, `SHA384` or `SHA512`.
    pub auth_type: Option<String>,
    /// v3: the user's authentication password.
    pub auth_password: Option<String>,
    /// v3: `DES` (the default) or `AES` (AES-128).
    pub privacy_type: Option<String>,
    /// v3: the user's privacy password.
    pub privacy_password: Option<String>,
    /// How often the agent is asked.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first scrape runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// How long one request may wait for its answer.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Resource attributes the metrics' OIDs refer to, by name.
    pub resource_attributes: BTreeMap<String, ResourceAttributeConfig>,
    /// Attributes the metrics' OIDs refer to, by name.
    pub attributes: BTreeMap<String, AttributeConfig>,
    /// The metrics, by name.
    pub metrics: BTreeMap<String, MetricConfig>,
}

impl Default for SnmpConfig {
    fn default() -> Self {
        SnmpConfig {
            endpoint: "udp://localhost:161".to_owned(),
            version: "v2c".to_owned(),
            community: "public".to_owned(),
            user: None,
            security_level: None,
            auth_type: None,
            auth_password: None,
            privacy_type: None,
            privacy_password: None,
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            resource_attributes: BTreeMap::new(),
            attributes: BTreeMap::new(),
            metrics: BTreeMap::new(),
        }
    }
}

/// A resource attribute: exactly one of its three sources.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceAttributeConfig {
    /// A table column whose value in the metric's row is the attribute's value (a resource per row).
    pub oid: Option<String>,
    /// A scalar whose value is the attribute's value (for scalar metrics).
    pub scalar_oid: Option<String>,
    /// A prefix the metric's row index is appended to (`probe` → `probe.1`).
    pub indexed_value_prefix: Option<String>,
    /// What it means.
    pub description: Option<String>,
}

/// A data point attribute: exactly one of `oid`, `indexed_value_prefix` and `enum`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeConfig {
    /// The attribute's key when it is not the attribute's name.
    pub value: Option<String>,
    /// The values a metric's OIDs may give it, each naming its own.
    #[serde(rename = "enum")]
    pub values: Option<Vec<String>>,
    /// A table column whose value in the metric's row is the attribute's value.
    pub oid: Option<String>,
    /// A prefix the metric's row index is appended to.
    pub indexed_value_prefix: Option<String>,
    /// What it means.
    pub description: Option<String>,
}

/// A metric.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricConfig {
    /// Its unit (UCUM, `1` when unset).
    pub unit: Option<String>,
    /// What it measures.
    pub description: Option<String>,
    /// A gauge; or
    pub gauge: Option<GaugeConfig>,
    /// a sum.
    pub sum: Option<SumConfig>,
    /// Scalars, each a data point.
    pub scalar_oids: Vec<ScalarOid>,
    /// Table columns, a data point per row.
    pub column_oids: Vec<ColumnOid>,
}

/// `gauge`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaugeConfig {
    /// `int` or `double`.
    pub value_type: String,
}

impl Default for GaugeConfig {
    fn default() -> Self {
        GaugeConfig {
            value_type: "double".to_owned(),
        }
    }
}

/// `sum`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SumConfig {
    /// `cumulative` or `delta`.
    pub aggregation: String,
    /// Whether it only grows.
    pub monotonic: bool,
    /// `int` or `double`.
    pub value_type: String,
}

impl Default for SumConfig {
    fn default() -> Self {
        SumConfig {
            aggregation: "cumulative".to_owned(),
            monotonic: false,
            value_type: "double".to_owned(),
        }
    }
}

/// One scalar of a metric.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScalarOid {
    /// The scalar (ends in `.0`).
    pub oid: String,
    /// Enum attributes and the value each has on this scalar's point.
    pub attributes: Vec<AttributeRef>,
    /// `scalar_oid` resource attributes of the point's resource.
    pub resource_attributes: Vec<String>,
}

/// One column of a metric.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnOid {
    /// The column.
    pub oid: String,
    /// Attributes of its points (an enum attribute with the value it has here).
    pub attributes: Vec<AttributeRef>,
    /// Resource attributes that make a resource per row.
    pub resource_attributes: Vec<String>,
}

/// An attribute a metric's OID refers to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeRef {
    /// The attribute's name in `attributes`.
    pub name: String,
    /// For an enum attribute, which of its values.
    pub value: Option<String>,
}

/// A v3 user's name, authentication and privacy, each with its password.
pub(super) type V3Settings = (String, Option<(Auth, String)>, Option<(Privacy, String)>);

/// Where the agent is: `(host:port, over TCP)`.
pub(super) fn target(endpoint: &str) -> Result<(String, bool), String> {
    let (tcp, rest) = match endpoint.split_once("://") {
        Some(("udp" | "udp4" | "udp6", rest)) => (false, rest),
        Some(("tcp" | "tcp4" | "tcp6", rest)) => (true, rest),
        Some((scheme, _)) => {
            return Err(format!("scheme `{scheme}` is not udp or tcp"));
        }
        None => (false, endpoint),
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Err("no host".to_owned());
    }
    // `host`, `host:`, `[v6]`: port 161.
    let has_port = match rest.rsplit_once(':') {
        Some((host, port)) if !rest.ends_with(']') && !host.is_empty() && !port.is_empty() => {
            port.parse::<u16>()
                .map_err(|_| format!("port `{port}` is not a number from 1 to 65535"))?;
            true
        }
        _ => false,
    };
    let address = if has_port {
        rest.to_owned()
    } else {
        format!("{}:161", rest.trim_end_matches(':'))
    };
    Ok((address, tcp))
}

impl SnmpConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if let Err(reason) = target(&self.endpoint) {
            problems.push(Invalid::at(
                "endpoint",
                format!(
                    "`{}`: {reason}; give `[udp|tcp://]host[:port]`",
                    self.endpoint
                ),
            ));
        }
        let v3_keys = [
            ("user", &self.user),
            ("security_level", &self.security_level),
            ("auth_type", &self.auth_type),
            ("auth_password", &self.auth_password),
            ("privacy_type", &self.privacy_type),
            ("privacy_password", &self.privacy_password),
        ];
        match self.version.as_str() {
            "v1" | "v2c" => {
                for (key, value) in v3_keys {
                    if value.is_some() {
                        problems.push(Invalid::at(
                            key,
                            "is SNMPv3's: remove it, or the version is v1 or v2c",
                        ));
                    }
                }
            }
            "v3" => problems.extend(self.v3_problems()),
            other => problems.push(Invalid::at(
                "version",
                format!("`{other}` is not one of v1, v2c, v3"),
            )),
        }
        for (key, duration) in [
            ("collection_interval", self.collection_interval),
            ("timeout", self.timeout),
        ] {
            if duration.is_zero() {
                problems.push(Invalid::at(key, "must be more than 0s"));
            }
        }
        for (name, attribute) in &self.resource_attributes {
            let at = format!("resource_attributes.{name}");
            let sources = [
                &attribute.oid,
                &attribute.scalar_oid,
                &attribute.indexed_value_prefix,
            ];
            if sources.iter().filter(|s| s.is_some()).count() != 1 {
                problems.push(Invalid::at(
                    at.clone(),
                    "needs exactly one of `oid`, `scalar_oid` and `indexed_value_prefix`",
                ));
            }
            for (key, oid) in [
                ("oid", &attribute.oid),
                ("scalar_oid", &attribute.scalar_oid),
            ] {
                if let Some(Err(reason)) = oid.as_deref().map(Oid::parse) {
                    problems.push(Invalid::at(format!("{at}.{key}"), reason));
                }
            }
        }
        for (name, attribute) in &self.attributes {
            let at = format!("attributes.{name}");
            let sources = [
                attribute.values.is_some(),
                attribute.oid.is_some(),
                attribute.indexed_value_prefix.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                problems.push(Invalid::at(
                    at.clone(),
                    "needs exactly one of `enum`, `oid` and `indexed_value_prefix`",
                ));
            }
            if let Some(Err(reason)) = attribute.oid.as_deref().map(Oid::parse) {
                problems.push(Invalid::at(format!("{at}.oid"), reason));
            }
        }
        if self.metrics.is_empty() {
            problems.push(Invalid::at(
                "metrics",
                "must name at least one metric and the OIDs it is made of",
            ));
        }
        for (name, metric) in &self.metrics {
            problems.extend(self.metric_problems(name, metric));
        }
        Invalid::all(problems)
    }

    /// The user's security, as SNMPv3 settings give it: `(user, auth, privacy)`.
    pub(super) fn user_security(&self) -> Result<V3Settings, String> {
        let level = self.security_level.as_deref().unwrap_or("no_auth_no_priv");
        let (auth, privacy) = match level {
            "no_auth_no_priv" => (false, false),
            "auth_no_priv" => (true, false),
            "auth_priv" => (true, true),
            other => {
                return Err(format!(
                    "security_level: `{other}` is not one of no_auth_no_priv, auth_no_priv, auth_priv"
                ));
            }
        };
        let user = self
            .user
            .clone()
            .filter(|user| !user.is_empty())
            .ok_or("user: required with v3")?;
        let auth = if auth {
            let name = self.auth_type.as_deref().unwrap_or("MD5");
            let kind = Auth::parse(name).ok_or_else(|| {
                format!(
                    "auth_type: `{name}` is not one of MD5, SHA, SHA224, SHA256, SHA384, SHA512"
                )
            })?;
            let password = self
                .auth_password
                .clone()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| format!("auth_password: required with security_level {level}"))?;
            Some((kind, password))
        } else {
            None
        };
        let privacy = if privacy {
            let name = self.privacy_type.as_deref().unwrap_or("DES");
            let kind = Privacy::parse(name).ok_or_else(|| {
                if name.to_ascii_uppercase().starts_with("AES") {
                    format!(
                        "privacy_type: `{name}` is not supported (AES-192 and AES-256 extend keys differently \
                         from vendor to vendor): use AES (AES-128) or DES"
                    )
                } else {
                    format!("privacy_type: `{name}` is not one of DES, AES")
                }
            })?;
            let password = self
                .privacy_password
                .clone()
                .filter(|p| !p.is_empty())
                .ok_or("privacy_password: required with security_level auth_priv")?;
            Some((kind, password))
        } else {
            None
        };
        Ok((user, auth, privacy))
    }

    fn v3_problems(&self) -> Option<Invalid> {
        let error = self.user_security().err()?;
        let (key, message) = error.split_once(": ").unwrap_or(("version", &error));
        Some(Invalid::at(key, message))
    }

    fn metric_problems(&self, name: &str, metric: &MetricConfig) -> Vec<Invalid> {
        let mut problems = Vec::new();
        let at = format!("metrics.{name}");
        let value_type_problem = |key: &str, value_type: &str| {
            (!matches!(value_type, "int" | "double")).then(|| {
                Invalid::at(
                    format!("{at}.{key}.value_type"),
                    format!("`{value_type}` is not int or double"),
                )
            })
        };
        match (&metric.gauge, &metric.sum) {
            (Some(gauge), None) => problems.extend(value_type_problem("gauge", &gauge.value_type)),
            (None, Some(sum)) => {
                problems.extend(value_type_problem("sum", &sum.value_type));
                if !matches!(sum.aggregation.as_str(), "cumulative" | "delta") {
                    problems.push(Invalid::at(
                        format!("{at}.sum.aggregation"),
                        format!("`{}` is not cumulative or delta", sum.aggregation),
                    ));
                }
            }
            _ => problems.push(Invalid::at(
                at.clone(),
                "needs exactly one of `gauge` and `sum`",
            )),
        }
        if metric.scalar_oids.is_empty() && metric.column_oids.is_empty() {
            problems.push(Invalid::at(
                at.clone(),
                "needs `scalar_oids` or `column_oids`",
            ));
        }
        for (i, scalar) in metric.scalar_oids.iter().enumerate() {
            let at = format!("{at}.scalar_oids[{i}]");
            if let Err(reason) = Oid::parse(&scalar.oid) {
                problems.push(Invalid::at(format!("{at}.oid"), reason));
            }
            for (j, reference) in scalar.attributes.iter().enumerate() {
                let at = format!("{at}.attributes[{j}]");
                match self.attributes.get(&reference.name) {
                    None => problems.push(self.unknown_attribute(&at, &reference.name)),
                    Some(attribute) => match &attribute.values {
                        None => problems.push(Invalid::at(
                            format!("{at}.name"),
                            format!(
                                "`{}` is not an enum attribute: a scalar has no row to index",
                                reference.name
                            ),
                        )),
                        Some(values) => problems.extend(enum_value_problem(&at, reference, values)),
                    },
                }
            }
            for (j, name) in scalar.resource_attributes.iter().enumerate() {
                let at = format!("{at}.resource_attributes[{j}]");
                match self.resource_attributes.get(name) {
                    None => problems.push(self.unknown_resource_attribute(&at, name)),
                    Some(attribute) if attribute.scalar_oid.is_none() => problems.push(Invalid::at(
                        at,
                        format!("`{name}` is not a `scalar_oid` resource attribute: a scalar has no row to index"),
                    )),
                    Some(_) => {}
                }
            }
        }
        for (i, column) in metric.column_oids.iter().enumerate() {
            let at = format!("{at}.column_oids[{i}]");
            if let Err(reason) = Oid::parse(&column.oid) {
                problems.push(Invalid::at(format!("{at}.oid"), reason));
            }
            for (j, reference) in column.attributes.iter().enumerate() {
                let at = format!("{at}.attributes[{j}]");
                match self.attributes.get(&reference.name) {
                    None => problems.push(self.unknown_attribute(&at, &reference.name)),
                    Some(AttributeConfig {
                        values: Some(values),
                        ..
                    }) => problems.extend(enum_value_problem(&at, reference, values)),
                    Some(_) => {}
                }
            }
            for (j, name) in column.resource_attributes.iter().enumerate() {
                if !self.resource_attributes.contains_key(name) {
                    problems.push(self.unknown_resource_attribute(
                        &format!("{at}.resource_attributes[{j}]"),
                        name,
                    ));
                }
            }
        }
        problems
    }

    fn unknown_attribute(&self, at: &str, name: &str) -> Invalid {
        let known: Vec<&str> = self.attributes.keys().map(String::as_str).collect();
        Invalid::at(
            format!("{at}.name"),
            format!(
                "there is no attribute `{name}` in `attributes` (there: {})",
                list(&known)
            ),
        )
    }

    fn unknown_resource_attribute(&self, at: &str, name: &str) -> Invalid {
        let known: Vec<&str> = self
            .resource_attributes
            .keys()
            .map(String::as_str)
            .collect();
        Invalid::at(
            at.to_owned(),
            format!(
                "there is no resource attribute `{name}` in `resource_attributes` (there: {})",
                list(&known)
            ),
        )
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn enum_value_problem(at: &str, reference: &AttributeRef, values: &[String]) -> Option<Invalid> {
    match &reference.value {
        Some(value) if values.contains(value) => None,
        Some(value) => Some(Invalid::at(
            format!("{at}.value"),
            format!(
                "`{value}` is not one of `{}`'s values: {}",
                reference.name,
                values.join(", ")
            ),
        )),
        None => Some(Invalid::at(
            format!("{at}.value"),
            format!(
                "`{}` is an enum attribute: say which of its values ({})",
                reference.name,
                values.join(", ")
            ),
        )),
    }
}
