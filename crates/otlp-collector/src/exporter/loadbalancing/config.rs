//! The `loadbalancing` exporter's settings: otelcol's keys (`routing_key`, `routing_attributes`, `protocol.otlp`,
//! `resolver.static` / `resolver.dns`, `sending_queue`, `retry_on_failure`, `timeout`) and our `outlier_detection`.

use crate::de;
use crate::exporter::otlp::{OtlpGrpcExporterConfig, grpc_endpoint};
use crate::exporter::{HelperSettings, QueueConfig, RetryConfig};
use otlp_lb::health::OutlierDetection;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// The port otelcol gives a static hostname without one, and DNS endpoints by default: OTLP/gRPC's.
pub(super) const DEFAULT_PORT: u16 = 4317;

/// What an item is routed by: every item with the same key goes to the same backend while membership is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RoutingKey {
    /// The trace id (spans, and log records that carry one): every span of a trace goes to one backend.
    #[serde(rename = "traceID")]
    TraceId,
    /// The resource's `service.name`.
    #[serde(rename = "service")]
    Service,
    /// The resource's whole identity (all its attributes).
    #[serde(rename = "resource")]
    Resource,
    /// The metric's name (metrics only).
    #[serde(rename = "metric")]
    Metric,
    /// The metric stream: resource, scope, metric identity and data point attributes (metrics only).
    #[serde(rename = "streamID")]
    StreamId,
    /// The values of `routing_attributes`, looked up on the resource, then the scope, then the item.
    #[serde(rename = "attributes")]
    Attributes,
}

impl RoutingKey {
    /// The name configs use.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingKey::TraceId => "traceID",
            RoutingKey::Service => "service",
            RoutingKey::Resource => "resource",
            RoutingKey::Metric => "metric",
            RoutingKey::StreamId => "streamID",
            RoutingKey::Attributes => "attributes",
        }
    }
}

/// `protocol`: how backends are spoken to. Only OTLP/gRPC, as in otelcol.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolConfig {
    /// The `otlp` exporter's settings without `endpoint` (it comes from the resolver).
    #[serde(default)]
    pub otlp: OtlpProtocol,
}

/// `protocol.otlp`: the `otlp` exporter's settings, minus `endpoint`. Parsed by the `otlp` exporter's own config
/// type, so every key it accepts is accepted here and nothing else.
#[derive(Debug, Clone)]
pub struct OtlpProtocol {
    /// The settings, with a placeholder endpoint that each backend replaces.
    pub settings: OtlpGrpcExporterConfig,
    /// Whether `sending_queue` was given here (it is used when the exporter has none of its own).
    pub sending_queue_set: bool,
    /// Whether `retry_on_failure` was given here (likewise).
    pub retry_on_failure_set: bool,
}

/// What `endpoint` holds until a backend's address replaces it.
const NO_ENDPOINT: &str = "resolver:4317";

impl Default for OtlpProtocol {
    fn default() -> Self {
        OtlpProtocol {
            settings: OtlpGrpcExporterConfig::with_endpoint(NO_ENDPOINT),
            sending_queue_set: false,
            retry_on_failure_set: false,
        }
    }
}

impl OtlpProtocol {
    fn from_mapping(mut mapping: serde_norway::Mapping) -> Result<Self, String> {
        let endpoint = serde_norway::Value::from("endpoint");
        if mapping.contains_key(&endpoint) {
            return Err(
                "`endpoint` is not set here: each backend's address comes from the resolver".into(),
            );
        }
        let sending_queue_set = mapping.contains_key("sending_queue");
        let retry_on_failure_set = mapping.contains_key("retry_on_failure");
        mapping.insert(endpoint, serde_norway::Value::from(NO_ENDPOINT));
        let settings = serde_norway::from_value(serde_norway::Value::Mapping(mapping))
            .map_err(|e| e.to_string())?;
        Ok(OtlpProtocol {
            settings,
            sending_queue_set,
            retry_on_failure_set,
        })
    }

    /// The `otlp` exporter's settings for the backend at `address`.
    pub(super) fn for_backend(&self, address: &str) -> OtlpGrpcExporterConfig {
        OtlpGrpcExporterConfig {
            endpoint: address.to_owned(),
            ..self.settings.clone()
        }
    }
}

impl<'de> Deserialize<'de> for OtlpProtocol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mapping = match serde_norway::Value::deserialize(deserializer)? {
            serde_norway::Value::Null => serde_norway::Mapping::new(),
            serde_norway::Value::Mapping(mapping) => mapping,
            other => {
                return Err(D::Error::custom(format!(
                    "expected the otlp exporter's settings, found {other:?}"
                )));
            }
        };
        OtlpProtocol::from_mapping(mapping).map_err(D::Error::custom)
    }
}

/// `resolver.static`: a fixed list of backends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticResolverConfig {
    /// `host:port` of each backend (`:4317` is added to a host without a port, as otelcol does).
    pub hostnames: Vec<String>,
}

/// `resolver.dns`: every address a hostname resolves to is a backend, re-resolved on an interval.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsResolverConfig {
    /// The name to resolve.
    pub hostname: String,
    /// The port backends listen on (default 4317); a number or a string, as otelcol accepts.
    #[serde(default = "default_port", deserialize_with = "port")]
    pub port: u16,
    /// Time between resolutions (default 5s).
    #[serde(default = "five_seconds", deserialize_with = "de::duration")]
    pub interval: Duration,
    /// A resolution taking longer fails and keeps the previous backends (default 1s).
    #[serde(default = "one_second", deserialize_with = "de::duration")]
    pub timeout: Duration,
}

fn default_port() -> u16 {
    DEFAULT_PORT
}

fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}

/// otelcol's `port` is a string; YAML users write a number. Both are taken.
fn port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Port {
        Number(u16),
        Text(String),
    }
    match Port::deserialize(deserializer)? {
        Port::Number(port) => Ok(port),
        Port::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("`{text}` is not a port number"))),
    }
}

/// `resolver`: where the backends come from. Exactly one kind is set.
#[derive(Debug, Clone)]
pub enum ResolverConfig {
    /// `static`: a fixed list.
    Static(StaticResolverConfig),
    /// `dns`: a hostname re-resolved on an interval.
    Dns(DnsResolverConfig),
    /// `fleet` (ours): the live members of an otlp-suite fleet on etcd. The collector library does not know
    /// fleets; the settings are kept as written for the program that does (the `otlp-suite` binary built with its
    /// `fleet` feature), which builds the exporter with [`build_with_resolver`](super::build_with_resolver).
    Fleet(serde_norway::Value),
}

impl ResolverConfig {
    /// The resolver's kind, as otelcol labels its metrics (`resolver="static"`).
    pub fn kind(&self) -> &'static str {
        match self {
            ResolverConfig::Static(_) => "static",
            ResolverConfig::Dns(_) => "dns",
            ResolverConfig::Fleet(_) => "fleet",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolverSections {
    #[serde(rename = "static")]
    static_: Option<StaticResolverConfig>,
    dns: Option<DnsResolverConfig>,
    fleet: Option<serde_norway::Value>,
    k8s: Option<serde::de::IgnoredAny>,
    aws_cloud_map: Option<serde::de::IgnoredAny>,
}

impl<'de> Deserialize<'de> for ResolverConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let sections = ResolverSections::deserialize(deserializer)?;
        if sections.k8s.is_some() || sections.aws_cloud_map.is_some() {
            return Err(D::Error::custom(
                "the k8s and aws_cloud_map resolvers are not supported: use static, dns or fleet",
            ));
        }
        match (sections.static_, sections.dns, sections.fleet) {
            (Some(fixed), None, None) => Ok(ResolverConfig::Static(fixed)),
            (None, Some(dns), None) => Ok(ResolverConfig::Dns(dns)),
            (None, None, Some(fleet)) => Ok(ResolverConfig::Fleet(fleet)),
            (None, None, None) => Err(D::Error::custom("set a resolver: static, dns or fleet")),
            _ => Err(D::Error::custom(
                "set one resolver of static, dns and fleet, not several (otelcol would silently prefer dns)",
            )),
        }
    }
}

/// `outlier_detection` (ours): a backend failing this many requests in a row is left out of routing for a while
/// and its keys go to their next owner on the ring, so that data for a dead or hung backend is delivered elsewhere
/// instead of waiting for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutlierDetectionConfig {
    /// Failed requests in a row that eject a backend (default 3).
    pub consecutive_failures: u32,
    /// How long the first ejection lasts; each repeated one lasts that much longer (default 30s).
    #[serde(deserialize_with = "de::duration")]
    pub base_ejection_time: Duration,
    /// The longest an ejection lasts (default 5m).
    #[serde(deserialize_with = "de::duration")]
    pub max_ejection_time: Duration,
    /// At most this share of the backends is ejected at once, and never the last one (default 50).
    pub max_ejection_percent: u8,
}

impl Default for OutlierDetectionConfig {
    fn default() -> Self {
        OutlierDetectionConfig {
            consecutive_failures: 3,
            base_ejection_time: Duration::from_secs(30),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_percent: 50,
        }
    }
}

impl OutlierDetectionConfig {
    /// The balancer's settings.
    pub fn detection(&self) -> OutlierDetection {
        OutlierDetection {
            consecutive_failures: self.consecutive_failures,
            base_ejection_time: self.base_ejection_time,
            max_ejection_time: self.max_ejection_time,
            max_ejection_percent: self.max_ejection_percent,
        }
    }
}

/// The `loadbalancing` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancingExporterConfig {
    /// What items are routed by; default `traceID` for traces and logs, `service` for metrics (as otelcol).
    #[serde(default)]
    pub routing_key: Option<RoutingKey>,
    /// The attributes a `routing_key: attributes` key is made of, in order.
    #[serde(default)]
    pub routing_attributes: Vec<String>,
    /// How backends are spoken to.
    #[serde(default)]
    pub protocol: ProtocolConfig,
    /// Where the backends come from.
    pub resolver: ResolverConfig,
    /// The one queue in front of routing (default: `protocol.otlp.sending_queue` if given there, else the
    /// `otlp` exporter's default).
    #[serde(default)]
    pub sending_queue: Option<QueueConfig>,
    /// Retries of the parts that failed (default: `protocol.otlp.retry_on_failure` if given there, else the
    /// `otlp` exporter's default).
    #[serde(default)]
    pub retry_on_failure: Option<RetryConfig>,
    /// Time allowed for one attempt at a whole batch, all its parts at once (default: twice
    /// `protocol.otlp.timeout`, which bounds each request to a backend).
    #[serde(default, deserialize_with = "de::optional_duration")]
    pub timeout: Option<Duration>,
    /// When a failing backend is left out of routing.
    #[serde(default)]
    pub outlier_detection: OutlierDetectionConfig,
}

impl LoadBalancingExporterConfig {
    /// Checks what deserialization cannot: `routing_attributes` with `routing_key: attributes` only, backends
    /// that are valid `otlp` endpoints, the helper and outlier settings. A `fleet` resolver's settings are left to
    /// the program that provides it. Returns the key at fault and the problem.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        match (self.routing_key, self.routing_attributes.is_empty()) {
            (Some(RoutingKey::Attributes), true) => {
                return Err((
                    "routing_attributes",
                    "must list at least one attribute when routing_key is `attributes`".into(),
                ));
            }
            (key, false) if key != Some(RoutingKey::Attributes) => {
                return Err((
                    "routing_attributes",
                    "is only used with `routing_key: attributes`".into(),
                ));
            }
            _ => {}
        }
        self.protocol
            .otlp
            .settings
            .validate()
            .map_err(|e| ("protocol.otlp", e))?;
        let helper = self.helper();
        helper.queue.validate().map_err(|e| ("sending_queue", e))?;
        helper
            .retry
            .validate()
            .map_err(|e| ("retry_on_failure", e))?;
        self.outlier_detection
            .detection()
            .validate()
            .map_err(|e| ("outlier_detection", e.to_string()))?;
        if self.protocol.otlp.settings.circuit_breaker.enabled {
            return Err((
                "protocol.otlp.circuit_breaker",
                "is not used by loadbalancing, which leaves failing backends out with outlier_detection".into(),
            ));
        }
        match &self.resolver {
            ResolverConfig::Static(fixed) => {
                if fixed.hostnames.is_empty() {
                    return Err(("resolver.static.hostnames", "must list a backend".into()));
                }
                let mut seen = std::collections::BTreeSet::new();
                for hostname in &fixed.hostnames {
                    let address = with_port(hostname);
                    grpc_endpoint(&address, &self.protocol.otlp.settings.tls)
                        .map_err(|e| ("resolver.static.hostnames", e))?;
                    if !seen.insert(address.clone()) {
                        return Err((
                            "resolver.static.hostnames",
                            format!("`{address}` is listed twice"),
                        ));
                    }
                }
            }
            ResolverConfig::Dns(dns) => {
                if dns.hostname.trim().is_empty() {
                    return Err(("resolver.dns.hostname", "must not be empty".into()));
                }
                if dns.interval.is_zero() || dns.timeout.is_zero() {
                    return Err((
                        "resolver.dns",
                        "interval and timeout must be longer than zero".into(),
                    ));
                }
            }
            ResolverConfig::Fleet(_) => {}
        }
        Ok(())
    }

    /// The queue, retries and whole-attempt timeout the helper runs the exporter with.
    pub fn helper(&self) -> HelperSettings {
        let otlp = &self.protocol.otlp;
        let queue = self.sending_queue.clone().unwrap_or_else(|| {
            if otlp.sending_queue_set {
                otlp.settings.sending_queue.clone()
            } else {
                QueueConfig::default()
            }
        });
        let retry = self.retry_on_failure.clone().unwrap_or_else(|| {
            if otlp.retry_on_failure_set {
                otlp.settings.retry_on_failure.clone()
            } else {
                RetryConfig::default()
            }
        });
        HelperSettings {
            queue,
            retry,
            timeout: self
                .timeout
                .unwrap_or_else(|| otlp.settings.timeout.saturating_mul(2)),
            // Per-backend outlier detection does this job, without stopping the healthy backends.
            circuit_breaker: Default::default(),
        }
    }

    /// The time allowed for one request to one backend.
    pub fn request_timeout(&self) -> Duration {
        self.protocol.otlp.settings.timeout
    }
}

/// `host:port`, with otelcol's default port added to a bare host.
pub(super) fn with_port(hostname: &str) -> String {
    let hostname = hostname.trim();
    let has_port = match hostname.rsplit_once(':') {
        // `[::1]:4317`, `host:4317`; a bare IPv6 address (`::1`) has colons but no port.
        Some((host, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (host.ends_with(']') || !host.contains(':'))
        }
        None => false,
    };
    if has_port || hostname.contains("://") {
        hostname.to_owned()
    } else if hostname.contains(':') && !hostname.starts_with('[') {
        format!("[{hostname}]:{DEFAULT_PORT}")
    } else {
        format!("{hostname}:{DEFAULT_PORT}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<LoadBalancingExporterConfig, String> {
        crate::de::typed::<LoadBalancingExporterConfig>(
            "exporters.loadbalancing",
            serde_norway::from_str(yaml).unwrap(),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn otelcols_example_parses() {
        let config = parse(
            r#"
routing_key: service
protocol:
  otlp:
    timeout: 1s
    tls: { insecure: true }
resolver:
  static:
    hostnames: [backend-1:4317, backend-2:4317, backend-3]
"#,
        )
        .unwrap();
        assert_eq!(config.routing_key, Some(RoutingKey::Service));
        assert_eq!(config.request_timeout(), Duration::from_secs(1));
        assert!(config.protocol.otlp.settings.tls.insecure);
        config.validate().unwrap();
        let ResolverConfig::Static(fixed) = &config.resolver else {
            panic!("static")
        };
        assert_eq!(with_port(&fixed.hostnames[2]), "backend-3:4317");
        assert_eq!(config.helper().timeout, Duration::from_secs(2));
    }

    #[test]
    fn dns_port_is_a_number_or_a_string() {
        for port in ["5317", "\"5317\""] {
            let config = parse(&format!(
                "resolver: {{ dns: {{ hostname: backends.internal, port: {port}, interval: 2s }} }}"
            ))
            .unwrap();
            let ResolverConfig::Dns(dns) = config.resolver else {
                panic!("dns")
            };
            assert_eq!(
                (dns.port, dns.interval, dns.timeout),
                (5317, Duration::from_secs(2), Duration::from_secs(1))
            );
        }
    }

    #[test]
    fn mistakes_are_named() {
        let error = parse(
            "resolver: { static: { hostnames: [a] } }\nprotocol: { otlp: { endpoint: x:1 } }",
        )
        .unwrap_err();
        assert!(
            error.contains("protocol.otlp") && error.contains("resolver"),
            "{error}"
        );
        let error = parse(
            "resolver: { static: { hostnames: [a] } }\nprotocol: { otlp: { compresion: gzip } }",
        )
        .unwrap_err();
        assert!(error.contains("unknown field `compresion`"), "{error}");
        let error =
            parse("resolver: { static: { hostnames: [a] }, dns: { hostname: b } }").unwrap_err();
        assert!(error.contains("not several"), "{error}");
        let error = parse("resolver: { k8s: { service: lb } }").unwrap_err();
        assert!(error.contains("not supported"), "{error}");
        let error =
            parse("routing_key: spanID\nresolver: { static: { hostnames: [a] } }").unwrap_err();
        assert!(error.contains("routing_key"), "{error}");

        let config =
            parse("routing_key: attributes\nresolver: { static: { hostnames: [a] } }").unwrap();
        assert_eq!(config.validate().unwrap_err().0, "routing_attributes");
        let config =
            parse("routing_attributes: [x]\nresolver: { static: { hostnames: [a] } }").unwrap();
        assert_eq!(config.validate().unwrap_err().0, "routing_attributes");
        let config = parse("resolver: { static: { hostnames: [a, 'a:4317'] } }").unwrap();
        assert!(config.validate().unwrap_err().1.contains("twice"));
        let config = parse("resolver: { static: { hostnames: [] } }").unwrap();
        assert_eq!(
            config.validate().unwrap_err().0,
            "resolver.static.hostnames"
        );
    }

    #[test]
    fn queue_and_retries_come_from_the_top_level_then_the_otlp_section() {
        let config = parse(
            "resolver: { static: { hostnames: [a] } }\n\
             protocol: { otlp: { sending_queue: { queue_size: 7 }, retry_on_failure: { enabled: false } } }",
        )
        .unwrap();
        let helper = config.helper();
        assert_eq!(helper.queue.queue_size, 7);
        assert!(!helper.retry.enabled);
        let config = parse(
            "resolver: { static: { hostnames: [a] } }\n\
             sending_queue: { queue_size: 9 }\ntimeout: 3s\n\
             protocol: { otlp: { sending_queue: { queue_size: 7 } } }",
        )
        .unwrap();
        assert_eq!(config.helper().queue.queue_size, 9);
        assert_eq!(config.helper().timeout, Duration::from_secs(3));
        assert!(config.helper().retry.enabled);
    }

    #[test]
    fn bare_hosts_get_the_otlp_port() {
        assert_eq!(with_port("10.0.0.1"), "10.0.0.1:4317");
        assert_eq!(with_port("10.0.0.1:55690"), "10.0.0.1:55690");
        assert_eq!(with_port("::1"), "[::1]:4317");
        assert_eq!(with_port("[::1]:9"), "[::1]:9");
        assert_eq!(with_port("http://b:1"), "http://b:1");
    }
}
