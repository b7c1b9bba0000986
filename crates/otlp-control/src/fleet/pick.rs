//! Client-side collector selection: which collector should an SDK or edge agent send to.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fleet::Member;
use crate::protect::DegradationLevel;

/// How to choose among the candidates of the preferred region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickStrategy {
    /// The least loaded (degradation level, then CPU, then queue depth).
    #[default]
    LeastLoaded,
    /// The lowest latency the client measured to each collector; members it has no
    /// measurement for come after, least loaded first.
    LowestLatency,
}

/// What the client asks for.
#[derive(Debug, Clone, Default)]
pub struct PickRequest {
    /// The client's region; members there are preferred over all others.
    pub region: Option<String>,
    /// How to choose within the preferred group.
    pub strategy: PickStrategy,
    /// Round-trip times the client measured, by member id (for [`PickStrategy::LowestLatency`]).
    pub latencies: HashMap<String, Duration>,
}

/// Picks the collector for `request`: members in the client's region first (any region when
/// none is there), members in Emergency only when nobody else is left, then the strategy.
pub fn pick<'a>(members: &'a [Member], request: &PickRequest) -> Option<&'a Member> {
    let healthy: Vec<&Member> = members
        .iter()
        .filter(|member| member.load.level < DegradationLevel::Emergency)
        .collect();
    let pool: Vec<&Member> = if healthy.is_empty() {
        members.iter().collect()
    } else {
        healthy
    };
    let local: Vec<&Member> = match &request.region {
        Some(region) => pool
            .iter()
            .copied()
            .filter(|member| &member.region == region)
            .collect(),
        None => Vec::new(),
    };
    let candidates = if local.is_empty() { pool } else { local };
    candidates.into_iter().min_by(|a, b| {
        let by_latency = match request.strategy {
            PickStrategy::LeastLoaded => std::cmp::Ordering::Equal,
            PickStrategy::LowestLatency => {
                let latency = |m: &Member| request.latencies.get(&m.id).copied();
                match (latency(a), latency(b)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
            }
        };
        by_latency
            .then_with(|| a.load_score().total_cmp(&b.load_score()))
            .then_with(|| a.id.cmp(&b.id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, region: &str, cpu: f64, level: DegradationLevel) -> Member {
        let mut member = Member::new(id, region, format!("{id}:4317"), "1").unwrap();
        member.load.cpu = cpu;
        member.load.level = level;
        member
    }

    #[test]
    fn same_region_first_then_least_loaded() {
        let members = vec![
            member("eu-1", "eu", 0.8, DegradationLevel::Normal),
            member("eu-2", "eu", 0.3, DegradationLevel::Normal),
            member("us-1", "us", 0.1, DegradationLevel::Normal),
        ];
        let request = PickRequest {
            region: Some("eu".into()),
            ..PickRequest::default()
        };
        assert_eq!(pick(&members, &request).unwrap().id, "eu-2");
        let elsewhere = PickRequest {
            region: Some("ap".into()),
            ..PickRequest::default()
        };
        assert_eq!(pick(&members, &elsewhere).unwrap().id, "us-1");
        assert!(pick(&[], &request).is_none());
    }

    #[test]
    fn degraded_members_lose_and_emergency_members_are_a_last_resort() {
        let members = vec![
            member("eu-1", "eu", 0.1, DegradationLevel::Moderate),
            member("eu-2", "eu", 0.9, DegradationLevel::Normal),
            member("eu-3", "eu", 0.0, DegradationLevel::Emergency),
        ];
        let request = PickRequest {
            region: Some("eu".into()),
            ..PickRequest::default()
        };
        assert_eq!(pick(&members, &request).unwrap().id, "eu-2");
        let only_emergency = vec![member("eu-3", "eu", 0.0, DegradationLevel::Emergency)];
        assert_eq!(pick(&only_emergency, &request).unwrap().id, "eu-3");
    }

    #[test]
    fn lowest_measured_latency_wins() {
        let members = vec![
            member("eu-1", "eu", 0.1, DegradationLevel::Normal),
            member("eu-2", "eu", 0.5, DegradationLevel::Normal),
            member("eu-3", "eu", 0.0, DegradationLevel::Normal),
        ];
        let request = PickRequest {
            region: Some("eu".into()),
            strategy: PickStrategy::LowestLatency,
            latencies: HashMap::from([
                ("eu-1".to_owned(), Duration::from_millis(9)),
                ("eu-2".to_owned(), Duration::from_millis(2)),
            ]),
        };
        assert_eq!(pick(&members, &request).unwrap().id, "eu-2");
    }
}
