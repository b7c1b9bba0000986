//! The `otlp-suite` binary.
fn main() {}
