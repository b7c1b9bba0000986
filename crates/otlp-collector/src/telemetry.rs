//! Self-telemetry: counters and gauges with otelcol's names, rendered as Prometheus text.
//!
//! Hot paths hold a [`Counter`] (one atomic add per batch); the registry's lock is taken only to create a series
//! and to render.

use crate::Signal;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A monotonically increasing count, cheap to clone and to add to.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

type GaugeFn = Arc<dyn Fn() -> u64 + Send + Sync>;

enum Series {
    Counter(Counter),
    Gauge(GaugeFn),
}

struct Family {
    help: String,
    series: BTreeMap<String, Series>,
}

/// The collector's metric registry, shared by every component.
#[derive(Clone, Default)]
pub struct Telemetry {
    families: Arc<Mutex<BTreeMap<String, Family>>>,
    ready: Arc<AtomicBool>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("families", &self.families.lock().len())
            .finish()
    }
}

fn render_labels(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

impl Telemetry {
    /// An empty registry.
    pub fn new() -> Self {
        Telemetry::default()
    }

    /// The counter `name{labels}`, created on first use.
    pub fn counter(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Counter {
        let mut families = self.families.lock();
        let family = families.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            series: BTreeMap::new(),
        });
        match family
            .series
            .entry(render_labels(labels))
            .or_insert_with(|| Series::Counter(Counter::default()))
        {
            Series::Counter(c) => c.clone(),
            // A name registered as a gauge is never also used as a counter; hand out a detached counter rather
            // than fail on a programming slip.
            Series::Gauge(_) => Counter::default(),
        }
    }

    /// Registers the gauge `name{labels}`, read by calling `read` at scrape time.
    pub fn gauge(
        &self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) {
        let mut families = self.families.lock();
        let family = families.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            series: BTreeMap::new(),
        });
        family
            .series
            .insert(render_labels(labels), Series::Gauge(Arc::new(read)));
    }

    /// The value of one series, if it exists.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let families = self.families.lock();
        match families.get(name)?.series.get(&render_labels(labels))? {
            Series::Counter(c) => Some(c.get()),
            Series::Gauge(g) => Some(g()),
        }
    }

    /// The sum of every series of `name` (0 when there is none).
    pub fn total(&self, name: &str) -> u64 {
        let families = self.families.lock();
        families.get(name).map_or(0, |family| {
            family
                .series
                .values()
                .map(|s| match s {
                    Series::Counter(c) => c.get(),
                    Series::Gauge(g) => g(),
                })
                .sum()
        })
    }

    /// The sum of the series of `name` whose label `label` equals `value`.
    pub fn total_with_label(&self, name: &str, label: &str, value: &str) -> u64 {
        let wanted = render_labels(&[(label, value)]);
        let families = self.families.lock();
        families.get(name).map_or(0, |family| {
            family
                .series
                .iter()
                .filter(|(labels, _)| labels.split(',').any(|pair| pair == wanted))
                .map(|(_, s)| match s {
                    Series::Counter(c) => c.get(),
                    Series::Gauge(g) => g(),
                })
                .sum()
        })
    }

    /// Every series in the Prometheus text exposition format (version 0.0.4).
    pub fn render_prometheus(&self) -> String {
        let families = self.families.lock();
        let mut out = String::with_capacity(families.len() * 200);
        for (name, family) in families.iter() {
            let kind = match family.series.values().next() {
                Some(Series::Gauge(_)) => "gauge",
                _ => "counter",
            };
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, series) in &family.series {
                let value = match series {
                    Series::Counter(c) => c.get(),
                    Series::Gauge(g) => g(),
                };
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        }
        out
    }

    /// Marks the collector ready (serving) or not (starting, draining).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether the collector is serving.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

/// Per-signal counters of one receiver on one transport.
#[derive(Debug, Clone)]
pub struct ReceiverCounters {
    accepted: [Counter; 3],
    refused: [Counter; 3],
}

impl ReceiverCounters {
    /// The counters of receiver `receiver` on `transport` (`grpc`, `http`), registered in `telemetry`.
    pub fn new(telemetry: &Telemetry, receiver: &str, transport: &str) -> Self {
        let labels = [("receiver", receiver), ("transport", transport)];
        let make = |what: &str, help: &str| {
            Signal::ALL.map(|s| {
                telemetry.counter(
                    &format!("otelcol_receiver_{what}_{}", s.item_unit()),
                    &format!("Number of {} {help}", s.item_unit().replace('_', " ")),
                    &labels,
                )
            })
        };
        ReceiverCounters {
            accepted: make("accepted", "successfully pushed into the pipeline."),
            refused: make("refused", "that could not be pushed into the pipeline."),
        }
    }

    /// `n` items were taken by the pipelines.
    pub fn accepted(&self, signal: Signal, n: usize) {
        self.accepted[signal.index()].add(n as u64);
    }

    /// `n` items were refused (the client was told why).
    pub fn refused(&self, signal: Signal, n: usize) {
        self.refused[signal.index()].add(n as u64);
    }
}

/// Counts items a component gave up on, by reason. Drops are rare, so the series is looked up per call.
#[derive(Debug, Clone)]
pub struct DropCounter {
    telemetry: Telemetry,
    metric_prefix: &'static str,
    component_label: &'static str,
    component: String,
}

impl DropCounter {
    /// `metric_prefix` is e.g. `otelcol_processor_dropped`; the signal's unit is appended.
    pub fn new(
        telemetry: &Telemetry,
        metric_prefix: &'static str,
        component_label: &'static str,
        component: &str,
    ) -> Self {
        DropCounter {
            telemetry: telemetry.clone(),
            metric_prefix,
            component_label,
            component: component.to_string(),
        }
    }

    /// Counts `n` items of `signal` given up on for `reason`.
    pub fn add(&self, signal: Signal, n: usize, reason: &str) {
        if n == 0 {
            return;
        }
        self.telemetry
            .counter(
                &format!("{}_{}", self.metric_prefix, signal.item_unit()),
                &format!(
                    "Number of {} given up on, by reason.",
                    signal.item_unit().replace('_', " ")
                ),
                &[(self.component_label, &self.component), ("reason", reason)],
            )
            .add(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_escaped_labels() {
        let t = Telemetry::new();
        t.counter(
            "otelcol_receiver_accepted_spans",
            "Accepted spans.",
            &[("receiver", "otlp")],
        )
        .add(3);
        t.counter(
            "otelcol_receiver_accepted_spans",
            "Accepted spans.",
            &[("receiver", "otlp")],
        )
        .add(2);
        t.gauge(
            "otelcol_exporter_queue_size",
            "Queue size.",
            &[("exporter", "a\"b")],
            || 7,
        );
        let text = t.render_prometheus();
        assert!(text.contains("# TYPE otelcol_receiver_accepted_spans counter\n"));
        assert!(text.contains("otelcol_receiver_accepted_spans{receiver=\"otlp\"} 5\n"));
        assert!(text.contains("# TYPE otelcol_exporter_queue_size gauge\n"));
        assert!(text.contains("otelcol_exporter_queue_size{exporter=\"a\\\"b\"} 7\n"));
        assert_eq!(t.total("otelcol_receiver_accepted_spans"), 5);
        assert_eq!(
            t.value("otelcol_exporter_queue_size", &[("exporter", "a\"b")]),
            Some(7)
        );
    }
}
