//! What the management plugin's HTTP API says (`/api/queues`, `/api/nodes`) and the metrics otelcol's receiver
//! makes of it: a resource per queue (its name, node and vhost) and, for the optional node metrics, one per node.

use crate::receiver::scraper::metric::{Builder, Kind::*, Spec};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The metrics, as otelcol's generated `documentation.md` lists them: the queues' on by default, the nodes' off.
pub(super) const SPECS: &[Spec] = &[
    Spec::on(
        "rabbitmq.consumer.count",
        "The number of consumers currently reading from the queue.",
        "{consumers}",
        UpDown,
    ),
    Spec::on(
        "rabbitmq.message.acknowledged",
        "The number of messages acknowledged by consumers.",
        "{messages}",
        Counter,
    ),
    Spec::on(
        "rabbitmq.message.current",
        "The total number of messages currently in the queue.",
        "{messages}",
        UpDown,
    ),
    Spec::on(
        "rabbitmq.message.delivered",
        "The number of messages delivered to consumers.",
        "{messages}",
        Counter,
    ),
    Spec::on(
        "rabbitmq.message.dropped",
        "The number of messages dropped as unroutable.",
        "{messages}",
        Counter,
    ),
    Spec::on(
        "rabbitmq.message.published",
        "The number of messages published to a queue.",
        "{messages}",
        Counter,
    ),
    Spec::new(
        "rabbitmq.node.disk_free",
        "Free disk space on the node.",
        "{bytes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.disk_free_limit",
        "Minimum required free disk space before alarm.",
        "{bytes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.disk_free_alarm",
        "Whether disk usage has triggered an alarm.",
        "{status}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.mem_used",
        "The memory used on the node.",
        "{bytes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.mem_limit",
        "The memory limit on the node.",
        "{bytes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.mem_alarm",
        "Whether memory alarm is triggered.",
        "{status}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.fd_used",
        "Number of file descriptors used.",
        "{fd}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.fd_total",
        "Maximum number of file descriptors available.",
        "{fd}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.sockets_used",
        "Number of sockets in use.",
        "{sockets}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.sockets_total",
        "Maximum allowed sockets.",
        "{sockets}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.proc_used",
        "Number of Erlang processes in use.",
        "{processes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.proc_total",
        "Maximum allowed Erlang processes.",
        "{processes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.uptime",
        "Uptime of the node.",
        "ms",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.run_queue",
        "Run queue length of the Erlang scheduler.",
        "{threads}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.processors",
        "Number of processors available to the node.",
        "{processors}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.context_switches",
        "Total number of context switches.",
        "{switches}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.gc_num",
        "Number of garbage collections.",
        "{collections}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.gc_bytes_reclaimed",
        "Bytes reclaimed by garbage collection.",
        "{bytes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_read_count",
        "Number of read operations.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_read_bytes",
        "Total bytes read.",
        "{bytes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_read_avg_time",
        "Average read time in microseconds.",
        "{microseconds}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_write_count",
        "Number of write operations.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_write_bytes",
        "Total bytes written.",
        "{bytes}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_write_avg_time",
        "Average write time in microseconds.",
        "{microseconds}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_sync_count",
        "Number of sync operations.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_sync_avg_time",
        "Average sync time in microseconds.",
        "{microseconds}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_seek_count",
        "Number of seek operations.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_seek_avg_time",
        "Average seek time in microseconds.",
        "{microseconds}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_reopen_count",
        "Number of file reopen operations.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.mnesia_ram_tx_count",
        "Number of RAM transactions in Mnesia.",
        "{tx}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.mnesia_disk_tx_count",
        "Number of disk transactions in Mnesia.",
        "{tx}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.msg_store_read_count",
        "Number of message store reads.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.msg_store_write_count",
        "Number of message store writes.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_index_write_count",
        "Number of queue index writes.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_index_read_count",
        "Number of queue index reads.",
        "{ops}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.connection_created",
        "Number of connections created.",
        "{connections}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.connection_closed",
        "Number of connections closed.",
        "{connections}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.channel_created",
        "Number of channels created.",
        "{channels}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.channel_closed",
        "Number of channels closed.",
        "{channels}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_declared",
        "Number of queues declared.",
        "{queues}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_created",
        "Number of queues created.",
        "{queues}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_deleted",
        "Number of queues deleted.",
        "{queues}",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.disk_free_details.rate",
        "Rate of disk usage change.",
        "{bytes}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.mem_used_details.rate",
        "Rate of memory usage change.",
        "{bytes}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.fd_used_details.rate",
        "Rate of file descriptor usage.",
        "{fd}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.sockets_used_details.rate",
        "Rate of socket usage.",
        "{sockets}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.proc_used_details.rate",
        "Rate of process usage.",
        "{processes}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.context_switches_details.rate",
        "Rate of context switches.",
        "{switches}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.gc_num_details.rate",
        "Rate of garbage collections.",
        "{collections}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.gc_bytes_reclaimed_details.rate",
        "Rate of bytes reclaimed by GC.",
        "{bytes}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_read_count_details.rate",
        "Rate of read operations.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_read_bytes_details.rate",
        "Rate of bytes read.",
        "{bytes}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_read_avg_time_details.rate",
        "Rate of change of average read time.",
        "{microseconds}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_write_count_details.rate",
        "Rate of write operations.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_write_bytes_details.rate",
        "Rate of bytes written.",
        "{bytes}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_write_avg_time_details.rate",
        "Rate of change of average write time.",
        "{microseconds}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_sync_count_details.rate",
        "Rate of sync operations.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_sync_avg_time_details.rate",
        "Rate of change of average sync time.",
        "{microseconds}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_seek_count_details.rate",
        "Rate of seek operations.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_seek_avg_time_details.rate",
        "Rate of change of average seek time.",
        "{microseconds}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.io_reopen_count_details.rate",
        "Rate of file reopen operations.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.mnesia_ram_tx_count_details.rate",
        "Rate of RAM transactions in Mnesia.",
        "{tx}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.mnesia_disk_tx_count_details.rate",
        "Rate of disk transactions in Mnesia.",
        "{tx}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.msg_store_read_count_details.rate",
        "Rate of message store reads.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.msg_store_write_count_details.rate",
        "Rate of message store writes.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_index_write_count_details.rate",
        "Rate of queue index writes.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_index_read_count_details.rate",
        "Rate of queue index reads.",
        "{ops}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.connection_created_details.rate",
        "Rate of connections created.",
        "{connections}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.connection_closed_details.rate",
        "Rate of connections closed.",
        "{connections}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.channel_created_details.rate",
        "Rate of channels created.",
        "{channels}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.channel_closed_details.rate",
        "Rate of channels closed.",
        "{channels}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_declared_details.rate",
        "Rate of queues declared.",
        "{queues}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_created_details.rate",
        "Rate of queues created.",
        "{queues}/s",
        UpDown,
        false,
    ),
    Spec::new(
        "rabbitmq.node.queue_deleted_details.rate",
        "Rate of queues deleted.",
        "{queues}/s",
        UpDown,
        false,
    ),
];

/// A queue as `/api/queues` lists it. A count the server leaves out (a queue still starting) makes no point.
#[derive(Debug, Deserialize)]
pub(super) struct Queue {
    pub(super) name: String,
    #[serde(default)]
    pub(super) node: String,
    #[serde(default)]
    pub(super) vhost: String,
    consumers: Option<i64>,
    messages_ready: Option<i64>,
    messages_unacknowledged: Option<i64>,
    /// Counters since the queue was declared, by action (`publish`, `deliver`, `ack`, …), each beside its
    /// `<action>_details` rate.
    #[serde(default)]
    message_stats: BTreeMap<String, Value>,
}

/// The counters of `message_stats` and the metrics they become.
const MESSAGE_STATS: &[(&str, &str)] = &[
    ("deliver", "rabbitmq.message.delivered"),
    ("publish", "rabbitmq.message.published"),
    ("ack", "rabbitmq.message.acknowledged"),
    ("drop_unroutable", "rabbitmq.message.dropped"),
];

impl Queue {
    /// The queue's points.
    pub(super) fn record(&self, out: &mut Builder<'_>) {
        if let Some(consumers) = self.consumers {
            out.int("rabbitmq.consumer.count", consumers, &[]);
        }
        for (state, count) in [
            ("unacknowledged", self.messages_unacknowledged),
            ("ready", self.messages_ready),
        ] {
            if let Some(count) = count {
                out.int("rabbitmq.message.current", count, &[("state", state)]);
            }
        }
        // A counter appears once its action first happened on the queue.
        for (stat, metric) in MESSAGE_STATS {
            if let Some(count) = self.message_stats.get(*stat).and_then(whole) {
                out.int(metric, count, &[]);
            }
        }
    }
}

/// A node as `/api/nodes` lists it: its name and every figure, read by the node metrics' names.
#[derive(Debug, Deserialize)]
pub(super) struct Node {
    pub(super) name: String,
    #[serde(flatten)]
    figures: Map<String, Value>,
}

impl Node {
    /// How long the node has run, in milliseconds, if it says.
    pub(super) fn uptime_ms(&self) -> Option<u64> {
        self.figures.get("uptime").and_then(Value::as_u64)
    }

    /// The node's points: `rabbitmq.node.<field>` is the node's `<field>`, `….<field>_details.rate` its
    /// `<field>_details.rate`; an alarm is 1 when raised. A figure the node does not report makes no point.
    pub(super) fn record(&self, out: &mut Builder<'_>) {
        for spec in SPECS {
            let Some(field) = spec.name.strip_prefix("rabbitmq.node.") else {
                continue;
            };
            if !out.wants(spec.name) {
                continue;
            }
            if let Some(details) = field.strip_suffix(".rate") {
                let rate = self.figures.get(details).and_then(|d| d.get("rate"));
                if let Some(rate) = rate.and_then(Value::as_f64) {
                    out.double(spec.name, rate, &[]);
                }
                continue;
            }
            match self.figures.get(field) {
                Some(Value::Bool(raised)) => out.int(spec.name, i64::from(*raised), &[]),
                Some(value) if field.ends_with("_avg_time") => {
                    if let Some(value) = value.as_f64() {
                        out.double(spec.name, value, &[]);
                    }
                }
                Some(value) => {
                    if let Some(value) = whole(value) {
                        out.int(spec.name, value, &[]);
                    }
                }
                None => {}
            }
        }
    }
}

/// A JSON number as a whole number (the API writes some counters as floats).
fn whole(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::scraper::metric::{Clock, enabled_with, labelled_points};

    #[test]
    fn every_node_metric_reads_a_field_of_the_api() {
        // Field names as RabbitMQ 3.10's `/api/nodes` has them: a typo in a metric's name would read nothing.
        let fields = [
            "disk_free",
            "disk_free_limit",
            "disk_free_alarm",
            "mem_used",
            "mem_limit",
            "mem_alarm",
            "fd_used",
            "fd_total",
            "sockets_used",
            "sockets_total",
            "proc_used",
            "proc_total",
            "uptime",
            "run_queue",
            "processors",
            "context_switches",
            "gc_num",
            "gc_bytes_reclaimed",
            "io_read_count",
            "io_read_bytes",
            "io_read_avg_time",
            "io_write_count",
            "io_write_bytes",
            "io_write_avg_time",
            "io_sync_count",
            "io_sync_avg_time",
            "io_seek_count",
            "io_seek_avg_time",
            "io_reopen_count",
            "mnesia_ram_tx_count",
            "mnesia_disk_tx_count",
            "msg_store_read_count",
            "msg_store_write_count",
            "queue_index_write_count",
            "queue_index_read_count",
            "connection_created",
            "connection_closed",
            "channel_created",
            "channel_closed",
            "queue_declared",
            "queue_created",
            "queue_deleted",
        ];
        for spec in SPECS
            .iter()
            .filter(|s| s.name.starts_with("rabbitmq.node."))
        {
            let field = spec.name["rabbitmq.node.".len()..].trim_end_matches("_details.rate");
            assert!(fields.contains(&field), "{}", spec.name);
            assert!(!spec.default);
        }
        assert_eq!(SPECS.len(), 6 + 74);
    }

    #[test]
    fn queues_and_nodes_make_their_points() {
        let queue: Queue = serde_json::from_str(
            r#"{"name":"orders","node":"rabbit@a","vhost":"/","consumers":2,"messages_ready":5,
                "messages_unacknowledged":1,"message_stats":{"publish":7,"publish_details":{"rate":0.2},"ack":3.0}}"#,
        )
        .unwrap();
        let node: Node = serde_json::from_str(
            r#"{"name":"rabbit@a","uptime":5000,"mem_alarm":true,"mem_used":100,"mem_used_details":{"rate":-2.5},
                "io_read_avg_time":0.03,"fd_used":12}"#,
        )
        .unwrap();
        let names: Vec<(&str, bool)> = SPECS.iter().map(|s| (s.name, true)).collect();
        let enabled = enabled_with(SPECS, &names);
        let mut out = Builder::new(SPECS, &enabled, Clock { now: 10, start: 1 });
        queue.record(&mut out);
        node.record(&mut out);
        let metrics = out.finish();
        let get = |name: &str| {
            if metrics.iter().any(|m| m.name == name) {
                labelled_points(&metrics, name)
            } else {
                Vec::new()
            }
        };
        assert_eq!(get("rabbitmq.consumer.count"), [(String::new(), 2.0)]);
        assert_eq!(
            get("rabbitmq.message.current"),
            [
                ("state=unacknowledged".into(), 1.0),
                ("state=ready".into(), 5.0)
            ]
        );
        assert_eq!(get("rabbitmq.message.published"), [(String::new(), 7.0)]);
        assert_eq!(get("rabbitmq.message.acknowledged"), [(String::new(), 3.0)]);
        assert!(
            get("rabbitmq.message.delivered").is_empty(),
            "not yet counted"
        );
        assert_eq!(get("rabbitmq.node.mem_alarm"), [(String::new(), 1.0)]);
        assert_eq!(
            get("rabbitmq.node.mem_used_details.rate"),
            [(String::new(), -2.5)]
        );
        assert_eq!(
            get("rabbitmq.node.io_read_avg_time"),
            [(String::new(), 0.03)]
        );
        assert_eq!(get("rabbitmq.node.uptime"), [(String::new(), 5000.0)]);
        assert!(get("rabbitmq.node.disk_free").is_empty());
        assert_eq!(node.uptime_ms(), Some(5000));
    }
}
