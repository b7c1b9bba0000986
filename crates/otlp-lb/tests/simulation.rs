//! The discrete-event simulation of one slow backend among ten: the latency-aware and
//! load-aware algorithms must route around it. Simulated time, so no wall-clock assertion.

mod support;

use otlp_lb::policy::{LeastConnections, PeakEwma, RoundRobin};
use support::simulation::{Scenario, simulate};

#[test]
fn p2c_peak_ewma_at_most_halves_round_robin_p99_under_one_slow_backend() {
    let scenario = Scenario::default();
    let round_robin = simulate(RoundRobin::new(), &scenario);
    let least_connections = simulate(LeastConnections::new(), &scenario);
    let p2c = simulate(PeakEwma::new(), &scenario);
    println!("round robin {round_robin:?}\nleast connections {least_connections:?}\np2c {p2c:?}");
    // Round robin is blind to speed: the slow backend gets its tenth.
    assert!((round_robin.slow_share - 0.1).abs() < 0.005);
    // The others send it less, and the tail shrinks accordingly.
    assert!(least_connections.slow_share < round_robin.slow_share);
    assert!(p2c.slow_share < round_robin.slow_share);
    assert!(
        p2c.p99 * 2 <= round_robin.p99,
        "p2c {p2c:?} vs round robin {round_robin:?}"
    );
    assert!(least_connections.p99 < round_robin.p99);
}

#[test]
fn the_simulation_is_deterministic() {
    let scenario = Scenario {
        requests: 20_000,
        ..Scenario::default()
    };
    assert_eq!(
        simulate(PeakEwma::new(), &scenario),
        simulate(PeakEwma::new(), &scenario)
    );
}
