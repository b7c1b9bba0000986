//! The global view: members' load summed per region and for the whole fleet.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fleet::Member;

/// Load of a group of members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadTotals {
    /// Members in the group.
    pub members: usize,
    /// Spans per second received, summed.
    pub spans_per_sec: f64,
    /// Queued items, summed.
    pub queue_depth: u64,
    /// Memory in bytes, summed.
    pub memory_bytes: u64,
    /// Mean CPU share.
    pub cpu: f64,
    /// Export latency in ms, weighted by spans per second (plain mean when nothing flows).
    pub export_latency_ms: f64,
    /// Error rate, weighted by spans per second (plain mean when nothing flows).
    pub error_rate: f64,
    /// Members above Normal degradation.
    pub degraded: usize,
}

impl LoadTotals {
    /// Totals over `members`.
    pub fn of<'a>(members: impl IntoIterator<Item = &'a Member>) -> Self {
        let mut totals = LoadTotals::default();
        let (mut cpu, mut latency, mut errors) = (0.0, 0.0, 0.0);
        let (mut weighted_latency, mut weighted_errors) = (0.0, 0.0);
        for member in members {
            let load = &member.load;
            totals.members += 1;
            totals.spans_per_sec += load.spans_per_sec;
            totals.queue_depth += load.queue_depth;
            totals.memory_bytes += load.memory_bytes;
            totals.degraded += usize::from(load.level.index() > 0);
            cpu += load.cpu;
            latency += load.export_latency_ms;
            errors += load.error_rate;
            weighted_latency += load.export_latency_ms * load.spans_per_sec;
            weighted_errors += load.error_rate * load.spans_per_sec;
        }
        if totals.members > 0 {
            let n = totals.members as f64;
            totals.cpu = cpu / n;
            if totals.spans_per_sec > 0.0 {
                totals.export_latency_ms = weighted_latency / totals.spans_per_sec;
                totals.error_rate = weighted_errors / totals.spans_per_sec;
            } else {
                totals.export_latency_ms = latency / n;
                totals.error_rate = errors / n;
            }
        }
        totals
    }
}

/// Fleet-wide and per-region load, as the leader publishes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalView {
    /// The whole fleet.
    pub fleet: LoadTotals,
    /// Per region, by name.
    pub regions: BTreeMap<String, LoadTotals>,
    /// When it was computed, ms since the Unix epoch.
    pub computed_at_ms: u64,
}

impl GlobalView {
    /// Aggregates `members` at `computed_at_ms`.
    pub fn aggregate(members: &[Member], computed_at_ms: u64) -> Self {
        let mut by_region: BTreeMap<&str, Vec<&Member>> = BTreeMap::new();
        for member in members {
            by_region.entry(&member.region).or_default().push(member);
        }
        Self {
            fleet: LoadTotals::of(members),
            regions: by_region
                .into_iter()
                .map(|(region, members)| (region.to_owned(), LoadTotals::of(members)))
                .collect(),
            computed_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::LoadReport;

    fn member(id: &str, region: &str, spans: f64, latency: f64, cpu: f64) -> Member {
        let mut member = Member::new(id, region, "addr", "1").unwrap();
        member.load = LoadReport {
            spans_per_sec: spans,
            export_latency_ms: latency,
            cpu,
            queue_depth: 10,
            ..LoadReport::default()
        };
        member
    }

    #[test]
    fn totals_per_region_and_fleet() {
        let members = [
            member("a", "eu", 100.0, 10.0, 0.2),
            member("b", "eu", 300.0, 30.0, 0.4),
            member("c", "us", 0.0, 5.0, 0.6),
        ];
        let view = GlobalView::aggregate(&members, 7);
        assert_eq!(view.fleet.members, 3);
        assert_eq!(view.fleet.spans_per_sec, 400.0);
        assert_eq!(view.fleet.queue_depth, 30);
        assert!((view.fleet.cpu - 0.4).abs() < 1e-12);
        let eu = &view.regions["eu"];
        assert_eq!(eu.members, 2);
        assert_eq!(eu.export_latency_ms, 25.0); // weighted by spans/s
        assert_eq!(view.regions["us"].export_latency_ms, 5.0); // nothing flows: plain mean
    }
}
