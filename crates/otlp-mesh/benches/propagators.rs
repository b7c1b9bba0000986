//! Criterion benchmarks of extract+inject per propagator. B3 and X-Ray are measured against
//! opentelemetry-zipkin's and opentelemetry-aws's propagators in the same group and run
//! (`peer_*`); the other formats have no maintained Rust peer and are measured on their own.
//!
//! One element is one request: extract from its headers, then inject into fresh headers.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use otlp_mesh::{
    B3Encoding, B3Propagator, EnvoyPropagator, Format, JaegerPropagator, LinkerdPropagator,
    MeshPropagator, OpenCensusPropagator, W3cTraceContextPropagator, XRayPropagator,
};

fn carrier(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn extract_inject(propagator: &dyn TextMapPropagator, incoming: &HashMap<String, String>) -> usize {
    let cx = propagator.extract_with_context(&Context::new(), incoming);
    let mut outgoing = HashMap::with_capacity(4);
    propagator.inject_context(&cx, &mut outgoing);
    outgoing.len()
}

/// `(function, parameter, propagator, incoming headers)`.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a dyn TextMapPropagator,
    HashMap<String, String>,
);

fn bench_group(c: &mut Criterion, group_name: &str, cases: &[Case<'_>]) {
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for (function, parameter, propagator, incoming) in cases {
        // Both sides must actually produce headers, or the comparison is meaningless.
        assert!(
            extract_inject(*propagator, incoming) > 0,
            "{function}/{parameter} injected nothing"
        );
        group.bench_with_input(
            BenchmarkId::new(*function, *parameter),
            incoming,
            |b, incoming| b.iter(|| extract_inject(*propagator, black_box(incoming))),
        );
    }
    group.finish();
}

// opentelemetry-zipkin is deprecated as an exporter, but its B3 propagator is still the one Rust
// services use, so it is the right peer.
#[allow(deprecated)]
fn b3(c: &mut Criterion) {
    let multi_headers = carrier(&[
        ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
        ("x-b3-spanid", "e457b5a2e4d86bd1"),
        ("x-b3-parentspanid", "05e3ac9a4f6e3b90"),
        ("x-b3-sampled", "1"),
    ]);
    let single_header = carrier(&[(
        "b3",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
    )]);
    let ours_multi = B3Propagator::new(B3Encoding::Multi);
    let ours_single = B3Propagator::new(B3Encoding::Single);
    let peer_multi = opentelemetry_zipkin::Propagator::with_encoding(
        opentelemetry_zipkin::B3Encoding::MultipleHeader,
    );
    let peer_single = opentelemetry_zipkin::Propagator::with_encoding(
        opentelemetry_zipkin::B3Encoding::SingleHeader,
    );
    bench_group(
        c,
        "b3_extract_inject",
        &[
            ("otlp_mesh", "multi", &ours_multi, multi_headers.clone()),
            ("peer_zipkin", "multi", &peer_multi, multi_headers),
            ("otlp_mesh", "single", &ours_single, single_header.clone()),
            ("peer_zipkin", "single", &peer_single, single_header),
        ],
    );
}

fn xray(c: &mut Criterion) {
    let plain = carrier(&[(
        "x-amzn-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    )]);
    let with_fields = carrier(&[(
        "x-amzn-trace-id",
        "Root=1-58406520-a006649127e371903a2de979;Self=1-58406520-bf42676c05e20ba4a90e448e;Parent=4c721bf33e3caf8f;Sampled=1;Lineage=a87bd80c:1|68fd508a:5",
    )]);
    let ours = XRayPropagator::new();
    let peer = opentelemetry_aws::trace::XrayPropagator::default();
    bench_group(
        c,
        "xray_extract_inject",
        &[
            ("otlp_mesh", "root_parent_sampled", &ours, plain.clone()),
            ("peer_aws", "root_parent_sampled", &peer, plain),
            ("otlp_mesh", "self_lineage", &ours, with_fields.clone()),
            ("peer_aws", "self_lineage", &peer, with_fields),
        ],
    );
}

fn other_formats(c: &mut Criterion) {
    let w3c = W3cTraceContextPropagator::new();
    let sdk_w3c = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let two_vendors = carrier(&[
        ("traceparent", traceparent),
        ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
    ]);
    let parent_only = carrier(&[("traceparent", traceparent)]);
    let eight_vendors = carrier(&[
        ("traceparent", traceparent),
        (
            "tracestate",
            "ot=th:c;rv:ce929d0e0e4736,dd=s:1;o:rum;t.dm:-4,rojo=00f067aa0ba902b7,\
             congo=t61rcWkgMzE,in=2e3d8b7a5c9f1e0d,nr@tenant=0-0-1234-5678-00f067aa0ba902b7,\
             az=cid:00f067aa,sw=00f067aa0ba902b7-01",
        ),
    ]);
    // Both parse and write the same headers here (Level 1 input the SDK represents fully), so the
    // ratio is the cost of the Level 2 implementation against the SDK's Level 1 one.
    let mut cases: Vec<Case<'_>> = Vec::new();
    for (parameter, headers) in [
        ("traceparent_only", parent_only),
        ("traceparent_tracestate", two_vendors),
        ("tracestate_8_members", eight_vendors),
    ] {
        let outputs = [&w3c as &dyn TextMapPropagator, &sdk_w3c].map(|propagator| {
            let mut outgoing = HashMap::new();
            propagator.inject_context(
                &propagator.extract_with_context(&Context::new(), &headers),
                &mut outgoing,
            );
            outgoing.retain(|_, value: &mut String| !value.is_empty());
            outgoing
        });
        assert_eq!(
            outputs[0], outputs[1],
            "{parameter}: both must do the same work"
        );
        cases.push(("otlp_mesh", parameter, &w3c, headers.clone()));
        cases.push(("peer_sdk_tracecontext", parameter, &sdk_w3c, headers));
    }
    bench_group(c, "w3c_extract_inject", &cases);

    let jaeger = JaegerPropagator::new();
    let opencensus = OpenCensusPropagator::new();
    let linkerd = LinkerdPropagator::new();
    let envoy = EnvoyPropagator::new();
    let mesh = MeshPropagator::builder()
        .inject([Format::TraceContext, Format::B3])
        .build();
    bench_group(
        c,
        "mesh_formats_extract_inject",
        &[
            (
                "jaeger",
                "sampled",
                &jaeger,
                carrier(&[(
                    "uber-trace-id",
                    "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
                )]),
            ),
            (
                "opencensus",
                "sampled",
                &opencensus,
                carrier(&[("grpc-trace-bin", "AABL+S81d7NNpqPOkp0ODkc2AQDwZ6oLqQK3AgE")]),
            ),
            (
                "linkerd",
                "sampled",
                &linkerd,
                carrier(&[(
                    "l5d-ctx-trace",
                    "AQIDBAUGBwgREhMUFRYXGCEiIyQlJicoAAAAAAAAAAY=",
                )]),
            ),
            (
                "envoy",
                "request_id",
                &envoy,
                carrier(&[("x-request-id", "125a4afb-6f55-94ba-ad80-413f09f48a28")]),
            ),
            (
                "composite_b3_hop",
                "sampled",
                &mesh,
                carrier(&[
                    ("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"),
                    ("x-request-id", "125a4afb-6f55-94ba-ad80-413f09f48a28"),
                ]),
            ),
        ],
    );
}

/// Bytes each format adds to a request (names + values), written as a notes fragment: not a time,
/// so it is reported beside the timings instead of through criterion.
fn header_bytes_notes(_c: &mut Criterion) {
    let Some(dir) = std::env::var_os("OTLP_BENCH_NOTES") else {
        return;
    };
    let cx = W3cTraceContextPropagator::new().extract_with_context(
        &Context::new(),
        &carrier(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]),
    );
    let mut table = String::from(
        "### otlp-mesh: header bytes per request\n\n| format | headers | bytes |\n|---|---|---|\n",
    );
    for format in Format::ALL {
        let propagator = MeshPropagator::builder()
            .inject([format])
            .baggage(false)
            .envoy(false)
            .build();
        let mut outgoing = HashMap::new();
        propagator.inject_context(&cx, &mut outgoing);
        let bytes: usize = outgoing
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum();
        table.push_str(&format!(
            "| {} | {} | {bytes} |\n",
            format.as_str(),
            outgoing.len()
        ));
    }
    let path = std::path::Path::new(&dir).join("otlp-mesh-header-bytes.md");
    if let Err(error) = std::fs::write(&path, table) {
        eprintln!("could not write {}: {error}", path.display());
    }
}

criterion_group!(benches, b3, xray, other_formats, header_bytes_notes);
criterion_main!(benches);
