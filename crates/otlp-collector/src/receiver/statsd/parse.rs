//! One StatsD line (`name:value|type|@rate|#tag:value,…`) read into what it says, with DogStatsD's extensions:
//! tags, the container id (`|c:…`, protocol 1.2) and a timestamp (`|T…`, 1.3).

/// The StatsD types otelcol's receiver takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Kind {
    /// `c`: added up over the interval.
    Counter,
    /// `g`: the last value, or changed by a signed one.
    Gauge,
    /// `h`.
    Histogram,
    /// `ms`.
    Timing,
    /// `d` (DogStatsD).
    Distribution,
}

impl Kind {
    /// The `metric_type` attribute's value (`enable_metric_type`).
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Timing => "timing",
            Kind::Distribution => "distribution",
        }
    }
}

/// A line, read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) value: f64,
    /// The value was written with a sign: a gauge changes by it rather than taking it.
    pub(super) signed: bool,
    /// `@rate`: the share of events the client sent (0 when absent).
    pub(super) sample_rate: f64,
    /// The tags, sorted by key, the last of a repeated key kept.
    pub(super) tags: Vec<(String, String)>,
    /// `|T<seconds>`: when the client measured it, in nanoseconds since the epoch.
    pub(super) timestamp: Option<u64>,
}

impl Line {
    /// How many events the line stands for: one, or the reciprocal of a sample rate below 1.
    pub(super) fn weight(&self) -> f64 {
        if 0.0 < self.sample_rate && self.sample_rate < 1.0 {
            1.0 / self.sample_rate
        } else {
            1.0
        }
    }
}

/// How lines are read: otelcol's `enable_metric_type` and `enable_simple_tags`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Options {
    pub(super) metric_type: bool,
    pub(super) simple_tags: bool,
}

/// `line` read, or why it is not a StatsD line (worded as otelcol's).
pub(super) fn parse(line: &str, options: Options) -> Result<Line, String> {
    let mut parts = line.split('|');
    let head = parts.next().unwrap_or_default();
    let Some(kind) = parts.next() else {
        return Err(format!("invalid message format: {line}"));
    };
    let (name, value) = head
        .split_once(':')
        .ok_or_else(|| format!("invalid <name>:<value> format: {head}"))?;
    if name.is_empty() {
        return Err("empty metric name".into());
    }
    if value.is_empty() {
        return Err("empty metric value".into());
    }
    let kind = match kind {
        "c" => Kind::Counter,
        "g" => Kind::Gauge,
        "h" => Kind::Histogram,
        "ms" => Kind::Timing,
        "d" => Kind::Distribution,
        other => return Err(format!("unsupported metric type: {other}")),
    };
    let mut sample_rate = 0.0;
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut timestamp = None;
    for part in parts {
        if let Some(rate) = part.strip_prefix('@') {
            sample_rate = rate
                .parse()
                .map_err(|_| format!("parse sample rate: {rate}"))?;
        } else if let Some(list) = part.strip_prefix('#') {
            for tag in list.split(',') {
                match tag.split_once(':') {
                    Some((key, value)) => tags.push((key.to_owned(), value.to_owned())),
                    None if options.simple_tags => tags.push((tag.to_owned(), String::new())),
                    None => return Err(format!("invalid tag format: {tag}")),
                }
            }
        } else if let Some(container) = part.strip_prefix("c:") {
            if !container.is_empty() {
                tags.push(("container.id".to_owned(), container.to_owned()));
            }
        } else if let Some(seconds) = part.strip_prefix('T') {
            let seconds: u64 = seconds
                .parse()
                .map_err(|_| format!("parse timestamp: {seconds}"))?;
            timestamp = Some(seconds.saturating_mul(1_000_000_000));
        } else {
            return Err(format!("unrecognized message part: {part}"));
        }
    }
    let number: f64 = value
        .parse()
        .map_err(|_| format!("parse metric value string: {value}"))?;
    if options.metric_type {
        tags.push(("metric_type".to_owned(), kind.name().to_owned()));
    }
    // An attribute set, as otelcol's: sorted, one value per key (the last).
    tags.reverse();
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    tags.dedup_by(|a, b| a.0 == b.0);
    Ok(Line {
        name: name.to_owned(),
        kind,
        value: number,
        signed: value.starts_with(['+', '-']),
        sample_rate,
        tags,
        timestamp,
    })
}

#[cfg(test)]
mod tests;
