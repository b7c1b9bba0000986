//! Per-invocation overhead.
fn main() {}
