use super::*;
use crate::id::PipelineId;
use crate::processor::capture::{Capture, TakesAndFails};
use crate::telemetry::Telemetry;
use std::sync::atomic::Ordering;

const INTERVAL: Duration = Duration::from_secs(60);

fn pipeline(name: &str) -> PipelineId {
    PipelineId {
        signal: Signal::Traces,
        name: Some(name.to_string()),
    }
}

/// The connector over `levels` of named consumers, probing every minute, and its self-metrics.
fn failover(levels: Vec<Vec<(&str, Arc<dyn Consumer>)>>) -> (Failover, Telemetry) {
    let telemetry = Telemetry::new();
    let count = levels.len();
    let failovers = (0..count)
        .map(|level| {
            telemetry.counter(
                "otelcol_connector_failover_count",
                "",
                &[("level", &level.to_string())],
            )
        })
        .collect();
    let levels = levels
        .into_iter()
        .map(|level| {
            Targets::new(
                level
                    .into_iter()
                    .map(|(name, consumer)| (pipeline(name), consumer))
                    .collect(),
            )
        })
        .collect();
    let timing = Timing {
        retry_interval: INTERVAL,
        retry_gap: Duration::from_secs(10),
        max_retries: Some(10),
    };
    let connector = Failover {
        id: "failover".to_string(),
        levels,
        state: Arc::new(parking_lot::Mutex::new(Levels::new(count, timing))),
        failovers,
    };
    (connector, telemetry)
}

fn batch(spans: usize) -> Batch {
    Batch::new(otlp_testkit::Generator::new(spans as u64).traces(spans))
}

fn captured(capture: &Capture) -> usize {
    capture.batches.lock().iter().map(Batch::item_count).sum()
}

fn failed_over_from(telemetry: &Telemetry, level: usize) -> Option<u64> {
    telemetry.value(
        "otelcol_connector_failover_count",
        &[("level", &level.to_string())],
    )
}

#[tokio::test(start_paused = true)]
async fn a_refusing_level_fails_over_to_the_next_until_a_probe_finds_it_taking_batches_again() {
    let (primary, standby) = (Arc::new(Capture::default()), Arc::new(Capture::default()));
    primary.full_for.store(1, Ordering::Relaxed);
    let (connector, telemetry) = failover(vec![
        vec![("primary", primary.clone())],
        vec![("standby", standby.clone())],
    ]);
    connector.consume(batch(3)).await.unwrap();
    assert_eq!((captured(&primary), captured(&standby)), (0, 3));
    assert_eq!(connector.state.lock().current(), 1);
    assert_eq!(failed_over_from(&telemetry, 0), Some(1));
    // The primary would take batches again, but is not offered any before the probe is due.
    tokio::time::advance(INTERVAL - Duration::from_secs(1)).await;
    connector.consume(batch(5)).await.unwrap();
    assert_eq!((captured(&primary), captured(&standby)), (0, 8));
    tokio::time::advance(Duration::from_secs(1)).await;
    connector.consume(batch(7)).await.unwrap();
    assert_eq!((captured(&primary), captured(&standby)), (7, 8));
    assert_eq!(connector.state.lock().current(), 0);
    connector.consume(batch(2)).await.unwrap();
    assert_eq!((captured(&primary), captured(&standby)), (9, 8));
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_sends_its_batch_on_to_the_current_level() {
    let (primary, standby) = (
        Arc::new(TakesAndFails::default()),
        Arc::new(Capture::default()),
    );
    let (connector, telemetry) = failover(vec![
        vec![("primary", primary.clone())],
        vec![("standby", standby.clone())],
    ]);
    connector.consume(batch(3)).await.unwrap();
    tokio::time::advance(INTERVAL).await;
    connector.consume(batch(4)).await.unwrap();
    // The primary took a copy of each batch and failed with it; the standby has both.
    assert_eq!(primary.0.load(Ordering::Relaxed), 7);
    assert_eq!(captured(&standby), 7);
    assert_eq!(connector.state.lock().current(), 1);
    assert_eq!(failed_over_from(&telemetry, 0), Some(2));
}

#[tokio::test(start_paused = true)]
async fn a_level_fails_when_any_of_its_pipelines_refuses_and_the_ones_that_took_the_batch_keep_it()
{
    let (first, full, standby) = (
        Arc::new(Capture::default()),
        Arc::new(Capture::default()),
        Arc::new(Capture::default()),
    );
    full.full_for.store(1, Ordering::Relaxed);
    let (connector, _telemetry) = failover(vec![
        vec![("first", first.clone()), ("full", full.clone())],
        vec![("standby", standby.clone())],
    ]);
    connector.consume(batch(6)).await.unwrap();
    assert_eq!(
        (captured(&first), captured(&full), captured(&standby)),
        (6, 0, 6)
    );
}

#[tokio::test(start_paused = true)]
async fn when_every_level_refuses_the_last_ones_refusal_is_the_answer() {
    let levels: Vec<Arc<Capture>> = (0..3).map(|_| Arc::new(Capture::default())).collect();
    for level in &levels {
        level.full_for.store(2, Ordering::Relaxed);
    }
    let (connector, telemetry) = failover(
        ["a", "b", "c"]
            .into_iter()
            .zip(&levels)
            .map(|(name, level)| vec![(name, level.clone() as Arc<dyn Consumer>)])
            .collect(),
    );
    let refused = connector.consume(batch(4)).await.unwrap_err();
    assert_eq!(refused.batch.map(|b| b.item_count()), Some(4));
    assert_eq!(refused.refusal.message, "capture: full");
    // The last level stays current: the batch offered again goes there first, and it has room now.
    assert_eq!(connector.state.lock().current(), 2);
    assert_eq!(
        (
            failed_over_from(&telemetry, 0),
            failed_over_from(&telemetry, 1)
        ),
        (Some(1), Some(1))
    );
    connector.consume(batch(4)).await.unwrap_err();
    connector.consume(batch(4)).await.unwrap();
    assert_eq!(
        levels.iter().map(|l| captured(l)).collect::<Vec<_>>(),
        [0, 0, 4]
    );
}

#[test]
fn settings_mistakes_are_named_at_their_key() {
    let config = |yaml: &str| serde_norway::from_str::<FailoverConfig>(yaml).unwrap();
    let problems = |yaml: &str| match Factory.validate(&config(yaml)) {
        Ok(()) => Vec::new(),
        Err(invalid) => invalid
            .at_path("")
            .into_iter()
            .map(|(path, _)| path)
            .collect::<Vec<_>>(),
    };
    assert_eq!(
        problems("{ priority_levels: [[traces/a], [traces/b]] }"),
        Vec::<String>::new()
    );
    assert_eq!(problems("{ priority_levels: [] }"), ["priority_levels"]);
    assert_eq!(
        problems("{ priority_levels: [[traces/a], []] }"),
        ["priority_levels[1]"]
    );
    assert_eq!(
        problems("{ priority_levels: [[traces/a], [traces/b, traces/a]] }"),
        ["priority_levels[1][1]"]
    );
    assert_eq!(
        problems(
            "{ priority_levels: [[traces/a], [traces/b]], retry_interval: 1m, retry_gap: 30s }"
        ),
        ["retry_interval"]
    );
    assert_eq!(
        problems("{ priority_levels: [[traces/a]], retry_gap: 0s }"),
        ["retry_gap"]
    );
    let defaults = config("{ priority_levels: [[traces/a]] }");
    assert_eq!(
        (
            defaults.retry_interval,
            defaults.retry_gap,
            defaults.max_retries
        ),
        (Duration::from_secs(600), Duration::from_secs(30), 10)
    );
    assert_eq!(
        config("{ priority_levels: [[traces/a]], max_retries: 0 }")
            .timing()
            .max_retries,
        None
    );
}
