//! OTLP metric and attribute names as Prometheus metric and label names, by the rules of Prometheus's
//! `otlptranslator` that otelcol's exporter uses: invalid characters become `_`, the unit becomes a suffix
//! (`s` → `_seconds`, `By/s` → `_bytes_per_second`, `{requests}` → nothing), counters end in `_total` and
//! gauges of unit `1` in `_ratio`.

use serde::Deserialize;

/// otelcol's `translation_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Strategy {
    /// Names escaped to `[a-zA-Z0-9_:]`, with unit and type suffixes (the default).
    UnderscoreEscapingWithSuffixes,
    /// Names escaped, without suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Names kept as they are (UTF-8), with suffixes.
    #[serde(rename = "NoUTF8EscapingWithSuffixes")]
    NoUtf8EscapingWithSuffixes,
    /// Names kept as they are, without suffixes.
    NoTranslation,
}

impl Strategy {
    fn suffixes(self) -> bool {
        matches!(
            self,
            Strategy::UnderscoreEscapingWithSuffixes | Strategy::NoUtf8EscapingWithSuffixes
        )
    }

    fn escapes(self) -> bool {
        matches!(
            self,
            Strategy::UnderscoreEscapingWithSuffixes | Strategy::UnderscoreEscapingWithoutSuffixes
        )
    }
}

/// What the name is given for: the suffixes depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::exporter) enum NameKind {
    Gauge,
    /// A monotonic sum: `_total`.
    Counter,
    /// A non-monotonic sum, a histogram or a summary.
    Other,
}

/// Builds metric and label names under one strategy and namespace.
#[derive(Debug, Clone)]
pub(in crate::exporter) struct Namer {
    strategy: Strategy,
    namespace: String,
}

impl Namer {
    pub(in crate::exporter) fn new(strategy: Strategy, namespace: &str) -> Self {
        Namer {
            strategy,
            namespace: namespace.to_owned(),
        }
    }

    /// The Prometheus name of metric `name` of `unit`, or `None` when nothing of it is left (a name of only
    /// invalid characters).
    pub(in crate::exporter) fn metric(
        &self,
        name: &str,
        unit: &str,
        kind: NameKind,
    ) -> Option<String> {
        let built = if self.strategy.escapes() {
            self.escaped_metric(name, unit, kind)
        } else {
            self.utf8_metric(name, unit, kind)
        };
        (!built.is_empty() && (built == name || built.bytes().any(|b| b != b'_'))).then_some(built)
    }

    /// The name of the resource metadata metric.
    pub(in crate::exporter) fn target_info(&self) -> String {
        self.prefixed("target_info")
    }

    fn prefixed(&self, name: &str) -> String {
        if self.namespace.is_empty() {
            return name.to_owned();
        }
        let namespace = if self.strategy.escapes() {
            tokens(&self.namespace, valid_metric_char).join("_")
        } else {
            self.namespace.clone()
        };
        format!("{namespace}_{name}")
    }

    fn escaped_metric(&self, name: &str, unit: &str, kind: NameKind) -> String {
        if !self.strategy.suffixes() {
            // Underscores are kept here, runs of them included, as `otlptranslator` keeps them.
            let joined = tokens(name, |c| valid_metric_char(c) || c == '_').join("_");
            if !self.namespace.is_empty() {
                return self.prefixed(&joined);
            }
            return digit_guard(joined);
        }
        let mut parts = tokens(name, valid_metric_char);
        let (main, per) = unit_suffixes(unit);
        let main = clean_unit(&main);
        let per = clean_unit(&per);
        let per = if per == "per_" {
            String::new()
        } else {
            let per = per.trim_end_matches('_').to_owned();
            if parts.contains(&per) {
                String::new()
            } else {
                per
            }
        };
        let mut main = if parts.contains(&main) {
            String::new()
        } else {
            main
        };
        if !per.is_empty() {
            main = main.trim_end_matches('_').to_owned();
        }
        for suffix in [main, per] {
            if !suffix.is_empty() {
                parts.push(suffix);
            }
        }
        if kind == NameKind::Counter {
            parts.retain(|part| part != "total");
            parts.push("total".to_owned());
        }
        if unit == "1" && kind == NameKind::Gauge {
            parts.retain(|part| part != "ratio");
            parts.push("ratio".to_owned());
        }
        if !self.namespace.is_empty() {
            return self.prefixed(&parts.join("_"));
        }
        digit_guard(parts.join("_"))
    }

    fn utf8_metric(&self, name: &str, unit: &str, kind: NameKind) -> String {
        let mut name = self.prefixed(name);
        if !self.strategy.suffixes() {
            return name;
        }
        let mut outer = Vec::new();
        if unit == "1" && kind == NameKind::Gauge {
            name = trim_suffix(&name, "ratio");
            outer.push("ratio".to_owned());
        }
        if kind == NameKind::Counter {
            name = trim_suffix(&name, "total");
            outer.push("total".to_owned());
        }
        let (main, per) = unit_suffixes(unit);
        if !per.is_empty() {
            name = trim_suffix(&name, &per);
            outer.push(per);
        }
        if !main.is_empty() && !name.ends_with(&main) {
            name = format!("{name}_{main}");
        }
        for suffix in outer.iter().rev() {
            name = format!("{name}_{suffix}");
        }
        name
    }

    /// The Prometheus label name of attribute `key`, or `None` when nothing of it is left.
    pub(in crate::exporter) fn label(&self, key: &str) -> Option<String> {
        if key.is_empty() {
            return None;
        }
        if !self.strategy.escapes() {
            return Some(key.to_owned());
        }
        let mut label: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if label.starts_with(|c: char| c.is_ascii_digit()) {
            label.insert_str(0, "key_");
        } else if label.starts_with('_') && !label.starts_with("__") {
            label.insert_str(0, "key");
        }
        (label == key || label.bytes().any(|b| b != b'_')).then_some(label)
    }
}

fn valid_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// The runs of `text` made of characters `valid` accepts.
fn tokens(text: &str, valid: impl Fn(char) -> bool) -> Vec<String> {
    text.split(|c: char| !valid(c))
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A name cannot start with a digit.
fn digit_guard(name: String) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

/// `name` without `_suffix` at its end (when something is left before it).
fn trim_suffix(name: &str, suffix: &str) -> String {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        name[..name.len() - suffix.len() - 1].to_owned()
    } else {
        name.to_owned()
    }
}

/// The suffixes a UCUM unit adds: `By/s` is (`bytes`, `per_second`); annotations (`{requests}`) add nothing.
fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main.trim(), Some(per.trim())),
        None => (unit.trim(), None),
    };
    let annotated = |part: &str| part.contains(['{', '}']);
    let main = if main.is_empty() || annotated(main) {
        String::new()
    } else {
        unit_word(main).to_owned()
    };
    let per = match per {
        Some(per) if !per.is_empty() && !annotated(per) => format!("per_{}", per_unit_word(per)),
        _ => String::new(),
    };
    (main, per)
}

fn unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

/// A unit suffix as name characters: invalid ones become `_`, runs of `_` one, none leading.
fn clean_unit(unit: &str) -> String {
    let mut cleaned = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if valid_metric_char(c) { c } else { '_' };
        if !(c == '_' && cleaned.ends_with('_')) {
            cleaned.push(c);
        }
    }
    cleaned.trim_start_matches('_').to_owned()
}

#[cfg(test)]
mod tests;
