//! Which metrics, and which of their points, a transform applies to: `include` by name (strict or regexp) and
//! `experimental_match_labels` on the points' labels, as otelcol's filter reads them.

use super::config::{MatchType, TransformSettings};
use super::points;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use regex::Regex;

enum Matcher {
    Strict(String),
    Regexp(Regex),
}

impl Matcher {
    fn new(pattern: &str, match_type: MatchType) -> Result<Self, String> {
        Ok(match match_type {
            MatchType::Strict => Matcher::Strict(pattern.to_owned()),
            MatchType::Regexp => {
                Matcher::Regexp(Regex::new(pattern).map_err(|e| format!("`{pattern}`: {e}"))?)
            }
        })
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Strict(s) => s == text,
            Matcher::Regexp(r) => r.is_match(text),
        }
    }
}

/// A transform's selection.
pub(super) struct Selector {
    name: Matcher,
    labels: Vec<(String, Matcher)>,
}

impl Selector {
    pub(super) fn new(settings: &TransformSettings) -> Result<Self, String> {
        Ok(Selector {
            name: Matcher::new(settings.selector(), settings.match_type)?,
            labels: settings
                .experimental_match_labels
                .iter()
                .map(|(k, v)| Ok((k.clone(), Matcher::new(v, settings.match_type)?)))
                .collect::<Result<_, String>>()?,
        })
    }

    /// Whether a point's labels match: each matcher's label matches it, an absent label counting as `""`.
    pub(super) fn matches_point(&self, attributes: &[KeyValue]) -> bool {
        self.labels
            .iter()
            .all(|(key, matcher)| matcher.matches(points::string_of(attributes, key).unwrap_or("")))
    }

    /// Whether the transform applies to `metric`: its name matches and so do some of its points (or it has none).
    pub(super) fn matches(&self, metric: &Metric) -> bool {
        self.name.matches(&metric.name) && {
            let all = points::attributes(metric);
            all.is_empty() || all.iter().any(|a| self.matches_point(a))
        }
    }

    /// Whether every point of `metric` matches the labels: only then may an update rename it or change its
    /// points' shape.
    pub(super) fn matches_every_point(&self, metric: &Metric) -> bool {
        points::attributes(metric)
            .iter()
            .all(|a| self.matches_point(a))
    }

    /// The part of `metric` the transform applies to: all of it, or a copy with the matching points alone.
    pub(super) fn extract(&self, metric: &Metric) -> Metric {
        let mut copy = metric.clone();
        points::retain(&mut copy, |a| self.matches_point(a));
        copy
    }

    /// `template` with the name's regexp groups expanded (`${1}`, `${name}`); the template itself for `strict`.
    pub(super) fn rename(&self, template: &str, name: &str) -> String {
        match &self.name {
            Matcher::Regexp(regex) => match regex.captures(name) {
                Some(captures) => {
                    let mut out = String::new();
                    captures.expand(template, &mut out);
                    out
                }
                None => template.to_owned(),
            },
            Matcher::Strict(_) => template.to_owned(),
        }
    }

    /// The labels `combine` takes from `name`: each regexp group that matched something, keyed by its name, or
    /// `$<n>` for an unnamed one.
    pub(super) fn submatch_labels(&self, name: &str) -> Vec<(String, String)> {
        let Matcher::Regexp(regex) = &self.name else {
            return Vec::new();
        };
        let Some(captures) = regex.captures(name) else {
            return Vec::new();
        };
        regex
            .capture_names()
            .enumerate()
            .skip(1)
            .filter_map(|(i, group)| {
                let value = captures.get(i)?.as_str();
                (!value.is_empty()).then(|| {
                    (
                        group.map_or_else(|| format!("${i}"), str::to_owned),
                        value.to_owned(),
                    )
                })
            })
            .collect()
    }
}
