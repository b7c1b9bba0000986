//! The `loadbalancing` exporter between real `otlp-suite` processes on loopback: one front collector routing by
//! trace id over three back collectors that write files. Each back answers a request only once its spans are in
//! its file (`sending_queue: { enabled: false }`), so what a test reads from the files is exactly what was
//! acknowledged.
//!
//! - every trace lands whole in exactly one back, and the backs receive exactly what the front accepted;
//! - a back killed (SIGKILL) mid-stream loses nothing: what it owned goes to the next back on the ring;
//! - a back hung (SIGSTOP) mid-stream loses nothing, and duplicates nothing beyond the retries the front counts;
//! - a back added mid-stream receives its share (the front in this process, its membership changed by the test);
//! - tail sampling scaled out over three backs keeps exactly what one collector keeps, each trace whole.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otlp_suite::collector::component::{Component, Components, ExporterContext, ExporterFactory};
use otlp_suite::collector::exporter::Exporter;
use otlp_suite::collector::exporter::loadbalancing::{
    LoadBalancingExporterConfig, Resolver, StaticResolver, build_with_resolver,
};
use otlp_suite::collector::{Collector as InProcess, Config};
use otlp_suite::lb::policy::ConsistentHash;
use otlp_suite::lb::{Endpoint, KeyRouter};
use otlp_testkit::Generator;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::{Client, Collector, Metrics, span_key};

/// A back collector: spans go to `traces.binpb`, written before the request is answered.
const BACK: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
exporters:
  file: { path: "{dir}/traces.binpb", format: proto, sending_queue: { enabled: false } }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:{metrics}" }
"#;

/// The front: batches, then routes over `{backends}`. A request to a back gets `{timeout}`; two failures in a row
/// eject the back; failed parts are retried every 50–500ms, for as long as it takes.
const FRONT: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
processors:
  batch: { send_batch_size: 400, timeout: 20ms }
exporters:
  loadbalancing:
    protocol: { otlp: { tls: { insecure: true }, timeout: {timeout} } }
    resolver: { static: { hostnames: [{backends}] } }
    retry_on_failure: { initial_interval: 50ms, max_interval: 500ms, max_elapsed_time: 0 }
    outlier_detection: { consecutive_failures: 2 }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [loadbalancing] }
  telemetry:
    metrics: { address: "127.0.0.1:{metrics}" }
"#;

const SENT: &str = "otelcol_exporter_sent_spans{exporter=\"loadbalancing\"}";
const RETRIED: &str = "otelcol_loadbalancer_retried_spans{exporter=\"loadbalancing\"}";
const REROUTED: &str = "otelcol_loadbalancer_rerouted_spans{exporter=\"loadbalancing\"}";

fn backend_sent(address: &str) -> String {
    format!(
        "otelcol_loadbalancer_backend_sent_spans{{exporter=\"loadbalancing\",endpoint=\"{address}\"}}"
    )
}

/// How long the front waits for a back that answers. Only a hung back should ever reach it: under emulation (`cargo
/// xtask cross`) a back's file write can take over a second, and a request the front gave up on is sent again, a
/// duplicate the tests that count exactly would report.
const PATIENT: &str = "30s";

/// How long the front waits for a back in the test that hangs one: short, so the test does not wait long for it.
const IMPATIENT: &str = "1s";

/// Three backs with `back` config and a front over them that gives each request `timeout`.
async fn cluster(dir: &Path, back: &str, timeout: &str) -> (Collector, Vec<Collector>) {
    let mut backs = Vec::new();
    for i in 1..=3 {
        backs.push(Collector::start(&format!("back-{i}"), dir, back).await);
    }
    let hostnames: Vec<String> = backs.iter().map(Collector::address).collect();
    let front = Collector::start(
        "front",
        dir,
        &FRONT
            .replace("{backends}", &hostnames.join(", "))
            .replace("{timeout}", timeout),
    )
    .await;
    (front, backs)
}

/// Sends `requests` requests of whole traces (about 40 spans each) to the front; returns the spans sent.
async fn send(client: &mut Client, generator: &mut Generator, requests: usize) -> Vec<Span> {
    let mut sent = Vec::new();
    for _ in 0..requests {
        let request = generator.whole_traces(40);
        client.send(&request).await;
        sent.extend(spans_of(&request));
    }
    sent
}

fn spans_of(request: &ExportTraceServiceRequest) -> Vec<Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.iter().cloned())
        .collect()
}

/// Waits until the front has delivered every span it accepted.
async fn drained(front: &Collector, sent: usize) -> Metrics {
    front
        .wait_for("delivering every accepted span", |m| {
            m.get(SENT) == sent as u64
        })
        .await
}

/// What the backs wrote: every span once (duplicates removed), how many copies there were beyond the first, and
/// which backs each trace landed in.
struct Landed {
    unique: BTreeSet<(Vec<u8>, Vec<u8>)>,
    duplicates: usize,
    traces: BTreeMap<Vec<u8>, BTreeSet<usize>>,
    per_back: Vec<usize>,
}

fn landed(written: &[Vec<Span>]) -> Landed {
    let mut unique = BTreeSet::new();
    let mut duplicates = 0;
    let mut traces: BTreeMap<Vec<u8>, BTreeSet<usize>> = BTreeMap::new();
    for (back, spans) in written.iter().enumerate() {
        for span in spans {
            if !unique.insert(span_key(span)) {
                duplicates += 1;
            }
            traces
                .entry(span.trace_id.clone())
                .or_default()
                .insert(back);
        }
    }
    Landed {
        unique,
        duplicates,
        traces,
        per_back: written.iter().map(Vec::len).collect(),
    }
}

fn keys(spans: &[Span]) -> BTreeSet<(Vec<u8>, Vec<u8>)> {
    spans.iter().map(span_key).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_trace_lands_whole_in_exactly_one_back() {
    let dir = tempfile::tempdir().unwrap();
    let (front, backs) = cluster(dir.path(), BACK, PATIENT).await;
    let mut client = Client::connect(front.grpc).await;
    let mut generator = Generator::new(1);
    let sent = send(&mut client, &mut generator, 150).await;
    let metrics = drained(&front, sent.len()).await;
    let mut received_by_backs = 0;
    for back in &backs {
        let back_metrics = back.scrape().await;
        received_by_backs += back_metrics.total("otelcol_receiver_accepted_spans");
        assert_eq!(
            metrics.get(&backend_sent(&back.address())),
            back_metrics.total("otelcol_exporter_sent_spans"),
            "the front's count per back is what the back wrote"
        );
    }
    let accepted = metrics.total("otelcol_receiver_accepted_spans");
    assert_eq!(accepted, sent.len() as u64);
    assert_eq!(
        received_by_backs, accepted,
        "egress over ingress is exactly 1.0"
    );
    assert_eq!(metrics.get(RETRIED), 0);

    front.stop().await;
    let written: Vec<Vec<Span>> = backs.iter().map(|b| b.written_spans(false)).collect();
    for back in backs {
        back.stop().await;
    }
    let landed = landed(&written);
    assert_eq!(landed.duplicates, 0);
    assert_eq!(landed.unique, keys(&sent), "every span sent landed");
    for (trace, backs) in &landed.traces {
        assert_eq!(
            backs.len(),
            1,
            "trace {trace:02x?} landed in backs {backs:?}"
        );
    }
    let total: usize = landed.per_back.iter().sum();
    for share in &landed.per_back {
        // Three backs on a ring of 2048 points each: every share is near a third.
        assert!(*share * 5 > total, "shares {:?}", landed.per_back);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_killed_mid_stream_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (front, mut backs) = cluster(dir.path(), BACK, PATIENT).await;
    let mut client = Client::connect(front.grpc).await;
    let mut generator = Generator::new(2);
    let mut sent = send(&mut client, &mut generator, 40).await;
    let victim = backs[1].address();
    front
        .wait_for("the victim receiving spans", |m| {
            m.get(&backend_sent(&victim)) > 0
        })
        .await;
    backs[1].kill().await;
    sent.extend(send(&mut client, &mut generator, 80).await);
    let metrics = drained(&front, sent.len()).await;
    assert!(
        metrics.get(REROUTED) > 0,
        "the killed back's parts went elsewhere"
    );

    front.stop().await;
    let written: Vec<Vec<Span>> = backs
        .iter()
        .enumerate()
        .map(|(i, b)| b.written_spans(i == 1))
        .collect();
    let landed = landed(&written);
    assert_eq!(landed.unique, keys(&sent), "nothing is lost");
    assert!(
        landed.duplicates as u64 <= metrics.get(RETRIED),
        "{} duplicates, {} retried: a span written just before the kill, unanswered, is sent again",
        landed.duplicates,
        metrics.get(RETRIED)
    );
    // Traces sent whole stay whole: one that reached the victim before it died, unanswered, was sent whole to
    // its next owner too (a duplicate, counted above); none is spread over the survivors.
    let survivors: BTreeSet<usize> = [0, 2].into();
    for (trace, in_backs) in &landed.traces {
        let on_survivors = in_backs.intersection(&survivors).count();
        assert!(
            on_survivors <= 1,
            "trace {trace:02x?} split over {in_backs:?}"
        );
    }
    for (i, back) in backs.into_iter().enumerate() {
        if i != 1 {
            back.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_hung_mid_stream_loses_and_duplicates_nothing_beyond_counted_retries() {
    let dir = tempfile::tempdir().unwrap();
    let (front, backs) = cluster(dir.path(), BACK, IMPATIENT).await;
    let mut client = Client::connect(front.grpc).await;
    let mut generator = Generator::new(3);
    let mut sent = send(&mut client, &mut generator, 40).await;
    let victim = backs[1].address();
    front
        .wait_for("the victim receiving spans", |m| {
            m.get(&backend_sent(&victim)) > 0
        })
        .await;
    backs[1].signal("STOP");
    sent.extend(send(&mut client, &mut generator, 80).await);
    let metrics = drained(&front, sent.len()).await;
    assert!(
        metrics.get(REROUTED) > 0,
        "the hung back's parts went elsewhere"
    );
    assert!(
        metrics.get(&format!(
            "otelcol_loadbalancer_backend_outcome{{exporter=\"loadbalancing\",endpoint=\"{victim}\",success=\"false\"}}"
        )) > 0,
        "the requests that timed out are counted as failed outcomes"
    );
    backs[1].signal("CONT");

    front.stop().await;
    // A resumed back may still be writing requests the front gave up on: each stops only once drained.
    let mut written = Vec::new();
    for back in backs {
        let dir = back.dir.clone();
        back.stop().await;
        written.push(support::read_spans(&dir.join("traces.binpb"), false));
    }
    let landed = landed(&written);
    assert_eq!(landed.unique, keys(&sent), "nothing is lost");
    assert!(
        landed.duplicates as u64 <= metrics.get(RETRIED),
        "{} duplicates but only {} spans were sent again",
        landed.duplicates,
        metrics.get(RETRIED)
    );
}

/// `loadbalancing` over a membership this test changes.
struct Managed(Arc<StaticResolver>);

impl Component for Managed {
    type Config = LoadBalancingExporterConfig;
    const TYPE: &'static str = "loadbalancing";
}

impl ExporterFactory for Managed {
    fn build(
        &self,
        config: &LoadBalancingExporterConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        build_with_resolver(
            config,
            context,
            self.0.clone() as Arc<dyn Resolver>,
            "managed",
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_added_mid_stream_receives_its_share() {
    let dir = tempfile::tempdir().unwrap();
    let mut backs = Vec::new();
    for i in 1..=3 {
        backs.push(Collector::start(&format!("back-{i}"), dir.path(), BACK).await);
    }
    let addresses: Vec<String> = backs.iter().map(Collector::address).collect();
    let endpoints = |n: usize| -> Vec<Endpoint> {
        addresses[..n]
            .iter()
            .map(|a| Endpoint::new(a.as_str()))
            .collect()
    };
    let membership = Arc::new(StaticResolver::new(endpoints(2)).unwrap());
    let components = Components::builtin().with_exporter(Managed(membership.clone()));
    let config = Config::from_yaml_with(
        &FRONT
            .replace("{grpc}", "0")
            .replace("127.0.0.1:{metrics}", "127.0.0.1:0")
            .replace("{backends}", &addresses[0])
            .replace("{timeout}", PATIENT),
        &components,
        &|_| None,
    )
    .unwrap();
    let front = InProcess::new(config).start().await.unwrap();
    let telemetry = front.telemetry().clone();
    let mut client = Client::connect(front.grpc_addr("otlp").unwrap().port()).await;
    let mut generator = Generator::new(4);
    let before = send(&mut client, &mut generator, 40).await;
    // Routing happens when a batch is sent, not when it is queued: let the first spans go out under two members.
    let started = tokio::time::Instant::now();
    while telemetry.total("otelcol_exporter_sent_spans") < before.len() as u64 {
        assert!(
            started.elapsed() < support::PATIENCE,
            "the first spans were not delivered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    membership.set(endpoints(3)).unwrap();
    let backends = |t: &otlp_suite::collector::telemetry::Telemetry| {
        t.value(
            "otelcol_loadbalancer_num_backends",
            &[("exporter", "loadbalancing"), ("resolver", "managed")],
        )
    };
    let started = tokio::time::Instant::now();
    while backends(&telemetry) != Some(3) {
        assert!(
            started.elapsed() < support::PATIENCE,
            "the new member was not applied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = send(&mut client, &mut generator, 60).await;
    assert!(front.shutdown(Duration::from_secs(30)).await.is_clean());

    let mut written = Vec::new();
    for back in backs {
        let dir = back.dir.clone();
        back.stop().await;
        written.push(support::read_spans(&dir.join("traces.binpb"), false));
    }
    let where_landed: HashMap<(Vec<u8>, Vec<u8>), usize> = written
        .iter()
        .enumerate()
        .flat_map(|(i, spans)| spans.iter().map(move |s| (span_key(s), i)))
        .collect();
    assert_eq!(
        where_landed.len(),
        before.len() + after.len(),
        "every span once"
    );
    let ring = |n| KeyRouter::new(ConsistentHash::new(), endpoints(n)).unwrap();
    let (two, three) = (ring(2), ring(3));
    let owner = |router: &KeyRouter<ConsistentHash>, span: &Span| {
        let id = router.owner(span.trace_id.as_slice()).unwrap().id().clone();
        addresses.iter().position(|a| id == a.as_str()).unwrap()
    };
    for span in &before {
        assert_eq!(where_landed[&span_key(span)], owner(&two, span));
    }
    let mut to_newcomer = 0;
    let mut traces_after = HashMap::new();
    for span in &after {
        let expected = owner(&three, span);
        assert_eq!(where_landed[&span_key(span)], expected);
        to_newcomer += usize::from(expected == 2);
        traces_after.insert(span.trace_id.as_slice(), expected == 2);
    }
    // Its share: about a third of the traces sent after it joined, and nothing before. Traces,
    // not spans, are what the ring places, and the trace sizes vary widely, so the bound is
    // five binomial standard deviations over the traces. The ports, and with them the ring,
    // differ from run to run; a fixed bound on the span share (a fifth to a half) once failed
    // in CI with 527 of 2966 spans.
    let traces = traces_after.len() as f64;
    let newcomer_traces = traces_after.values().filter(|&&new| new).count() as f64;
    let deviation = 5.0 * (traces * (1.0 / 3.0) * (2.0 / 3.0)).sqrt();
    assert!(
        newcomer_traces > 0.0 && (newcomer_traces - traces / 3.0).abs() < deviation,
        "{newcomer_traces} of {traces} traces"
    );
    assert_eq!(written[2].len(), to_newcomer);
}

/// Tail sampling: keep traces with an error, and traces at least `{threshold}` ms long.
const TAIL_BACK: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
processors:
  tail_sampling:
    decision_wait: 500ms
    num_traces: 100000
    policies:
      - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
      - { name: slow, type: latency, latency: { threshold_ms: {threshold} } }
exporters:
  file: { path: "{dir}/traces.binpb", format: proto }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [tail_sampling], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:{metrics}" }
"#;

fn duration_ms(spans: &[&Span]) -> u64 {
    let start = spans
        .iter()
        .map(|s| s.start_time_unix_nano)
        .min()
        .unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.end_time_unix_nano)
        .max()
        .unwrap_or(0);
    end.saturating_sub(start) / 1_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_sampling_scaled_out_keeps_what_one_collector_keeps() {
    let mut generator = Generator::new(5).with_error_rate(0.1).unwrap();
    let requests: Vec<ExportTraceServiceRequest> =
        (0..60).map(|_| generator.whole_traces(60)).collect();
    let all: Vec<Span> = requests.iter().flat_map(spans_of).collect();
    let mut traces: HashMap<Vec<u8>, Vec<&Span>> = HashMap::new();
    for span in &all {
        traces.entry(span.trace_id.clone()).or_default().push(span);
    }
    // The latency threshold is the median trace duration: the latency policy keeps about half the traces.
    let mut durations: Vec<u64> = traces.values().map(|spans| duration_ms(spans)).collect();
    durations.sort_unstable();
    let threshold = durations[durations.len() / 2].max(1);
    let back = TAIL_BACK.replace("{threshold}", &threshold.to_string());

    let dir = tempfile::tempdir().unwrap();
    let (front, backs) = cluster(dir.path(), &back, PATIENT).await;
    let single = Collector::start("single", dir.path(), &back).await;
    let mut to_front = Client::connect(front.grpc).await;
    let mut to_single = Client::connect(single.grpc).await;
    for request in &requests {
        to_front.send(request).await;
        to_single.send(request).await;
    }
    drained(&front, all.len()).await;
    front.stop().await;
    // Stopping decides the traces still waiting, as a single collector's stop does.
    let mut written = Vec::new();
    for back in backs {
        let dir = back.dir.clone();
        back.stop().await;
        written.push(support::read_spans(&dir.join("traces.binpb"), false));
    }
    let single_dir = single.dir.clone();
    single.stop().await;
    let kept_by_one = support::read_spans(&single_dir.join("traces.binpb"), false);

    let kept_traces = |spans: &[Span]| -> BTreeSet<Vec<u8>> {
        spans.iter().map(|s| s.trace_id.clone()).collect()
    };
    let one = kept_traces(&kept_by_one);
    let landed = landed(&written);
    let scaled: BTreeSet<Vec<u8>> = landed.traces.keys().cloned().collect();
    assert_eq!(
        scaled, one,
        "three backs keep exactly what one collector keeps"
    );
    assert!(
        !one.is_empty() && one.len() < traces.len(),
        "the policies choose"
    );
    let with_errors: BTreeSet<Vec<u8>> = all
        .iter()
        .filter(|s| {
            s.status
                .as_ref()
                .is_some_and(|st| st.code == StatusCode::Error as i32)
        })
        .map(|s| s.trace_id.clone())
        .collect();
    assert!(
        with_errors.is_subset(&one),
        "every trace with an error is kept"
    );
    assert!(one.len() > with_errors.len(), "slow traces are kept too");
    assert_eq!(landed.duplicates, 0);
    for trace in &scaled {
        assert_eq!(landed.traces[trace].len(), 1, "a kept trace is in one back");
        let spans_kept = written
            .iter()
            .flatten()
            .filter(|s| &s.trace_id == trace)
            .count();
        assert_eq!(spans_kept, traces[trace].len(), "and whole");
    }
    assert_eq!(keys(&kept_by_one), landed.unique);
}
