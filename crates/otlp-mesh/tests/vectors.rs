//! Published vectors: the B3 specification's examples, AWS's X-Ray header examples, and the
//! extraction/injection tables of opentelemetry-rust's B3 (opentelemetry-zipkin) and X-Ray
//! (opentelemetry-aws) propagator tests, plus malformed headers for every format.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use otlp_mesh::{
    B3Encoding, B3Propagator, Decision, EnvoyPropagator, EnvoyTraceReason, Format,
    JaegerPropagator, LinkerdPropagator, MeshPropagator, OpenCensusPropagator, SamplingHint,
    W3cTraceContextPropagator, XRayPropagator, envoy_request, extracted_from, sampling_hint,
    with_sampling_hint, xray_fields,
};

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_lowercase(), (*value).to_owned()))
        .collect()
}

fn extract(propagator: &dyn TextMapPropagator, pairs: &[(&str, &str)]) -> Context {
    propagator.extract_with_context(&Context::new(), &headers(pairs))
}

fn span_context(cx: &Context) -> SpanContext {
    cx.span().span_context().clone()
}

fn remote(trace: u128, span: u64, flags: TraceFlags) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        flags,
        true,
        TraceState::default(),
    )
}

fn inject(propagator: &dyn TextMapPropagator, cx: &Context) -> HashMap<String, String> {
    let mut out = HashMap::new();
    propagator.inject_context(cx, &mut out);
    out
}

const SPEC_TRACE: u128 = 0x80f1_98ee_5634_3ba8_64fe_8b2a_57d3_eff7;
const SPEC_SPAN: u64 = 0xe457_b5a2_e4d8_6bd1;
const OTEL_TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
const OTEL_SPAN: u64 = 0x00f0_67aa_0ba9_02b7;

#[test]
fn b3_specification_examples() {
    let b3 = B3Propagator::default();
    let cx = extract(
        &b3,
        &[(
            "b3",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
        )],
    );
    assert_eq!(
        span_context(&cx),
        remote(SPEC_TRACE, SPEC_SPAN, TraceFlags::SAMPLED)
    );
    assert_eq!(sampling_hint(&cx), None);

    let cx = extract(
        &b3,
        &[
            ("X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7"),
            ("X-B3-ParentSpanId", "05e3ac9a4f6e3b90"),
            ("X-B3-SpanId", "e457b5a2e4d86bd1"),
            ("X-B3-Sampled", "1"),
        ],
    );
    assert_eq!(
        span_context(&cx),
        remote(SPEC_TRACE, SPEC_SPAN, TraceFlags::SAMPLED)
    );

    let cx = extract(
        &b3,
        &[("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d")],
    );
    assert_eq!(
        span_context(&cx),
        remote(SPEC_TRACE, SPEC_SPAN, TraceFlags::SAMPLED)
    );
    assert_eq!(sampling_hint(&cx), Some(SamplingHint::Debug));

    let cx = extract(
        &b3,
        &[("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1")],
    );
    assert_eq!(
        span_context(&cx),
        remote(SPEC_TRACE, SPEC_SPAN, TraceFlags::default())
    );
    assert_eq!(sampling_hint(&cx), Some(SamplingHint::Deferred));

    // "b3: 0" carries only the decision.
    let cx = extract(&b3, &[("b3", "0")]);
    assert!(!span_context(&cx).is_valid());
    assert_eq!(
        sampling_hint(&cx),
        Some(SamplingHint::DecisionOnly(Decision::Deny))
    );
    let single = B3Propagator::new(B3Encoding::Single);
    assert_eq!(inject(&single, &cx)["b3"], "0");
    assert_eq!(
        inject(&B3Propagator::new(B3Encoding::Multi), &cx)["x-b3-sampled"],
        "0"
    );

    // 64-bit trace IDs are left-padded.
    let cx = extract(
        &b3,
        &[("b3", "a3ce929d0e0e4736-00f067aa0ba902b7-1-00000000000000cd")],
    );
    assert_eq!(
        span_context(&cx).trace_id(),
        TraceId::from(0xa3ce_929d_0e0e_4736)
    );
}

/// Extra multi headers beside trace and span ID, the expected context, the expected hint.
type MultiCase<'a> = (
    &'a [(&'a str, &'a str)],
    &'a SpanContext,
    Option<SamplingHint>,
);

#[test]
fn b3_opentelemetry_rust_extract_table() {
    let b3 = B3Propagator::default();
    let sampled = remote(OTEL_TRACE, OTEL_SPAN, TraceFlags::SAMPLED);
    let unsampled = remote(OTEL_TRACE, OTEL_SPAN, TraceFlags::default());
    let single_cases = [
        (
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            &unsampled,
            Some(SamplingHint::Deferred),
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            &unsampled,
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            &sampled,
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-d",
            &sampled,
            Some(SamplingHint::Debug),
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-00000000000000cd",
            &sampled,
            None,
        ),
    ];
    for (value, expected, hint) in single_cases {
        let cx = extract(&b3, &[("b3", value)]);
        assert_eq!(&span_context(&cx), expected, "{value}");
        assert_eq!(sampling_hint(&cx), hint, "{value}");
    }
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let span = "00f067aa0ba902b7";
    let multi_cases: [MultiCase<'_>; 8] = [
        (&[], &unsampled, Some(SamplingHint::Deferred)),
        (&[("x-b3-sampled", "0")], &unsampled, None),
        (&[("x-b3-sampled", "1")], &sampled, None),
        (&[("x-b3-sampled", "true")], &sampled, None),
        (&[("x-b3-sampled", "false")], &unsampled, None),
        (&[("x-b3-flags", "1")], &sampled, Some(SamplingHint::Debug)),
        (
            &[
                ("x-b3-sampled", "0"),
                ("x-b3-flags", "1"),
                ("x-b3-parentspanid", "00f067aa0ba90200"),
            ],
            &sampled,
            Some(SamplingHint::Debug),
        ),
        (
            &[
                ("x-b3-sampled", "1"),
                ("x-b3-flags", "2"),
                ("x-b3-parentspanid", "00f067aa0ba90200"),
            ],
            &sampled,
            None,
        ),
    ];
    for (extra, expected, hint) in multi_cases {
        let mut pairs = vec![("x-b3-traceid", trace), ("x-b3-spanid", span)];
        pairs.extend_from_slice(extra);
        let cx = extract(&b3, &pairs);
        assert_eq!(&span_context(&cx), expected, "{extra:?}");
        assert_eq!(sampling_hint(&cx), hint, "{extra:?}");
    }
    // The single header wins; an invalid single header falls back to the multi headers.
    let cx = extract(
        &b3,
        &[
            ("x-b3-traceid", trace),
            ("x-b3-spanid", span),
            ("b3", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"),
        ],
    );
    assert_eq!(span_context(&cx), unsampled);
    let cx = extract(
        &b3,
        &[
            ("x-b3-traceid", trace),
            ("x-b3-spanid", span),
            ("x-b3-sampled", "0"),
            ("b3", "-"),
        ],
    );
    assert_eq!(span_context(&cx), unsampled);
    let cx = extract(
        &b3,
        &[
            ("x-b3-traceid", "0"),
            ("x-b3-spanid", "0"),
            ("x-b3-sampled", "0"),
            ("b3", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"),
        ],
    );
    assert_eq!(span_context(&cx), unsampled);
}

#[test]
fn b3_opentelemetry_rust_inject_table() {
    let sampled = remote(OTEL_TRACE, OTEL_SPAN, TraceFlags::SAMPLED);
    let unsampled = remote(OTEL_TRACE, OTEL_SPAN, TraceFlags::default());
    let base =
        |span_context: &SpanContext| Context::new().with_remote_span_context(span_context.clone());
    let debug = with_sampling_hint(
        &base(&sampled),
        TraceId::from(OTEL_TRACE),
        SamplingHint::Debug,
    );
    let deferred = with_sampling_hint(
        &base(&unsampled),
        TraceId::from(OTEL_TRACE),
        SamplingHint::Deferred,
    );
    let single = B3Propagator::new(B3Encoding::Single);
    let multi = B3Propagator::new(B3Encoding::Multi);
    let id = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7";
    assert_eq!(inject(&single, &base(&sampled))["b3"], format!("{id}-1"));
    assert_eq!(inject(&single, &debug)["b3"], format!("{id}-d"));
    assert_eq!(inject(&single, &deferred)["b3"], id);
    assert_eq!(inject(&single, &base(&unsampled))["b3"], format!("{id}-0"));

    let out = inject(&multi, &base(&sampled));
    assert_eq!(out["x-b3-traceid"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(out["x-b3-spanid"], "00f067aa0ba902b7");
    assert_eq!(out["x-b3-sampled"], "1");
    let out = inject(&multi, &debug);
    assert_eq!(out.get("x-b3-flags").map(String::as_str), Some("1"));
    assert_eq!(
        out.get("x-b3-sampled"),
        None,
        "debug implies accept; the spec says not to send both"
    );
    let out = inject(&multi, &deferred);
    assert_eq!(out.get("x-b3-sampled"), None);
    assert!(inject(&multi, &Context::new()).is_empty());
}

#[test]
fn b3_invalid_tables() {
    let b3 = B3Propagator::default();
    for value in [
        "ab00000000000000000000000000000000-cd00000000000000-1",
        "ab000000000000000000000000000000-cd0000000000000000-1",
        "00-ab000000000000000000000000000000-cd00000000000000-01",
        "ab000000000000000000000000000000-cd00000000000000-1-cd0000000000000000",
        "qw000000000000000000000000000000-cd00000000000000-1",
        "ab000000000000000000000000000000-qw00000000000000-1",
        "ab000000000000000000000000000000-cd00000000000000-q",
        "AB000000000000000000000000000000-cd00000000000000-1",
        "ab000000000000000000000000000000-CD00000000000000-1",
        "ab000000000000000000000000000000-cd00000000000000-1-EF00000000000000",
        "ab000000000000000000000000000000-cd00000000000000-true",
        "00000000000000000000000000000000-cd00000000000000-1",
        "-",
        "",
    ] {
        let cx = extract(&b3, &[("b3", value)]);
        assert!(!span_context(&cx).is_valid(), "{value:?}");
    }
    let span = "00f067aa0ba902b7";
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let cases: [&[(&str, &str)]; 11] = [
        &[],
        &[("x-b3-spanid", span)],
        &[("x-b3-traceid", trace)],
        &[
            ("x-b3-traceid", "ab00000000000000000000000000000000"),
            ("x-b3-spanid", "cd00000000000000"),
            ("x-b3-sampled", "1"),
        ],
        &[
            ("x-b3-traceid", "ab0000000000000000000000000000"),
            ("x-b3-spanid", "cd00000000000000"),
            ("x-b3-sampled", "1"),
        ],
        &[
            ("x-b3-traceid", "ab0000000000"),
            ("x-b3-spanid", "cd00000000000000"),
            ("x-b3-sampled", "1"),
        ],
        &[
            ("x-b3-traceid", "ab000000000000000000000000000000"),
            ("x-b3-spanid", "cd0000000000000000"),
            ("x-b3-sampled", "1"),
        ],
        &[
            ("x-b3-traceid", trace),
            ("x-b3-spanid", span),
            ("x-b3-sampled", "10"),
        ],
        &[
            ("x-b3-traceid", trace),
            ("x-b3-spanid", span),
            ("x-b3-sampled", "d"),
        ],
        &[
            ("x-b3-traceid", "4bf92f3577b34da6a3ce929d0e0e4hhh"),
            ("x-b3-spanid", span),
            ("x-b3-sampled", "1"),
        ],
        &[
            ("x-b3-traceid", "4BF92F3577B34DA6A3CE929D0E0E4736"),
            ("x-b3-spanid", span),
            ("x-b3-sampled", "1"),
        ],
    ];
    for pairs in cases {
        assert!(!span_context(&extract(&b3, pairs)).is_valid(), "{pairs:?}");
    }
}

#[test]
fn xray_aws_documentation_and_opentelemetry_aws_tables() {
    let xray = XRayPropagator::new();
    let trace = 0x5759_e988_bd86_2e3f_e1be_46a9_9427_2793;
    let cx = extract(
        &xray,
        &[(
            "X-Amzn-Trace-Id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )],
    );
    assert_eq!(
        span_context(&cx),
        remote(trace, 0x5399_5c3f_42cd_8ad8, TraceFlags::SAMPLED)
    );

    let with_lineage = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2";
    let cx = extract(&xray, &[("x-amzn-trace-id", with_lineage)]);
    assert_eq!(
        xray_fields(&cx).and_then(|f| f.lineage.as_deref()),
        Some("a87bd80c:1|68fd508a:5|c512fbe3:2")
    );
    assert_eq!(inject(&xray, &cx)["x-amzn-trace-id"], with_lineage);

    let otel_aws_trace = 0x5840_6520_a006_6491_27e3_7190_3a2d_e979;
    let parent = 0x4c72_1bf3_3e3c_af8f;
    let table = [
        (
            "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=0",
            TraceFlags::default(),
            None,
        ),
        (
            "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=1",
            TraceFlags::SAMPLED,
            None,
        ),
        (
            "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f",
            TraceFlags::default(),
            Some(SamplingHint::Deferred),
        ),
        (
            "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=?",
            TraceFlags::default(),
            Some(SamplingHint::Deferred),
        ),
        (
            "Root=1-58406520-a006649127e371903a2de979;Self=1-58406520-bf42676c05e20ba4a90e448e;Parent=4c721bf33e3caf8f;Sampled=1",
            TraceFlags::SAMPLED,
            None,
        ),
        (
            "Root=1-58406520-a006649127e371903a2de979;Self=1-58406520-bf42676c05e20ba4a90e448e;Parent=4c721bf33e3caf8f;Sampled=1;RandomKey=RandomValue",
            TraceFlags::SAMPLED,
            None,
        ),
    ];
    for (value, flags, hint) in table {
        let cx = extract(&xray, &[("x-amzn-trace-id", value)]);
        assert_eq!(
            span_context(&cx),
            remote(otel_aws_trace, parent, flags),
            "{value}"
        );
        assert_eq!(sampling_hint(&cx), hint, "{value}");
    }
    let cx = extract(&xray, &[("x-amzn-trace-id", table[5].0)]);
    let fields = xray_fields(&cx).unwrap();
    assert_eq!(
        fields.self_id.as_deref(),
        Some("1-58406520-bf42676c05e20ba4a90e448e")
    );
    assert_eq!(
        fields.other,
        [("RandomKey".to_owned(), "RandomValue".to_owned())]
    );
    assert_eq!(
        inject(&xray, &cx)["x-amzn-trace-id"],
        "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=1;Self=1-58406520-bf42676c05e20ba4a90e448e;RandomKey=RandomValue"
    );
    let deferred = extract(&xray, &[("x-amzn-trace-id", table[3].0)]);
    assert!(inject(&xray, &deferred)["x-amzn-trace-id"].ends_with("Sampled=?"));

    for invalid in [
        "",
        "Root=",
        "Root=1-bogus-bad",
        "Root=1-too-many-parts",
        "Root=1-58406520-a006649127e371903a2de979;Parent=garbage",
        // A Root without Parent names a trace but no span to continue.
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
        "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=yes",
        "Root=2-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f",
        "Root=1-00000000-000000000000000000000000;Parent=4c721bf33e3caf8f",
        "Root=1-58406520-a006649127e371903a2de979;Parent=0000000000000000",
    ] {
        assert!(
            !span_context(&extract(&xray, &[("x-amzn-trace-id", invalid)])).is_valid(),
            "{invalid:?}"
        );
    }
}

#[test]
fn linkerd_finagle_layout() {
    let linkerd = LinkerdPropagator::new();
    // span 0x0102030405060708, parent 0x1112131415161718, trace low 0x2122232425262728,
    // flags = sampling known | sampled (6), trace high 0x3132333435363738.
    let mut bytes = Vec::new();
    for word in [
        0x0102_0304_0506_0708_u64,
        0x1112_1314_1516_1718,
        0x2122_2324_2526_2728,
        6,
        0x3132_3334_3536_3738,
    ] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let cx = extract(&linkerd, &[("l5d-ctx-trace", &encoded)]);
    assert_eq!(
        span_context(&cx),
        remote(
            0x3132_3334_3536_3738_2122_2324_2526_2728,
            0x0102_0304_0506_0708,
            TraceFlags::SAMPLED
        )
    );
    let encoded_64 = base64::engine::general_purpose::STANDARD.encode(&bytes[..32]);
    let cx = extract(&linkerd, &[("l5d-ctx-trace", &encoded_64)]);
    assert_eq!(
        span_context(&cx).trace_id(),
        TraceId::from(0x2122_2324_2526_2728)
    );
    // Flags 0: sampling not decided.
    let mut deferred = bytes[..32].to_vec();
    deferred[31] = 0;
    let cx = extract(
        &linkerd,
        &[(
            "l5d-ctx-trace",
            &base64::engine::general_purpose::STANDARD.encode(&deferred),
        )],
    );
    assert_eq!(sampling_hint(&cx), Some(SamplingHint::Deferred));
    for invalid in [
        "",
        "not base64!",
        "AAAA",
        &base64::engine::general_purpose::STANDARD.encode([0u8; 32]),
    ] {
        assert!(
            !span_context(&extract(&linkerd, &[("l5d-ctx-trace", invalid)])).is_valid(),
            "{invalid:?}"
        );
    }
}

#[test]
fn opencensus_binary_format() {
    let opencensus = OpenCensusPropagator::new();
    // The specification's example bytes: trace 4bf92f3577b34da6a3ce929d0e0e4736, span 00f067aa0ba902b7, sampled.
    let mut bytes = vec![0u8, 0];
    bytes.extend_from_slice(&OTEL_TRACE.to_be_bytes());
    bytes.push(1);
    bytes.extend_from_slice(&OTEL_SPAN.to_be_bytes());
    bytes.extend_from_slice(&[2, 1]);
    use base64::Engine;
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ] {
        let cx = extract(&opencensus, &[("grpc-trace-bin", &engine.encode(&bytes))]);
        assert_eq!(
            span_context(&cx),
            remote(OTEL_TRACE, OTEL_SPAN, TraceFlags::SAMPLED)
        );
    }
    let cx = extract(
        &opencensus,
        &[(
            "grpc-trace-bin",
            &base64::engine::general_purpose::STANDARD.encode(&bytes),
        )],
    );
    assert_eq!(
        inject(&opencensus, &cx)["grpc-trace-bin"],
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes)
    );
    let mut wrong_version = bytes.clone();
    wrong_version[0] = 1;
    for invalid in [&bytes[..10], &wrong_version[..], &[0u8][..], &[][..]] {
        let value = base64::engine::general_purpose::STANDARD.encode(invalid);
        assert!(!span_context(&extract(&opencensus, &[("grpc-trace-bin", &value)])).is_valid());
    }
}

#[test]
fn jaeger_format() {
    let jaeger = JaegerPropagator::new();
    let cx = extract(
        &jaeger,
        &[(
            "uber-trace-id",
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
        )],
    );
    assert_eq!(
        span_context(&cx),
        remote(OTEL_TRACE, OTEL_SPAN, TraceFlags::SAMPLED)
    );
    let cx = extract(
        &jaeger,
        &[(
            "uber-trace-id",
            "4bf92f3577b34da6a3ce929d0e0e4736%3A00f067aa0ba902b7%3A0%3A3",
        )],
    );
    assert_eq!(sampling_hint(&cx), Some(SamplingHint::Debug));
    // Leading zeros may be dropped.
    let cx = extract(
        &jaeger,
        &[("uber-trace-id", "a3ce929d0e0e4736:f067aa0ba902b7:0:0")],
    );
    assert_eq!(
        span_context(&cx),
        remote(0xa3ce_929d_0e0e_4736, OTEL_SPAN, TraceFlags::default())
    );
    for invalid in [
        "",
        "0:00f067aa0ba902b7:0:1",
        "4bf92f3577b34da6a3ce929d0e0e4736:0:0:1",
        "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0",
        "4bf92f3577b34da6a3ce929d0e0e47361:00f067aa0ba902b7:0:1",
        "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:100",
        "+bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
    ] {
        assert!(
            !span_context(&extract(&jaeger, &[("uber-trace-id", invalid)])).is_valid(),
            "{invalid:?}"
        );
    }
}

#[test]
fn envoy_request_id_trace_reason() {
    let envoy = EnvoyPropagator::new();
    for (request_id, reason) in [
        (
            "125a4afb-6f55-a4ba-ad80-413f09f48a28",
            EnvoyTraceReason::Forced,
        ),
        (
            "125a4afb-6f55-94ba-ad80-413f09f48a28",
            EnvoyTraceReason::Sampled,
        ),
        (
            "125a4afb-6f55-b4ba-ad80-413f09f48a28",
            EnvoyTraceReason::Client,
        ),
        (
            "125a4afb-6f55-44ba-ad80-413f09f48a28",
            EnvoyTraceReason::NotTraced,
        ),
    ] {
        let cx = extract(&envoy, &[("x-request-id", request_id)]);
        let request = envoy_request(&cx).unwrap();
        assert_eq!(request.trace_reason, Some(reason));
        assert_eq!(inject(&envoy, &cx)["x-request-id"], request_id);
    }
    let cx = extract(
        &envoy,
        &[
            ("x-request-id", "not-a-uuid"),
            ("x-client-trace-id", "abc"),
            ("x-envoy-force-trace", "true"),
        ],
    );
    let request = envoy_request(&cx).unwrap();
    assert_eq!(request.trace_reason, None);
    assert_eq!(request.client_trace_id.as_deref(), Some("abc"));
    assert!(request.force_trace);
    assert!(envoy_request(&extract(&envoy, &[])).is_none());
}

#[test]
fn w3c_opentelemetry_rust_tables() {
    let w3c = W3cTraceContextPropagator::new();
    for (traceparent, flags) in [
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            TraceFlags::default(),
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            TraceFlags::SAMPLED,
        ),
        // Level 2 keeps the random-trace-id flag (0x02); the SDK's Level 1 table clears it.
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
            TraceFlags::SAMPLED | otlp_mesh::RANDOM_TRACE_ID,
        ),
        (
            "02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",
            TraceFlags::SAMPLED,
        ),
        (
            "02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-08",
            TraceFlags::default(),
        ),
        (
            "02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-XYZxsf09",
            TraceFlags::SAMPLED,
        ),
    ] {
        let cx = extract(
            &w3c,
            &[("traceparent", traceparent), ("tracestate", "foo=bar")],
        );
        let expected = SpanContext::new(
            TraceId::from(OTEL_TRACE),
            SpanId::from(OTEL_SPAN),
            flags,
            true,
            "foo=bar".parse().unwrap(),
        );
        assert_eq!(span_context(&cx), expected, "{traceparent}");
    }
    // HTTP parsers strip OWS before the propagator sees a header; carriers that do not still work.
    let padded = extract(
        &w3c,
        &[(
            "traceparent",
            "\t 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \t",
        )],
    );
    assert!(span_context(&padded).is_valid());
    for invalid in [
        "0000-00000000000000000000000000000000-0000000000000000-01",
        "00-ab00000000000000000000000000000000-cd00000000000000-01",
        "00-ab000000000000000000000000000000-cd0000000000000000-01",
        "00-ab000000000000000000000000000000-cd00000000000000-0100",
        "qw-00000000000000000000000000000000-0000000000000000-01",
        "A0-00000000000000000000000000000000-0000000000000000-01",
        "00-AB000000000000000000000000000000-cd00000000000000-01",
        "00-00000000000000000000000000000000-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-",
        // Accepted by the SDK alone, refused by the W3C suite:
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ] {
        assert!(
            !span_context(&extract(&w3c, &[("traceparent", invalid)])).is_valid(),
            "{invalid}"
        );
    }
}

#[test]
fn duplicated_context_headers_are_ignored_by_every_format() {
    use http::{HeaderMap, HeaderValue};
    let cases: [(&str, &str, &dyn TextMapPropagator); 5] = [
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            &W3cTraceContextPropagator::new(),
        ),
        (
            "b3",
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            &B3Propagator::default(),
        ),
        (
            "x-amzn-trace-id",
            "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=1",
            &XRayPropagator::new(),
        ),
        (
            "uber-trace-id",
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
            &JaegerPropagator::new(),
        ),
        (
            "grpc-trace-bin",
            "AABL+S81d7NNpqPOkp0ODkc2AQDwZ6oLqQK3AgE",
            &OpenCensusPropagator::new(),
        ),
    ];
    for (name, value, propagator) in cases {
        let mut map = HeaderMap::new();
        map.append(name, HeaderValue::from_static(value));
        let once =
            propagator.extract_with_context(&Context::new(), &otlp_mesh::HeaderExtractor(&map));
        assert!(span_context(&once).is_valid(), "{name} once");
        map.append(name, HeaderValue::from_static(value));
        let twice =
            propagator.extract_with_context(&Context::new(), &otlp_mesh::HeaderExtractor(&map));
        assert!(!span_context(&twice).is_valid(), "{name} twice");
    }
}

#[test]
fn composite_precedence_and_side_channels() {
    let both = [
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        ("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"),
        ("baggage", "canary=true,version=v2"),
        ("x-request-id", "125a4afb-6f55-94ba-ad80-413f09f48a28"),
    ];
    let w3c_first = MeshPropagator::builder()
        .precedence([Format::TraceContext, Format::B3])
        .build();
    let cx = extract(&w3c_first, &both);
    assert_eq!(span_context(&cx).trace_id(), TraceId::from(OTEL_TRACE));
    assert_eq!(extracted_from(&cx), Some(Format::TraceContext));
    assert_eq!(
        envoy_request(&cx).unwrap().trace_reason,
        Some(EnvoyTraceReason::Sampled)
    );
    use opentelemetry::baggage::BaggageExt;
    assert_eq!(
        cx.baggage().get("canary").map(|v| v.as_str().to_owned()),
        Some("true".to_owned())
    );

    let b3_first = MeshPropagator::builder()
        .precedence([Format::B3, Format::TraceContext])
        .build();
    let cx = extract(&b3_first, &both);
    assert_eq!(span_context(&cx).trace_id(), TraceId::from(SPEC_TRACE));
    assert_eq!(extracted_from(&cx), Some(Format::B3));

    // A broken first format falls through to the next one.
    let cx = extract(&w3c_first, &[("traceparent", "garbage"), ("b3", both[1].1)]);
    assert_eq!(extracted_from(&cx), Some(Format::B3));

    let everything = MeshPropagator::builder()
        .inject(Format::ALL)
        .b3_encoding(B3Encoding::SingleAndMulti)
        .build();
    let out = inject(&everything, &extract(&w3c_first, &both));
    for header in [
        "traceparent",
        "b3",
        "x-b3-traceid",
        "x-amzn-trace-id",
        "uber-trace-id",
        "grpc-trace-bin",
        "l5d-ctx-trace",
        "baggage",
        "x-request-id",
    ] {
        assert!(out.contains_key(header), "{header} missing from {out:?}");
    }
    let fields: Vec<&str> = everything.fields().collect();
    assert!(fields.contains(&"x-amzn-trace-id") && fields.contains(&"baggage"));
}
