//! The series as a scrape's answer: Prometheus's text format (0.0.4), or OpenMetrics 1.0 for scrapers that ask
//! for it, with exemplars on counters and histogram buckets. Names and labels outside the classic character set
//! (kept by the `NoUTF8Escaping…` and `NoTranslation` strategies) are written quoted, as Prometheus 3 reads them.

use super::labels::Labels;
use super::series::{Exemplar, Family, Registry, Sample, Series, Type};
use std::fmt::Write as _;

/// Which exposition format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Every series of `registry` in `format`; with `timestamps`, each sample with its point's time.
pub(super) fn render(registry: &Registry, format: Format, timestamps: bool) -> String {
    let mut out = String::new();
    let writer = Writer { format, timestamps };
    if !registry.targets.is_empty() {
        let name = registry.target_info_name();
        writer.header(&mut out, &name, "gauge", "Target metadata");
        for labels in registry.targets.keys() {
            writer.sample(&mut out, &name, labels, None, 1.0, None, None);
        }
    }
    for (name, family) in &registry.families {
        writer.family(&mut out, name, family);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

struct Writer {
    format: Format,
    timestamps: bool,
}

impl Writer {
    fn family(&self, out: &mut String, name: &str, family: &Family) {
        let open_metrics = self.format == Format::OpenMetrics;
        let (type_name, family_name) = match family.kind {
            Type::Gauge => ("gauge", name),
            // OpenMetrics names a counter family without the `_total` its samples have.
            Type::Counter if open_metrics => {
                ("counter", name.strip_suffix("_total").unwrap_or(name))
            }
            Type::Counter => ("counter", name),
            Type::Histogram => ("histogram", name),
            Type::Summary => ("summary", name),
        };
        self.header(out, family_name, type_name, &family.help);
        for (labels, series) in &family.series {
            self.series(out, family_name, family.kind, labels, series);
        }
    }

    fn header(&self, out: &mut String, name: &str, type_name: &str, help: &str) {
        let name = quoted_if_needed(name, true);
        if !help.is_empty() {
            let _ = writeln!(out, "# HELP {name} {}", self.escape_help(help));
        }
        let _ = writeln!(out, "# TYPE {name} {type_name}");
    }

    fn series(&self, out: &mut String, name: &str, kind: Type, labels: &Labels, series: &Series) {
        let time = self.timestamps.then_some(series.time_unix_nano);
        let open_metrics = self.format == Format::OpenMetrics;
        match &series.sample {
            Sample::Number(value, exemplar) => {
                let (sample_name, exemplar) = match kind {
                    Type::Counter if open_metrics => (format!("{name}_total"), exemplar.as_ref()),
                    _ => (name.to_owned(), None),
                };
                self.sample(out, &sample_name, labels, None, *value, time, exemplar);
            }
            Sample::Histogram {
                buckets,
                count,
                sum,
                exemplars,
            } => {
                let bucket = format!("{name}_bucket");
                let exemplar = |i: usize| exemplars.get(&i).filter(|_| open_metrics);
                for (i, (bound, cumulative)) in buckets.iter().enumerate() {
                    let le = ("le", self.bound(*bound));
                    let value = *cumulative as f64;
                    self.sample(out, &bucket, labels, Some(le), value, time, exemplar(i));
                }
                let inf = ("le", "+Inf".to_owned());
                let last = exemplar(buckets.len());
                self.sample(out, &bucket, labels, Some(inf), *count as f64, time, last);
                if let Some(sum) = sum {
                    self.sample(out, &format!("{name}_sum"), labels, None, *sum, time, None);
                }
                let count_name = format!("{name}_count");
                self.sample(out, &count_name, labels, None, *count as f64, time, None);
            }
            Sample::Summary {
                quantiles,
                count,
                sum,
            } => {
                for (quantile, value) in quantiles {
                    let q = ("quantile", self.bound(*quantile));
                    self.sample(out, name, labels, Some(q), *value, time, None);
                }
                self.sample(out, &format!("{name}_sum"), labels, None, *sum, time, None);
                let count_name = format!("{name}_count");
                self.sample(out, &count_name, labels, None, *count as f64, time, None);
            }
        }
    }

    /// One line: `name{labels} value [timestamp] [# {exemplar} value timestamp]`.
    #[allow(clippy::too_many_arguments)]
    fn sample(
        &self,
        out: &mut String,
        name: &str,
        labels: &Labels,
        extra: Option<(&str, String)>,
        value: f64,
        time_unix_nano: Option<u64>,
        exemplar: Option<&Exemplar>,
    ) {
        let legacy_name = is_legacy(name, true);
        if legacy_name {
            out.push_str(name);
        }
        let all = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra.as_ref().map(|(k, v)| (*k, v.as_str())));
        if !legacy_name || !labels.is_empty() || extra.is_some() {
            out.push('{');
            let mut first = true;
            if !legacy_name {
                out.push_str(&quoted(name));
                first = false;
            }
            write_labels(out, all, first);
            out.push('}');
        }
        out.push(' ');
        out.push_str(&float(value));
        if let Some(time) = time_unix_nano {
            out.push(' ');
            out.push_str(&self.timestamp(time));
        }
        if let Some(exemplar) = exemplar {
            out.push_str(" # {");
            let labels = exemplar
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()));
            write_labels(out, labels, true);
            out.push_str("} ");
            out.push_str(&float(exemplar.value));
            if exemplar.time_unix_nano > 0 {
                out.push(' ');
                out.push_str(&seconds(exemplar.time_unix_nano));
            }
        }
        out.push('\n');
    }

    /// An `le` or `quantile` value: OpenMetrics writes whole numbers with `.0`, as Prometheus's own client does.
    fn bound(&self, value: f64) -> String {
        let text = float(value);
        if self.format == Format::OpenMetrics && value.is_finite() && !text.contains(['.', 'e']) {
            format!("{text}.0")
        } else {
            text
        }
    }

    fn timestamp(&self, time_unix_nano: u64) -> String {
        match self.format {
            Format::Text => (time_unix_nano / 1_000_000).to_string(),
            Format::OpenMetrics => seconds(time_unix_nano),
        }
    }

    fn escape_help(&self, help: &str) -> String {
        let mut escaped = String::with_capacity(help.len());
        for c in help.chars() {
            match c {
                '\\' => escaped.push_str("\\\\"),
                '\n' => escaped.push_str("\\n"),
                '"' if self.format == Format::OpenMetrics => escaped.push_str("\\\""),
                c => escaped.push(c),
            }
        }
        escaped
    }
}

fn write_labels<'a>(
    out: &mut String,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    first: bool,
) {
    let mut first = first;
    for (name, value) in labels {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&quoted_if_needed(name, false));
        out.push('=');
        out.push_str(&quoted(value));
    }
}

/// Whether `name` needs no quotes: `[a-zA-Z_:][a-zA-Z0-9_:]*` for a metric, without `:` for a label.
fn is_legacy(name: &str, metric: bool) -> bool {
    let allowed = |c: char| c.is_ascii_alphabetic() || c == '_' || (metric && c == ':');
    let mut chars = name.chars();
    chars.next().is_some_and(allowed) && chars.all(|c| allowed(c) || c.is_ascii_digit())
}

fn quoted_if_needed(name: &str, metric: bool) -> String {
    if is_legacy(name, metric) {
        name.to_owned()
    } else {
        quoted(name)
    }
}

/// `text` in double quotes, with `\`, `"` and newlines escaped.
fn quoted(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str("\\n"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A value as Prometheus writes it: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
pub(super) fn float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:?}")
    }
}

/// Nanoseconds since the epoch as seconds with a fraction, OpenMetrics's timestamps.
fn seconds(time_unix_nano: u64) -> String {
    let whole = time_unix_nano / 1_000_000_000;
    let nanos = time_unix_nano % 1_000_000_000;
    if nanos == 0 {
        return whole.to_string();
    }
    let fraction = format!("{nanos:09}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests;
