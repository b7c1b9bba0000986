//! A job's targets as Prometheus makes them (`PopulateLabels`): each `static_configs` target starts as its group's
//! labels with `__address__`, and the job's `job`, `__scheme__`, `__metrics_path__`, `__scrape_interval__` and
//! `__scrape_timeout__` where the group does not set them; `relabel_configs` may then rewrite or drop it. An
//! address without a port gets the scheme's (80, 443), `instance` defaults to the address, and the labels starting
//! with `__` are removed once the URL is made of them (`__param_<name>` become query parameters).

use super::config::{Global, ScrapeConfig};
use super::file_sd::Group;
pub(super) use super::relabel::LabelSet;
use super::relabel::{Rule, process};
use std::collections::BTreeMap;
use std::time::Duration;

/// A target, relabelled.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ScrapeTarget {
    /// What is scraped: `scheme://address/path?params`.
    pub(super) url: http::Uri,
    pub(super) scheme: String,
    /// The target's labels: `job`, `instance` and the rest, none starting with `__`.
    pub(super) labels: LabelSet,
}

/// Prometheus's way of writing a duration (`model.Duration`): `1m30s`, `500ms`, `2w`.
fn prometheus_duration(duration: Duration) -> String {
    let mut ms = duration.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    const DAY: u128 = 24 * 60 * 60 * 1000;
    for (unit, size, exact) in [
        ("y", 365 * DAY, true),
        ("w", 7 * DAY, true),
        ("d", DAY, false),
        ("h", 60 * 60 * 1000, false),
        ("m", 60 * 1000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ] {
        if exact && !ms.is_multiple_of(size) {
            continue;
        }
        let count = ms / size;
        if count > 0 {
            out.push_str(&format!("{count}{unit}"));
            ms -= count * size;
        }
    }
    out
}

/// Whether `address` names a port (`host:port`, `[::1]:port`).
fn has_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!host.contains(':') || (host.starts_with('[') && host.ends_with(']')))
        }
        None => false,
    }
}

/// The targets of `job` that `rules` keep; a target relabelling leaves without an address, or with a scheme
/// other than `http`/`https`, is logged and left out, as Prometheus leaves it out.
pub(super) fn targets(
    job: &ScrapeConfig,
    global: &Global,
    groups: &[Group],
    rules: &[Rule],
    receiver: &str,
) -> Vec<ScrapeTarget> {
    let mut out = Vec::new();
    for group in groups {
        for address in &group.targets {
            let mut labels: LabelSet = group.labels.clone().into_iter().collect();
            labels.insert("__address__".to_owned(), address.clone());
            for (name, values) in &job.params {
                if let Some(first) = values.first() {
                    labels.insert(format!("__param_{name}"), first.clone());
                }
            }
            for (name, value) in [
                ("job", job.job_name.clone()),
                ("__scheme__", job.scheme.clone()),
                ("__metrics_path__", job.metrics_path.clone()),
                (
                    "__scrape_interval__",
                    prometheus_duration(job.interval(global)),
                ),
                (
                    "__scrape_timeout__",
                    prometheus_duration(job.timeout(global)),
                ),
            ] {
                labels.entry(name.to_owned()).or_insert(value);
            }
            let Some(labels) = process(rules, labels) else {
                continue;
            };
            match target(labels, &job.params) {
                Ok(target) => out.push(target),
                Err(problem) => {
                    tracing::warn!(receiver = %receiver, job = %job.job_name, target = %address, %problem, "target left out");
                }
            }
        }
    }
    out
}

fn target(
    mut labels: LabelSet,
    params: &BTreeMap<String, Vec<String>>,
) -> Result<ScrapeTarget, String> {
    let scheme = labels.get("__scheme__").cloned().unwrap_or_default();
    let mut address = labels.get("__address__").cloned().unwrap_or_default();
    if address.is_empty() {
        return Err("relabelling left no `__address__`".to_owned());
    }
    if !has_port(&address) {
        address.push_str(match scheme.as_str() {
            "http" | "" => ":80",
            "https" => ":443",
            other => return Err(format!("scheme `{other}` is not http or https")),
        });
        labels.insert("__address__".to_owned(), address.clone());
    }
    let scheme = if scheme.is_empty() {
        "http".to_owned()
    } else {
        scheme
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("scheme `{scheme}` is not http or https"));
    }
    labels
        .entry("instance".to_owned())
        .or_insert_with(|| address.clone());
    let path = labels.get("__metrics_path__").cloned().unwrap_or_default();
    // The job's `params`, each `__param_<name>` left by relabelling in place of its name's first value, as
    // Prometheus builds the URL.
    let mut query = params.clone();
    for (name, value) in &labels {
        if let Some(param) = name.strip_prefix("__param_") {
            let values = query.entry(param.to_owned()).or_default();
            match values.first_mut() {
                Some(first) => first.clone_from(value),
                None => values.push(value.clone()),
            }
        }
    }
    let params: Vec<String> = query
        .iter()
        .flat_map(|(name, values)| {
            values.iter().map(move |value| {
                format!(
                    "{}={}",
                    crate::percent::encode(name),
                    crate::percent::encode(value)
                )
            })
        })
        .collect();
    let mut url = format!("{scheme}://{address}{path}");
    if !params.is_empty() {
        url.push('?');
        url.push_str(&params.join("&"));
    }
    let url = url
        .parse::<http::Uri>()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    labels.retain(|name, _| !name.starts_with("__"));
    Ok(ScrapeTarget {
        url,
        scheme,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::super::relabel::compile;
    use super::*;

    fn job(yaml: &str) -> ScrapeConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    fn of(job: &ScrapeConfig) -> Vec<ScrapeTarget> {
        let rules = compile(&job.relabel_configs).unwrap();
        let groups: Vec<Group> = job.static_configs.iter().map(Group::from_static).collect();
        targets(job, &Global::default(), &groups, &rules, "test")
    }

    #[test]
    fn a_static_target_gets_job_instance_and_its_groups_labels() {
        let job = job(
            "job_name: node\nstatic_configs: [{ targets: ['a:9100', 'b'], labels: { env: prod } }]",
        );
        let targets = of(&job);
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].url, "http://a:9100/metrics");
        let labels: Vec<(&str, &str)> = targets[0]
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            [("env", "prod"), ("instance", "a:9100"), ("job", "node")]
        );
        assert_eq!(
            targets[1].labels["instance"], "b:80",
            "the scheme's port, as Prometheus adds it"
        );
    }

    #[test]
    fn relabelling_rewrites_the_url_and_drops_targets() {
        let job = job(r#"
job_name: blackbox
metrics_path: /probe
static_configs: [{ targets: ["https://example.com", "http://skip.me"] }]
relabel_configs:
  - { source_labels: [__address__], regex: ".*skip.*", action: drop }
  - { source_labels: [__address__], target_label: __param_target }
  - { source_labels: [__param_target], target_label: instance }
  - { target_label: __address__, replacement: "127.0.0.1:9115" }
  - { source_labels: [__scrape_interval__], target_label: every }
"#);
        let targets = of(&job);
        assert_eq!(targets.len(), 1);
        assert_eq!(
            targets[0].url,
            "http://127.0.0.1:9115/probe?target=https%3A%2F%2Fexample.com"
        );
        assert_eq!(targets[0].labels["instance"], "https://example.com");
        assert_eq!(targets[0].labels["every"], "1m");
        assert!(targets[0].labels.keys().all(|name| !name.starts_with("__")));
    }

    #[test]
    fn durations_are_written_as_prometheus_writes_them() {
        assert_eq!(prometheus_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(prometheus_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(
            prometheus_duration(Duration::from_secs(14 * 24 * 3600)),
            "2w"
        );
        assert_eq!(
            prometheus_duration(Duration::from_secs(10 * 24 * 3600)),
            "10d"
        );
    }

    #[test]
    fn addresses_with_ports_are_told_from_those_without() {
        assert!(has_port("a:1") && has_port("[::1]:9100"));
        assert!(!has_port("a") && !has_port("::1") && !has_port("a:"));
    }
}
