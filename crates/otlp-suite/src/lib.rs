//! otlp-suite: OpenTelemetry at scale.
#![forbid(unsafe_code)]
