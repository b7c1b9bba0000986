//! The three OTLP signals.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metric data points.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// Every signal, in the order reports list them.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// The name configs and schemas use (`traces`, `metrics`, `logs`).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// A dense index (0, 1, 2), for per-signal arrays.
    pub fn index(self) -> usize {
        match self {
            Signal::Traces => 0,
            Signal::Metrics => 1,
            Signal::Logs => 2,
        }
    }

    /// The item name otelcol's self-metrics use (`otelcol_receiver_accepted_spans`).
    pub fn item_unit(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "metric_points",
            Signal::Logs => "log_records",
        }
    }

    /// The OTLP/HTTP path the specification gives this signal (`/v1/traces`).
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Signal {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        Signal::ALL
            .into_iter()
            .find(|signal| signal.as_str() == name)
            .ok_or_else(|| Error::UnknownSignal(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_indexes_are_dense() {
        for (i, signal) in Signal::ALL.into_iter().enumerate() {
            assert_eq!(signal.index(), i);
            assert_eq!(signal.as_str().parse::<Signal>().unwrap(), signal);
            assert_eq!(signal.http_path(), format!("/v1/{signal}"));
        }
        assert!(matches!(
            "spans".parse::<Signal>(),
            Err(Error::UnknownSignal(name)) if name == "spans"
        ));
    }
}
