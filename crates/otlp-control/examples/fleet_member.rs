//! A fleet member process: registers in etcd, follows the fleet config (validating it as
//! YAML), publishes its load, campaigns for leadership and, while leader, publishes the global
//! view and drives rollouts. The multi-process tests and the failover benchmark run it.
//!
//! ```text
//! cargo run -p otlp-control --features etcd --example fleet_member -- \
//!     --endpoint http://127.0.0.1:2379 --prefix /otlp-demo --id c1 --region eu
//! ```
//!
//! `--fail-on TEXT` injects a regression: the member reports a 50% export error rate while the
//! config it runs contains TEXT. The failover benchmark includes this file as a module and runs
//! [`run`] in its child processes.

use std::time::{Duration, Instant};

use clap::Parser;
use otlp_control::etcd::{EtcdFleet, EtcdOptions, LeaderOptions, MembershipOptions};
use otlp_control::fleet::{ConfigVersion, Member};
use otlp_control::protect::{DegradationLevel, LoadMonitor};
use otlp_control::{ConfigFollower, Error};

#[derive(Debug, Parser)]
struct Args {
    /// etcd client URL (repeatable).
    #[arg(long = "endpoint", required = true)]
    endpoints: Vec<String>,
    /// The fleet's key prefix.
    #[arg(long, default_value = "/otlp-suite")]
    prefix: String,
    /// This member's id.
    #[arg(long)]
    id: String,
    /// This member's region.
    #[arg(long, default_value = "local")]
    region: String,
    /// Where clients would send data.
    #[arg(long, default_value = "127.0.0.1:4317")]
    address: String,
    /// The binary version this member reports.
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    version: String,
    /// Lease TTL in seconds, for membership and leadership.
    #[arg(long, default_value_t = 2)]
    ttl: u64,
    /// How often the load is published, in milliseconds.
    #[arg(long, default_value_t = 200)]
    load_interval_ms: u64,
    /// Report a 50% error rate while the running config contains this text.
    #[arg(long)]
    fail_on: Option<String>,
    /// Do not campaign for leadership.
    #[arg(long)]
    no_campaign: bool,
}

/// The collector would parse its own config type here; a YAML mapping stands in for it.
fn validate(config: &ConfigVersion) -> Result<serde_norway::Value, String> {
    let text = config.text().ok_or("the config is not UTF-8")?;
    let value: serde_norway::Value =
        serde_norway::from_str(text).map_err(|error| format!("invalid YAML: {error}"))?;
    if value.is_mapping() {
        Ok(value)
    } else {
        Err("the config must be a YAML mapping".to_owned())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(std::env::args_os())
}

/// Runs a member with the command line `args` until Ctrl-C (or SIGKILL).
pub fn run(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse_from(args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(member(args))?;
    Ok(())
}

async fn member(args: Args) -> Result<(), Error> {
    let ttl = Duration::from_secs(args.ttl);
    let fleet = EtcdFleet::connect(&EtcdOptions::new(args.endpoints.clone(), &args.prefix)).await?;
    let member = Member::new(&args.id, &args.region, &args.address, &args.version)?;
    let registration = fleet
        .register_member(member, MembershipOptions { ttl })
        .await?;
    println!("REGISTERED {}", args.id);
    let record = registration.record();
    let targets = fleet.watch_target(&args.id).await?;
    let follower = ConfigFollower::spawn(targets, record.clone(), validate);

    // Publish the load periodically; the injected regression shows up as export errors.
    let mut applied = follower.applied();
    let fail_on = args.fail_on.clone();
    let load_interval = Duration::from_millis(args.load_interval_ms);
    let reporter = tokio::spawn(async move {
        let monitor = LoadMonitor::new();
        let mut next = tokio::time::Instant::now();
        loop {
            let failing = applied.borrow_and_update().as_ref().is_some_and(|applied| {
                fail_on
                    .as_deref()
                    .is_some_and(|marker| applied.config.text().is_some_and(|t| t.contains(marker)))
            });
            let mut load = monitor
                .sample(Instant::now())
                .to_report(DegradationLevel::Normal);
            load.error_rate = if failing { 0.5 } else { 0.0 };
            load.export_latency_ms = 5.0;
            record.set_load(load);
            next += load_interval;
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                changed = applied.changed() => if changed.is_err() { return },
            }
        }
    });

    let campaigner = {
        let fleet = fleet.clone();
        let id = args.id.clone();
        let campaign = !args.no_campaign;
        tokio::spawn(async move {
            if !campaign {
                return;
            }
            loop {
                match fleet.campaign(&id, ttl).await {
                    Ok(leadership) => {
                        println!("LEADER {id} {}", leadership.token());
                        let ended = leadership.lead(LeaderOptions::default()).await;
                        println!("FOLLOWER {id} ({ended:?})");
                    }
                    Err(error) => {
                        eprintln!("campaign failed: {error}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        })
    };

    tokio::signal::ctrl_c().await.ok();
    campaigner.abort();
    reporter.abort();
    registration.deregister().await
}
