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

pub mod logs;
pub mod periodic;
pub mod resource;

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

/// A distribution of observed values over fixed buckets, rendered as a Prometheus histogram (otelcol's latency
/// metrics). Cheap to clone and to record into: a few atomic adds.
#[derive(Debug, Clone)]
pub struct Histogram(Arc<HistogramCells>);

#[derive(Debug)]
struct HistogramCells {
    /// Upper bounds of the buckets, ascending; a last `+Inf` bucket is implied.
    bounds: Box<[f64]>,
    /// Observations per bucket (not cumulative), one more than `bounds`.
    buckets: Box<[AtomicU64]>,
    /// The sum of observations, as `f64` bits.
    sum: AtomicU64,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        let mut bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram(Arc::new(HistogramCells {
            bounds: bounds.into_boxed_slice(),
            buckets,
            sum: AtomicU64::new(0f64.to_bits()),
        }))
    }

    /// Records one observation.
    pub fn record(&self, value: f64) {
        let cells = &self.0;
        let bucket = cells.bounds.partition_point(|bound| *bound < value);
        if let Some(count) = cells.buckets.get(bucket) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        // Observations are rare next to the work they time, so a CAS loop on the sum costs nothing.
        let _ = cells
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.0
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }

    /// The sum of the observations so far.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.0.sum.load(Ordering::Relaxed))
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let separator = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, count) in self.0.bounds.iter().zip(self.0.buckets.iter()) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{separator}le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{separator}le=\"+Inf\"}} {}",
            self.count()
        );
        let braced = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braced} {}", self.sum());
        let _ = writeln!(out, "{name}_count{braced} {}", self.count());
    }
}

type GaugeFn = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Buckets of the latency histograms, in milliseconds.
pub const LATENCY_BUCKETS_MS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

enum Series {
    Counter(Counter),
    /// A counter kept elsewhere (a resolver's count of resolutions), read at scrape time.
    CounterFn(GaugeFn),
    Gauge(GaugeFn),
    Histogram(Histogram),
}

impl Series {
    /// The value a lookup or a total reads: a histogram's number of observations.
    fn value(&self) -> u64 {
        match self {
            Series::Counter(c) => c.get(),
            Series::CounterFn(read) | Series::Gauge(read) => read(),
            Series::Histogram(h) => h.count(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Series::Counter(_) | Series::CounterFn(_) => "counter",
            Series::Gauge(_) => "gauge",
            Series::Histogram(_) => "histogram",
        }
    }
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
            // A name registered as another kind is never also used as a counter; hand out a detached counter
            // rather than fail on a programming slip.
            _ => Counter::default(),
        }
    }

    /// The histogram `name{labels}` with buckets bounded by `bounds`, created on first use (later calls with the
    /// same name and labels share it, whatever bounds they pass).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
    ) -> Histogram {
        let mut families = self.families.lock();
        let family = families.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            series: BTreeMap::new(),
        });
        match family
            .series
            .entry(render_labels(labels))
            .or_insert_with(|| Series::Histogram(Histogram::new(bounds)))
        {
            Series::Histogram(h) => h.clone(),
            // As for counters: a detached histogram rather than a failure on a programming slip.
            _ => Histogram::new(bounds),
        }
    }

    /// Registers the counter `name{labels}` whose value is kept elsewhere and read by calling `read` at scrape
    /// time (it must never decrease).
    pub fn counter_fn(
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
            .insert(render_labels(labels), Series::CounterFn(Arc::new(read)));
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
        Some(
            families
                .get(name)?
                .series
                .get(&render_labels(labels))?
                .value(),
        )
    }

    /// The sum of every series of `name` (0 when there is none).
    pub fn total(&self, name: &str) -> u64 {
        let families = self.families.lock();
        families
            .get(name)
            .map_or(0, |family| family.series.values().map(Series::value).sum())
    }

    /// The sum of the observed values of every histogram series of `name` (0 when there is none); with
    /// [`total`](Telemetry::total), their count, it gives the mean.
    pub fn histogram_sum(&self, name: &str) -> f64 {
        let families = self.families.lock();
        families.get(name).map_or(0.0, |family| {
            family
                .series
                .values()
                .map(|series| match series {
                    Series::Histogram(histogram) => histogram.sum(),
                    _ => 0.0,
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
                .map(|(_, s)| s.value())
                .sum()
        })
    }

    /// Every series in the Prometheus text exposition format (version 0.0.4).
    pub fn render_prometheus(&self) -> String {
        let families = self.families.lock();
        let mut out = String::with_capacity(families.len() * 200);
        for (name, family) in families.iter() {
            let kind = family
                .series
                .values()
                .next()
                .map_or("counter", Series::kind);
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, series) in &family.series {
                if let Series::Histogram(histogram) = series {
                    histogram.render(&mut out, name, labels);
                    continue;
                }
                let value = series.value();
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
        t.counter_fn("otelcol_resolutions", "Resolutions.", &[], || 4);
        assert!(text.contains("# TYPE otelcol_exporter_queue_size gauge\n"));
        assert!(
            t.render_prometheus()
                .contains("# TYPE otelcol_resolutions counter\notelcol_resolutions 4\n")
        );
        assert_eq!(
            t.value("otelcol_exporter_queue_size", &[("exporter", "a\"b")]),
            Some(7)
        );
    }

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count() {
        let t = Telemetry::new();
        let latency = t.histogram(
            "otelcol_loadbalancer_backend_latency",
            "Latency.",
            &[("endpoint", "a:1")],
            &[5.0, 1.0, 10.0],
        );
        for value in [0.5, 1.0, 7.0, 12.0] {
            latency.record(value);
        }
        let text = t.render_prometheus();
        assert!(text.contains("# TYPE otelcol_loadbalancer_backend_latency histogram\n"));
        for line in [
            "otelcol_loadbalancer_backend_latency_bucket{endpoint=\"a:1\",le=\"1\"} 2\n",
            "otelcol_loadbalancer_backend_latency_bucket{endpoint=\"a:1\",le=\"5\"} 2\n",
            "otelcol_loadbalancer_backend_latency_bucket{endpoint=\"a:1\",le=\"10\"} 3\n",
            "otelcol_loadbalancer_backend_latency_bucket{endpoint=\"a:1\",le=\"+Inf\"} 4\n",
            "otelcol_loadbalancer_backend_latency_sum{endpoint=\"a:1\"} 20.5\n",
            "otelcol_loadbalancer_backend_latency_count{endpoint=\"a:1\"} 4\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert_eq!(
            t.value(
                "otelcol_loadbalancer_backend_latency",
                &[("endpoint", "a:1")]
            ),
            Some(4)
        );
    }
}
