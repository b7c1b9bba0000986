//! Prints one generated trace as OTLP/JSON-like JSON (the serde form of the protobuf types).
//!
//! ```text
//! cargo run -p otlp-testkit --example print_trace -- [seed]
//! ```

use otlp_testkit::{Generator, span_count};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|e| format!("seed must be an unsigned integer, got {arg:?}: {e}"))?,
        None => 1,
    };
    let mut generator = Generator::new(seed);
    // Nothing is carried over yet, so this is exactly one whole trace.
    let trace = generator.whole_traces(1);
    println!("{}", serde_json::to_string_pretty(&trace)?);
    eprintln!("{} spans", span_count(&trace));
    Ok(())
}
