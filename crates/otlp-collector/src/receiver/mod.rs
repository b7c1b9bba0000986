//! Receivers: where data enters the collector.

pub(crate) mod otlp;
