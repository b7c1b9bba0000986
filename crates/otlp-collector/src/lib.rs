//! The otlp-suite pipeline runtime.
#![forbid(unsafe_code)]
