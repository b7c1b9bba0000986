//! Project automation for otlp-suite.
fn main() {}
