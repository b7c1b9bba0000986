//! The `prometheus` receiver's settings: otelcol-contrib's, around a Prometheus `scrape_configs` section with
//! static targets and relabelling.

use super::relabel::{RelabelConfig, compile};
use super::scrape_auth::{self, Authorization, BasicAuth};
use crate::ClientTlsSettings;
use crate::component::Invalid;
use crate::de;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The `prometheus` receiver's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusReceiverConfig {
    /// A Prometheus config: `global` and `scrape_configs`.
    pub config: PrometheusConfig,
    /// otelcol's switch to strip type and unit suffixes from names; only `false` (names as scraped) is supported.
    pub trim_metric_suffixes: bool,
}

/// The Prometheus config inside `config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    /// Defaults of every scrape config.
    pub global: Global,
    /// The jobs to scrape.
    pub scrape_configs: Vec<ScrapeConfig>,
}

/// `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Global {
    /// How often each target is scraped (Prometheus's default: 1m).
    #[serde(deserialize_with = "de::duration")]
    pub scrape_interval: Duration,
    /// How long a scrape may take (10s).
    #[serde(deserialize_with = "de::duration")]
    pub scrape_timeout: Duration,
    /// Labels of every series, as Prometheus's `external_labels`.
    pub external_labels: BTreeMap<String, String>,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            external_labels: BTreeMap::new(),
        }
    }
}

/// One job of `scrape_configs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// The job's name: each target's `service.name`.
    pub job_name: String,
    /// Overrides `global.scrape_interval`.
    #[serde(default, deserialize_with = "de::optional_duration")]
    pub scrape_interval: Option<Duration>,
    /// Overrides `global.scrape_timeout`.
    #[serde(default, deserialize_with = "de::optional_duration")]
    pub scrape_timeout: Option<Duration>,
    /// The path scraped (`/metrics`).
    #[serde(default = "metrics_path")]
    pub metrics_path: String,
    /// `http` (the default) or `https`.
    #[serde(default = "http")]
    pub scheme: String,
    /// On a clash between a scraped label and a target's, keep the scraped one (else it becomes
    /// `exported_<name>`).
    #[serde(default)]
    pub honor_labels: bool,
    /// The targets, `host:port`, each group with labels of its own.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default, deserialize_with = "refuse_discovery")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    kubernetes_sd_configs: de::Refused,
    /// Targets read from JSON or YAML files, which may change while the collector runs.
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    #[serde(default, deserialize_with = "refuse_discovery")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    dns_sd_configs: de::Refused,
    #[serde(default, deserialize_with = "refuse_discovery")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    consul_sd_configs: de::Refused,
    #[serde(default, deserialize_with = "refuse_discovery")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    ec2_sd_configs: de::Refused,
    /// Query parameters of every scrape (`module: [http_2xx]`, as a blackbox exporter takes them).
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    /// A user name and password sent with every scrape.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// An `Authorization` header (a bearer token) sent with every scrape.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// TLS towards `https` targets: `ca_file`, `cert_file`/`key_file`, `server_name`, `insecure_skip_verify`.
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
    /// Rules that rewrite or drop each target before it is scraped.
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Rules that rewrite or drop each scraped series.
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

fn metrics_path() -> String {
    "/metrics".to_owned()
}

fn http() -> String {
    "http".to_owned()
}

fn refuse_discovery<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "this service discovery is not available here: list the targets under `static_configs`, or in files \
         under `file_sd_configs`",
    )
}

/// `tls_config`, with Prometheus's keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM file of the CAs that sign the targets' certificates (the system's roots without it).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for targets that ask for one.
    pub cert_file: Option<PathBuf>,
    /// PEM client key.
    pub key_file: Option<PathBuf>,
    /// The name to check the targets' certificates against.
    pub server_name: Option<String>,
    /// Take any certificate (self-signed test targets; anyone on the path can then read the scrape).
    pub insecure_skip_verify: bool,
}

impl TlsConfig {
    /// The same, as the collector's client TLS settings.
    pub(super) fn client(&self) -> ClientTlsSettings {
        ClientTlsSettings {
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            server_name_override: self.server_name.clone(),
            insecure_skip_verify: self.insecure_skip_verify,
            ..ClientTlsSettings::default()
        }
    }
}

/// One of `file_sd_configs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// Paths of target files, `.json`, `.yml` or `.yaml`, with a `*` allowed in the file name.
    pub files: Vec<String>,
    /// How often every file is read again, changed or not (5m).
    #[serde(default = "five_minutes", deserialize_with = "de::duration")]
    pub refresh_interval: Duration,
}

fn five_minutes() -> Duration {
    Duration::from_secs(300)
}

/// Whether `pattern` is a path Prometheus takes for file discovery: a wildcard only in the file name, which ends
/// in `.json`, `.yml` or `.yaml`.
fn is_target_file_pattern(pattern: &str) -> bool {
    let (directory, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let extension_ok = ["json", "yml", "yaml"].iter().any(|extension| {
        name.rsplit_once('.')
            .is_some_and(|(_, found)| found == *extension || found == extension.to_uppercase())
    });
    !directory.contains('*') && name.matches('*').count() <= 1 && extension_ok
}

/// A group of `static_configs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaticConfig {
    /// `host:port` of each target.
    pub targets: Vec<String>,
    /// Labels of every series of these targets.
    pub labels: BTreeMap<String, String>,
}

impl ScrapeConfig {
    pub(super) fn interval(&self, global: &Global) -> Duration {
        self.scrape_interval.unwrap_or(global.scrape_interval)
    }

    /// The job's own timeout, else the global one capped at the job's interval, as Prometheus settles it.
    pub(super) fn timeout(&self, global: &Global) -> Duration {
        self.scrape_timeout
            .unwrap_or_else(|| global.scrape_timeout.min(self.interval(global)))
    }
}

impl PrometheusReceiverConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.trim_metric_suffixes {
            problems.push(Invalid::at(
                "trim_metric_suffixes",
                "only `false` is supported: metrics keep the names they are scraped with",
            ));
        }
        let global = &self.config.global;
        if global.scrape_timeout > global.scrape_interval {
            problems.push(Invalid::at(
                "config.global.scrape_timeout",
                "must not be longer than scrape_interval, as Prometheus requires",
            ));
        }
        if self.config.scrape_configs.is_empty() {
            problems.push(Invalid::at(
                "config.scrape_configs",
                "name at least one job to scrape",
            ));
        }
        let mut jobs = std::collections::BTreeSet::new();
        for (i, job) in self.config.scrape_configs.iter().enumerate() {
            let at = |key: &str| format!("config.scrape_configs[{i}].{key}");
            if job.job_name.is_empty() || !jobs.insert(&job.job_name) {
                problems.push(Invalid::at(
                    at("job_name"),
                    "each job needs a name of its own",
                ));
            }
            if job.interval(global).is_zero() {
                problems.push(Invalid::at(at("scrape_interval"), "must be more than 0"));
            }
            if job.timeout(global) > job.interval(global) {
                problems.push(Invalid::at(
                    at("scrape_timeout"),
                    "must not be longer than scrape_interval, as Prometheus requires",
                ));
            }
            if !["http", "https"].contains(&job.scheme.as_str()) {
                problems.push(Invalid::at(at("scheme"), "`http` or `https`"));
            }
            if !job.metrics_path.starts_with('/') {
                problems.push(Invalid::at(at("metrics_path"), "a path, starting with `/`"));
            }
            let targets: Vec<&String> =
                job.static_configs.iter().flat_map(|s| &s.targets).collect();
            if targets.is_empty() && job.file_sd_configs.is_empty() {
                problems.push(Invalid::at(
                    at("static_configs"),
                    "list at least one target (`host:port`), or files of them under `file_sd_configs`",
                ));
            }
            for (j, files) in job.file_sd_configs.iter().enumerate() {
                let at = |key: &str| at(&format!("file_sd_configs[{j}].{key}"));
                if files.files.is_empty() {
                    problems.push(Invalid::at(at("files"), "name at least one file"));
                }
                for pattern in &files.files {
                    if !is_target_file_pattern(pattern) {
                        problems.push(Invalid::at(
                            at("files"),
                            format!(
                                "`{pattern}` is not a path Prometheus reads targets from: a `.json`, `.yml` or \
                                 `.yaml` file, a `*` only in its name"
                            ),
                        ));
                    }
                }
                if files.refresh_interval.is_zero() {
                    problems.push(Invalid::at(at("refresh_interval"), "must be more than 0"));
                }
            }
            for (key, problem) in
                scrape_auth::problems(job.basic_auth.as_ref(), job.authorization.as_ref())
            {
                problems.push(Invalid::at(at(key), problem));
            }
            if let Some(tls) = &job.tls_config
                && tls.cert_file.is_some() != tls.key_file.is_some()
            {
                problems.push(Invalid::at(
                    at("tls_config"),
                    "cert_file and key_file go together",
                ));
            }
            for (key, rules) in [
                ("relabel_configs", &job.relabel_configs),
                ("metric_relabel_configs", &job.metric_relabel_configs),
            ] {
                if let Err((index, problem)) = compile(rules) {
                    problems.push(Invalid::at(at(&format!("{key}[{index}]")), problem));
                }
            }
            // Relabelling may make an address of anything (a URL to probe, say): only then is it checked.
            if !job.relabel_configs.is_empty() {
                continue;
            }
            for target in targets {
                let url = format!("{}://{target}{}", job.scheme, job.metrics_path);
                if target.contains('/') || url.parse::<http::Uri>().is_err() {
                    problems.push(Invalid::at(
                        at("static_configs"),
                        format!("target `{target}` is not `host:port`"),
                    ));
                }
            }
        }
        Invalid::all(problems)
    }
}
