//! What ZooKeeper's `mntr` and `ruok` four-letter commands answer, and the metrics otelcol's receiver makes of it.

use crate::receiver::scraper::metric::{Builder, FieldPoint, Kind::*, Spec};

/// The metrics, as otelcol's generated `documentation.md` lists them, all on by default.
pub(super) const SPECS: &[Spec] = &[
    Spec::on(
        "zookeeper.follower.count",
        "The number of followers. Only exposed by the leader.",
        "{followers}",
        UpDown,
    ),
    Spec::on(
        "zookeeper.sync.pending",
        "The number of pending syncs from the followers. Only exposed by the leader.",
        "{syncs}",
        UpDown,
    ),
    Spec::on(
        "zookeeper.latency.avg",
        "Average time in milliseconds for requests to be processed.",
        "ms",
        Gauge,
    ),
    Spec::on(
        "zookeeper.latency.max",
        "Maximum time in milliseconds for requests to be processed.",
        "ms",
        Gauge,
    ),
    Spec::on(
        "zookeeper.latency.min",
        "Minimum time in milliseconds for requests to be processed.",
        "ms",
        Gauge,
    ),
    Spec::on(
        "zookeeper.connection.active",
        "Number of active clients connected to a ZooKeeper server.",
        "{connections}",
        UpDown,
    ),
    Spec::on(
        "zookeeper.request.active",
        "Number of currently executing requests.",
        "{requests}",
        UpDown,
    ),
    Spec::on(
        "zookeeper.znode.count",
        "Number of z-nodes that a ZooKeeper server has in its data tree.",
        "{znodes}",
        UpDown,
    ),
    Spec::on(
        "zookeeper.watch.count",
        "Number of watches placed on Z-Nodes on a ZooKeeper server.",
        "{watches}",
        UpDown,
    ),
    Spec::on(
        "zookeeper.data_tree.ephemeral_node.count",
        "Number of ephemeral nodes that a ZooKeeper server has in its data tree.",
        "{nodes}",
        UpDown,
    ),
    Spec::on(
        "zookeeper.data_tree.size",
        "Size of data in bytes that a ZooKeeper server has in its data tree.",
        "By",
        UpDown,
    ),
    Spec::on(
        "zookeeper.file_descriptor.open",
        "Number of file descriptors that a ZooKeeper server has open.",
        "{file_descriptors}",
        UpDown,
    ),
    Spec::on(
        "zookeeper.file_descriptor.limit",
        "Maximum number of file descriptors that a ZooKeeper server can open.",
        "{file_descriptors}",
        Gauge,
    ),
    Spec::on(
        "zookeeper.packet.count",
        "The number of ZooKeeper packets received or sent by a server.",
        "{packets}",
        Counter,
    ),
    Spec::on(
        "zookeeper.fsync.exceeded_threshold.count",
        "Number of times fsync duration has exceeded warning threshold.",
        "{events}",
        Counter,
    ),
    Spec::on(
        "zookeeper.ruok",
        "Response from zookeeper ruok command",
        "1",
        Gauge,
    ),
];

/// The `mntr` keys read as they are.
const FIELDS: &[FieldPoint] = &[
    (
        "zk_synced_followers",
        "zookeeper.follower.count",
        &[("state", "synced")],
    ),
    ("zk_pending_syncs", "zookeeper.sync.pending", &[]),
    ("zk_avg_latency", "zookeeper.latency.avg", &[]),
    ("zk_max_latency", "zookeeper.latency.max", &[]),
    ("zk_min_latency", "zookeeper.latency.min", &[]),
    (
        "zk_num_alive_connections",
        "zookeeper.connection.active",
        &[],
    ),
    ("zk_outstanding_requests", "zookeeper.request.active", &[]),
    ("zk_znode_count", "zookeeper.znode.count", &[]),
    ("zk_watch_count", "zookeeper.watch.count", &[]),
    (
        "zk_ephemerals_count",
        "zookeeper.data_tree.ephemeral_node.count",
        &[],
    ),
    ("zk_approximate_data_size", "zookeeper.data_tree.size", &[]),
    (
        "zk_open_file_descriptor_count",
        "zookeeper.file_descriptor.open",
        &[],
    ),
    (
        "zk_max_file_descriptor_count",
        "zookeeper.file_descriptor.limit",
        &[],
    ),
    (
        "zk_packets_received",
        "zookeeper.packet.count",
        &[("direction", "received")],
    ),
    (
        "zk_packets_sent",
        "zookeeper.packet.count",
        &[("direction", "sent")],
    ),
    (
        "zk_fsync_threshold_exceed_count",
        "zookeeper.fsync.exceeded_threshold.count",
        &[],
    ),
];

/// What `mntr` answered: `zk_<key>\t<value>` lines.
#[derive(Debug, Default)]
pub(super) struct Mntr {
    fields: Vec<(String, String)>,
}

impl Mntr {
    /// The answer's key and value lines; a line of another shape is named in `unreadable`.
    pub(super) fn parse(answer: &str, unreadable: &mut Vec<String>) -> Mntr {
        let mut fields = Vec::new();
        for line in answer.lines().filter(|line| !line.trim().is_empty()) {
            match line.split_once(char::is_whitespace) {
                Some((key, value)) if key.starts_with("zk_") => {
                    fields.push((key.to_owned(), value.trim().to_owned()));
                }
                _ => unreadable.push(line.to_owned()),
            }
        }
        Mntr { fields }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `zk_server_state`: `leader`, `follower`, `observer` or `standalone`.
    pub(super) fn server_state(&self) -> Option<&str> {
        self.get("zk_server_state")
    }

    /// `zk_version` without its build date (`3.8.4-5a02a05…, built on …`).
    pub(super) fn version(&self) -> Option<&str> {
        self.get("zk_version")
            .map(|version| version.split(',').next().unwrap_or(version).trim())
    }

    /// How long the server has run, in milliseconds (`zk_uptime`, ZooKeeper 3.6 and later).
    pub(super) fn uptime_ms(&self) -> Option<u64> {
        self.get("zk_uptime")?.parse().ok()
    }

    /// The points of the fields the server reported. Averages come as decimals since ZooKeeper 3.6 (`0.25`) into
    /// otelcol's whole-number metric: rounded (otelcol's receiver leaves them out); a value that is no number is
    /// named in `unreadable`. The unsynced followers are the followers less the synced ones.
    pub(super) fn record(&self, out: &mut Builder<'_>, unreadable: &mut Vec<String>) {
        for (key, name, attributes) in FIELDS {
            let Some(text) = self.get(key) else { continue };
            match whole(text) {
                Some(value) => out.int(name, value, attributes),
                None => unreadable.push(format!("{key}: {text}")),
            }
        }
        if let (Some(all), Some(synced)) = (
            self.get("zk_followers").and_then(whole),
            self.get("zk_synced_followers").and_then(whole),
        ) {
            out.int(
                "zookeeper.follower.count",
                all - synced,
                &[("state", "unsynced")],
            );
        }
    }
}

fn whole(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().or_else(|| {
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f.round() as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::scraper::metric::{Clock, enabled_with, labelled_points};

    /// A leader's `mntr`, ZooKeeper 3.8's form (averages as decimals), cut down.
    const LEADER: &str =
        "zk_version\t3.8.4-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on 2024-02-12 22:16 UTC
zk_server_state\tleader
zk_avg_latency\t0.6667
zk_max_latency\t12
zk_min_latency\t0
zk_packets_received\t40
zk_packets_sent\t39
zk_num_alive_connections\t2
zk_outstanding_requests\t0
zk_znode_count\t6
zk_watch_count\t1
zk_ephemerals_count\t1
zk_approximate_data_size\t160
zk_open_file_descriptor_count\t60
zk_max_file_descriptor_count\t1048576
zk_uptime\t90210
zk_followers\t4
zk_synced_followers\t3
zk_pending_syncs\t0
zk_fsync_threshold_exceed_count\tmany
this is not a field
";

    #[test]
    fn a_leaders_answer_makes_every_point_and_its_resource() {
        let mut unreadable = Vec::new();
        let mntr = Mntr::parse(LEADER, &mut unreadable);
        assert_eq!(mntr.server_state(), Some("leader"));
        assert_eq!(
            mntr.version(),
            Some("3.8.4-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f")
        );
        assert_eq!(mntr.uptime_ms(), Some(90_210));
        let enabled = enabled_with(SPECS, &[]);
        let mut out = Builder::new(SPECS, &enabled, Clock { now: 2, start: 1 });
        mntr.record(&mut out, &mut unreadable);
        assert_eq!(
            unreadable,
            [
                "this is not a field",
                "zk_fsync_threshold_exceed_count: many"
            ]
        );
        let metrics = out.finish();
        assert_eq!(
            labelled_points(&metrics, "zookeeper.follower.count"),
            [
                ("state=synced".to_owned(), 3.0),
                ("state=unsynced".to_owned(), 1.0)
            ]
        );
        assert_eq!(
            labelled_points(&metrics, "zookeeper.packet.count"),
            [
                ("direction=received".to_owned(), 40.0),
                ("direction=sent".to_owned(), 39.0)
            ]
        );
        assert_eq!(
            labelled_points(&metrics, "zookeeper.latency.avg"),
            [(String::new(), 1.0)]
        );
        assert_eq!(
            labelled_points(&metrics, "zookeeper.data_tree.size"),
            [(String::new(), 160.0)]
        );
        assert!(
            !metrics
                .iter()
                .any(|m| m.name == "zookeeper.fsync.exceeded_threshold.count")
        );
    }
}
