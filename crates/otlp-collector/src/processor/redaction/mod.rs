//! The `redaction` processor (otelcol-contrib's): attributes whose keys are not allowed removed, values matching
//! blocked patterns masked or hashed, on resources, spans, span events and links, log records (bodies included)
//! and data points, with what was done summarized on each item (`summary`). One line of defence for data that
//! must not leave: personal data, card numbers, credentials.

mod redact;

use super::in_place::{InPlace, in_place_stage};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::{AnyRequest, Batch};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use redact::Redactor;
use serde::Deserialize;
use std::sync::Arc;

/// The `redaction` processor's settings, with otelcol's keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionConfig {
    /// Keep every key (values are still checked); else only `allowed_keys` and `ignored_keys` are kept.
    #[serde(default)]
    pub allow_all_keys: bool,
    /// The keys kept (fails closed: none listed and `allow_all_keys` unset removes every attribute).
    #[serde(default)]
    pub allowed_keys: Vec<String>,
    /// Keys passed through unchecked.
    #[serde(default)]
    pub ignored_keys: Vec<String>,
    /// Patterns of keys passed through unchecked.
    #[serde(default)]
    pub ignored_key_patterns: Vec<String>,
    /// Patterns whose matches in values are masked.
    #[serde(default)]
    pub blocked_values: Vec<String>,
    /// Patterns of keys whose whole values are masked.
    #[serde(default)]
    pub blocked_key_patterns: Vec<String>,
    /// Patterns of values left alone even where they would be masked.
    #[serde(default)]
    pub allowed_values: Vec<String>,
    /// Hash what is masked instead of writing `****`.
    #[serde(default)]
    pub hash_function: Option<HashFunction>,
    /// Check booleans and numbers too, as their text (a masked one becomes a string).
    #[serde(default)]
    pub redact_all_types: bool,
    /// What is written about the changes on each item.
    #[serde(default)]
    pub summary: Summary,
    /// otelcol's URL sanitizer: refused with the reason (`validate` says what to use instead).
    #[serde(default)]
    pub url_sanitizer: Option<serde_json::Value>,
    /// otelcol's database query sanitizer: refused with the reason (`validate` says what to use instead).
    #[serde(default)]
    pub db_sanitizer: Option<serde_json::Value>,
}

/// `hash_function`: what masked text is replaced with, as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashFunction {
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA3-256.
    Sha3,
}

/// `summary`: the `redaction.*` attributes added to each changed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Summary {
    /// Counts and the keys concerned (`redaction.redacted.keys`...): the keys themselves may tell too much.
    Debug,
    /// Counts only (`redaction.redacted.count`...).
    Info,
    /// Nothing (otelcol's default).
    #[default]
    Silent,
}

/// The `redaction` processor type (traces, metrics and logs).
pub struct Factory;

impl Component for Factory {
    type Config = RedactionConfig;
    const TYPE: &'static str = "redaction";

    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        let mut problems: Vec<Invalid> = Vec::new();
        for (key, present) in [
            ("url_sanitizer", config.url_sanitizer.is_some()),
            ("db_sanitizer", config.db_sanitizer.is_some()),
        ] {
            if present {
                problems.push(Invalid::at(
                    key,
                    "otelcol's sanitizers are not built in here; mask what they would with `blocked_values` \
                     patterns, or rewrite with the `transform` processor's `replace_pattern`",
                ));
            }
        }
        if let Err(found) = Redactor::new(config) {
            problems.extend(
                found
                    .into_iter()
                    .map(|(key, message)| Invalid::at(key, message)),
            );
        }
        Invalid::all(problems)
    }

    fn warnings(&self, config: &Self::Config) -> Vec<(String, String)> {
        if !config.allow_all_keys
            && config.allowed_keys.is_empty()
            && config.ignored_keys.is_empty()
            && config.ignored_key_patterns.is_empty()
        {
            return vec![(
                "allowed_keys".to_owned(),
                "no key is allowed, so every attribute is removed (as in otelcol); set `allow_all_keys: true` to \
                 keep them and only mask values"
                    .to_owned(),
            )];
        }
        Vec::new()
    }
}

impl ProcessorFactory for Factory {
    fn build(
        &self,
        config: &Self::Config,
        _context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let redactor = Redactor::new(config).map_err(|problems| {
            problems
                .into_iter()
                .map(|(key, message)| format!("{key}: {message}"))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        Ok(in_place_stage(Redaction { redactor }, next))
    }
}

struct Redaction {
    redactor: Redactor,
}

impl Redaction {
    fn redact(&self, request: &mut AnyRequest) {
        let r = &self.redactor;
        match request {
            AnyRequest::Traces(traces) => {
                for rs in &mut traces.resource_spans {
                    if let Some(resource) = &mut rs.resource {
                        r.attributes(&mut resource.attributes);
                    }
                    for span in rs.scope_spans.iter_mut().flat_map(|ss| &mut ss.spans) {
                        r.attributes(&mut span.attributes);
                        for event in &mut span.events {
                            r.attributes(&mut event.attributes);
                        }
                        for link in &mut span.links {
                            r.attributes(&mut link.attributes);
                        }
                    }
                }
            }
            AnyRequest::Logs(logs) => {
                for rl in &mut logs.resource_logs {
                    if let Some(resource) = &mut rl.resource {
                        r.attributes(&mut resource.attributes);
                    }
                    for record in rl.scope_logs.iter_mut().flat_map(|sl| &mut sl.log_records) {
                        r.attributes(&mut record.attributes);
                        r.body(&mut record.body, &mut record.attributes);
                    }
                }
            }
            AnyRequest::Metrics(metrics) => {
                for rm in &mut metrics.resource_metrics {
                    if let Some(resource) = &mut rm.resource {
                        r.attributes(&mut resource.attributes);
                    }
                    for metric in rm.scope_metrics.iter_mut().flat_map(|sm| &mut sm.metrics) {
                        match &mut metric.data {
                            Some(Data::Gauge(d)) => d
                                .data_points
                                .iter_mut()
                                .for_each(|p| r.attributes(&mut p.attributes)),
                            Some(Data::Sum(d)) => d
                                .data_points
                                .iter_mut()
                                .for_each(|p| r.attributes(&mut p.attributes)),
                            Some(Data::Histogram(d)) => d
                                .data_points
                                .iter_mut()
                                .for_each(|p| r.attributes(&mut p.attributes)),
                            Some(Data::ExponentialHistogram(d)) => d
                                .data_points
                                .iter_mut()
                                .for_each(|p| r.attributes(&mut p.attributes)),
                            Some(Data::Summary(d)) => d
                                .data_points
                                .iter_mut()
                                .for_each(|p| r.attributes(&mut p.attributes)),
                            None => {}
                        }
                    }
                }
            }
        }
    }
}

impl InPlace for Redaction {
    fn apply(&self, batch: &mut Batch) {
        batch.edit(|request| self.redact(request));
    }
}
