//! The fleet at a glance: what `otlp-suite fleet status` prints (and `--json` serializes).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::fleet::{GlobalView, LoadTotals, Member, Rollout};

/// The current leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderInfo {
    /// The leader's member id.
    pub id: String,
    /// Its fencing token (the revision its leadership key was created at).
    pub token: i64,
}

/// A snapshot of the whole fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetStatus {
    /// The key prefix (etcd) or service name (Consul) of the fleet.
    pub prefix: String,
    /// The leader, when one is elected.
    pub leader: Option<LeaderInfo>,
    /// The fleet's stable config version.
    pub config_version: Option<u64>,
    /// The fleet's stable binary version, once a binary rollout set one.
    pub binary_version: Option<String>,
    /// Members by id.
    pub members: Vec<Member>,
    /// Load per region and for the fleet.
    pub view: GlobalView,
    /// The latest rollout.
    pub rollout: Option<Rollout>,
}

fn totals_row(f: &mut fmt::Formatter<'_>, name: &str, totals: &LoadTotals) -> fmt::Result {
    writeln!(
        f,
        "  {name:<12} {:>7} {:>10.0} {:>7} {:>5.0}% {:>8.1} {:>6.2}% {:>8}",
        totals.members,
        totals.spans_per_sec,
        totals.queue_depth,
        totals.cpu * 100.0,
        totals.export_latency_ms,
        totals.error_rate * 100.0,
        totals.degraded
    )
}

impl fmt::Display for FleetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fleet {}: {} members", self.prefix, self.members.len())?;
        match &self.leader {
            Some(leader) => write!(f, ", leader {} (token {})", leader.id, leader.token)?,
            None => f.write_str(", no leader")?,
        }
        match self.config_version {
            Some(version) => write!(f, ", config v{version}")?,
            None => f.write_str(", no config")?,
        }
        if let Some(binary) = &self.binary_version {
            write!(f, ", binary {binary}")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  {:<12} {:>7} {:>10} {:>7} {:>6} {:>8} {:>7} {:>8}",
            "REGION", "MEMBERS", "SPANS/S", "QUEUE", "CPU", "LAT(ms)", "ERRORS", "DEGRADED"
        )?;
        for (region, totals) in &self.view.regions {
            totals_row(f, region, totals)?;
        }
        totals_row(f, "(fleet)", &self.view.fleet)?;
        writeln!(
            f,
            "  {:<16} {:<8} {:<22} {:<10} {:<8} {:<10} {:>10} {:>6}",
            "MEMBER", "REGION", "ADDRESS", "VERSION", "CONFIG", "LEVEL", "SPANS/S", "CPU"
        )?;
        for member in &self.members {
            let config = member
                .config
                .version
                .map_or_else(|| "-".to_owned(), |v| format!("v{v}"));
            writeln!(
                f,
                "  {:<16} {:<8} {:<22} {:<10} {:<8} {:<10} {:>10.0} {:>5.0}%",
                member.id,
                member.region,
                member.address,
                member.version,
                config,
                member.load.level,
                member.load.spans_per_sec,
                member.load.cpu * 100.0
            )?;
            if let Some(rejected) = &member.config.rejected {
                writeln!(
                    f,
                    "    rejected config v{}: {}",
                    rejected.version, rejected.reason
                )?;
            }
        }
        if let Some(rollout) = &self.rollout {
            writeln!(f, "  {rollout}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::ConfigRejection;

    #[test]
    fn human_output_names_leader_members_and_rejections() {
        let mut member = Member::new("c1", "eu", "10.0.0.1:4317", "0.1.0").unwrap();
        member.config.version = Some(3);
        member.config.rejected = Some(ConfigRejection {
            version: 4,
            reason: "bad yaml".into(),
        });
        let members = vec![member];
        let status = FleetStatus {
            prefix: "/otlp".into(),
            leader: Some(LeaderInfo {
                id: "c1".into(),
                token: 42,
            }),
            config_version: Some(3),
            binary_version: None,
            view: GlobalView::aggregate(&members, 0),
            members,
            rollout: None,
        };
        let text = status.to_string();
        assert!(text.starts_with("fleet /otlp: 1 members, leader c1 (token 42), config v3"));
        assert!(text.contains("rejected config v4: bad yaml"), "{text}");
        assert!(text.contains("  eu "), "{text}");
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["leader"]["token"], 42);
    }
}
