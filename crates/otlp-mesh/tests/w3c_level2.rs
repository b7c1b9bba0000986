//! The W3C Trace Context Level 2 rules of `W3cTraceContextPropagator`, one test per rule, on the
//! propagator alone: `HashMap` carriers like the SDK's, and `http::HeaderMap` (through
//! `HeaderExtractor`) where a rule is about repeated header fields. Section names are those of
//! <https://www.w3.org/TR/trace-context-2/>; "§4.3" is the processing model's "A traceparent is
//! Received". `tests/w3c_layer.rs` checks the same rules end to end through the tower layer.

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceId, TraceState};
use otlp_mesh::{
    Error, HeaderExtractor, RANDOM_TRACE_ID, TraceStatePolicy, W3cTraceContextPropagator,
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn traceparent(flags: &str) -> String {
    format!("00-{TRACE_ID}-{PARENT_ID}-{flags}")
}

fn per_member() -> W3cTraceContextPropagator {
    W3cTraceContextPropagator::new()
}

fn whole_list() -> W3cTraceContextPropagator {
    W3cTraceContextPropagator::with_tracestate_policy(TraceStatePolicy::WholeList)
}

/// Extracts from repeated fields, in order, as an HTTP server sees them.
fn extract_fields(propagator: &W3cTraceContextPropagator, fields: &[(&str, &str)]) -> Context {
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    propagator.extract_with_context(&Context::new(), &HeaderExtractor(&headers))
}

fn extract(propagator: &W3cTraceContextPropagator, traceparent: &str, tracestate: &str) -> Context {
    extract_fields(
        propagator,
        &[("traceparent", traceparent), ("tracestate", tracestate)],
    )
}

fn inject(propagator: &W3cTraceContextPropagator, cx: &Context) -> HashMap<String, String> {
    let mut out = HashMap::new();
    propagator.inject_context(cx, &mut out);
    out
}

fn span_context(cx: &Context) -> SpanContext {
    cx.span().span_context().clone()
}

/// The `tracestate` a propagator sends on for what it received.
fn forwarded(propagator: &W3cTraceContextPropagator, tracestate: &[&str]) -> Option<String> {
    let tp = traceparent("01");
    let mut fields = vec![("traceparent", tp.as_str())];
    fields.extend(tracestate.iter().map(|field| ("tracestate", *field)));
    let cx = extract_fields(propagator, &fields);
    assert!(span_context(&cx).is_valid());
    inject(propagator, &cx).remove("tracestate")
}

/// "Random Trace ID Flag": the flag is read and kept, and never invented.
#[test]
fn random_flag_is_read() {
    for (flags, expected) in [
        ("00", TraceFlags::default()),
        ("01", TraceFlags::SAMPLED),
        ("02", RANDOM_TRACE_ID),
        ("03", TraceFlags::SAMPLED | RANDOM_TRACE_ID),
    ] {
        let cx = extract(&per_member(), &traceparent(flags), "");
        assert_eq!(span_context(&cx).trace_flags(), expected, "{flags}");
    }
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent("02"));
    let cx = per_member().extract(&carrier);
    assert_eq!(span_context(&cx).trace_flags(), RANDOM_TRACE_ID);
}

/// "Random Trace ID Flag": "A participant that continues a trace started upstream … MUST set the
/// `random-trace-id` flag … to the same value that was found in the incoming `traceparent`".
#[test]
fn random_flag_is_sent_as_received() {
    for flags in ["00", "01", "02", "03"] {
        let cx = extract(&per_member(), &traceparent(flags), "");
        assert_eq!(
            inject(&per_member(), &cx)["traceparent"],
            traceparent(flags)
        );
    }
    // The SDK's Level 1 propagator clears it: the reason this crate parses the headers itself.
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let cx = extract(&per_member(), &traceparent("03"), "");
    let mut out = HashMap::new();
    sdk.inject_context(&cx, &mut out);
    assert_eq!(out["traceparent"], traceparent("01"));
}

/// "Other Flags": "Vendors MUST set those to zero"; "Versioning of traceparent": of a higher
/// version only the known flags are read, and the header is sent as version `00`.
#[test]
fn unknown_flags_are_zeroed_and_versions_downgraded() {
    let cx = extract(&per_member(), &traceparent("ff"), "");
    assert_eq!(span_context(&cx).trace_flags().to_u8(), 0x03);
    assert_eq!(inject(&per_member(), &cx)["traceparent"], traceparent("03"));
    let future = format!("cc-{TRACE_ID}-{PARENT_ID}-fe-more-fields");
    let cx = extract(&per_member(), &future, "");
    assert_eq!(inject(&per_member(), &cx)["traceparent"], traceparent("02"));
}

/// "traceparent Header Field Values" and "Versioning of traceparent": the shape is exact, and
/// [`W3cTraceContextPropagator::parse`] says what was wrong.
#[test]
fn traceparent_shape_is_strict() {
    let propagator = per_member();
    assert!(propagator.parse(&traceparent("01"), &[]).is_ok());
    assert!(
        propagator
            .parse(&format!("\t {} ", traceparent("01")), &[])
            .is_ok()
    );
    for (invalid, why) in [
        (format!("{}-", traceparent("01")), "after trace-flags"),
        (format!("0-{TRACE_ID}-{PARENT_ID}-01"), "shorter"),
        (format!(".0-{TRACE_ID}-{PARENT_ID}-01"), "version"),
        (format!("ff-{TRACE_ID}-{PARENT_ID}-01"), "version ff"),
        (
            format!("00-{}-{PARENT_ID}-01", TRACE_ID.to_uppercase()),
            "trace-id",
        ),
        (format!("00-{}-{PARENT_ID}-01", "0".repeat(32)), "all zeros"),
        (format!("00-{TRACE_ID}-{}-01", "0".repeat(16)), "all zeros"),
        (format!("00-{TRACE_ID}-{PARENT_ID}-0g"), "trace-flags"),
        (format!("00-{TRACE_ID}-{PARENT_ID}"), "shorter"),
    ] {
        match propagator.parse(&invalid, &[]) {
            Err(Error::MalformedHeader { header, reason }) => {
                assert_eq!(header, "traceparent");
                assert!(reason.contains(why), "{invalid}: {reason}");
            }
            other => panic!("{invalid} gave {other:?}"),
        }
    }
}

/// `traceparent` is not a list: two fields are ambiguous and both are ignored.
#[test]
fn repeated_traceparent_is_ignored() {
    let tp = traceparent("01");
    let cx = extract_fields(&per_member(), &[("traceparent", &tp), ("traceparent", &tp)]);
    assert!(!span_context(&cx).is_valid());
    assert!(inject(&per_member(), &cx).is_empty());
}

/// "Tracestate Header": "If the vendor failed to parse `traceparent`, it MUST NOT attempt to parse
/// `tracestate`."
#[test]
fn tracestate_needs_a_valid_traceparent() {
    for traceparent in ["", "garbage", "00-0-0-0"] {
        let cx = extract(&per_member(), traceparent, "rojo=1");
        assert!(!span_context(&cx).is_valid());
        assert!(inject(&per_member(), &cx).is_empty());
    }
}

/// "tracestate Header Field Values": several fields "MUST be combined into a single header", in
/// order; empty and whitespace-only members are allowed, and an empty list is not sent.
#[test]
fn tracestate_fields_are_combined_in_order() {
    for propagator in [per_member(), whole_list()] {
        assert_eq!(
            forwarded(&propagator, &["rojo=1, congo=2", "", " \t", "baz=3,"]).as_deref(),
            Some("rojo=1,congo=2,baz=3")
        );
        assert_eq!(forwarded(&propagator, &["", " , ,\t"]), None);
        assert_eq!(forwarded(&propagator, &[]), None);
    }
}

/// "Key": `( lcalpha / DIGIT ) 0*255 ( keychar )` with `@` a key character; "Value": printable,
/// no `,` or `=`, no trailing space, leading spaces kept.
#[test]
fn level_2_key_grammar_is_accepted() {
    let tenant_vendor = format!("{}@{}", "t".repeat(241), "v".repeat(14));
    let long_vendor = format!("t@{}", "v".repeat(15));
    let list = format!(
        "0digit=1,foo@=2,foo@@bar=3,a@b@c=4,{tenant_vendor}=5,{long_vendor}=6,{}=7,v=  lead",
        "z".repeat(256)
    );
    for propagator in [per_member(), whole_list()] {
        assert_eq!(
            forwarded(&propagator, &[&list]).as_deref(),
            Some(list.as_str())
        );
    }
}

/// Members `opentelemetry`'s `TraceState` refuses (`foo@@bar`, 15 characters after `@`) are passed
/// on in their place, even after the list was modified in the process ("Mutating the tracestate
/// Field": "the order of unmodified key/value pairs MUST be preserved").
#[test]
fn members_the_sdk_refuses_keep_their_place() {
    let propagator = per_member();
    let long_vendor = format!("t@{}", "v".repeat(15));
    let received = format!("rojo=1,foo@@bar=2,congo=3,{long_vendor}=4");
    let cx = extract(&propagator, &traceparent("01"), &received);
    let sc = span_context(&cx);
    assert_eq!(sc.trace_state().header(), "rojo=1,congo=3");
    assert_eq!(inject(&propagator, &cx)["tracestate"], received);

    // A sampler rewrote `congo` and added `ot`: both move left, `rojo` keeps its neighbour.
    let modified = sc
        .trace_state()
        .insert("congo", "9")
        .unwrap()
        .insert("ot", "th:8")
        .unwrap();
    let child = cx.with_remote_span_context(SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags(),
        true,
        modified,
    ));
    assert_eq!(
        inject(&propagator, &child)["tracestate"],
        format!("ot=th:8,congo=9,rojo=1,foo@@bar=2,{long_vendor}=4")
    );

    // Bound to the trace: another trace in the same context does not get them.
    let other = cx.with_remote_span_context(SpanContext::new(
        TraceId::from(7u128),
        sc.span_id(),
        sc.trace_flags(),
        true,
        TraceState::NONE,
    ));
    assert_eq!(inject(&propagator, &other).get("tracestate"), None);

    // A later extraction of the same trace without them masks the earlier list.
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent("01"));
    carrier.insert("tracestate".to_owned(), "rojo=5".to_owned());
    let again = propagator.extract_with_context(&cx, &carrier);
    assert_eq!(inject(&propagator, &again)["tracestate"], "rojo=5");
}

/// "Combined Header Value": "Only one entry per key is allowed". Under both policies the left-most
/// member of a key (the most recent position) is kept and the rest of the list survives.
#[test]
fn duplicated_keys_keep_the_left_most_member() {
    for propagator in [per_member(), whole_list()] {
        assert_eq!(
            forwarded(&propagator, &["rojo=1,congo=2,rojo=3", "congo=4,baz=5"]).as_deref(),
            Some("rojo=1,congo=2,baz=5")
        );
    }
}

/// §4.3: "If the tracestate header cannot be parsed the vendor MAY discard the entire header.
/// Invalid tracestate entries MAY also be discarded." Per member by default, whole list on request.
#[test]
fn invalid_members_follow_the_policy() {
    let list = [
        "rojo=1,@foo=2,congo=3",
        "FOO=4,foo.bar=5,novalue,empty=",
        &format!("{}=6", "z".repeat(257)),
        &format!("long={}", "x".repeat(257)),
        "tab=a\tb,baz=7",
    ];
    assert_eq!(
        forwarded(&per_member(), &list).as_deref(),
        Some("rojo=1,congo=3,baz=7")
    );
    assert_eq!(forwarded(&whole_list(), &list), None);
    for single in list {
        let expected_whole = None;
        assert_eq!(
            forwarded(&whole_list(), &[single]),
            expected_whole,
            "{single}"
        );
    }
}

/// "list": at most 32 members. Per member, "tracestate Limits" truncation: "Entries larger than
/// `128` characters long SHOULD be removed first. Then entries SHOULD be removed starting from the
/// end", only as many as needed; whole list, the list is discarded.
#[test]
fn more_than_32_members() {
    let members = |range: std::ops::RangeInclusive<u32>| -> Vec<String> {
        range.map(|n| format!("k{n:02}={n:02}")).collect()
    };
    let exactly_32 = members(1..=32).join(",");
    for propagator in [per_member(), whole_list()] {
        assert_eq!(
            forwarded(&propagator, &[&exactly_32]).as_deref(),
            Some(exactly_32.as_str())
        );
    }
    let over = members(1..=34).join(",");
    assert_eq!(
        forwarded(&per_member(), &[&over]).as_deref(),
        Some(exactly_32.as_str())
    );
    assert_eq!(forwarded(&whole_list(), &[&over]), None);

    let long_a = format!("longa={}", "a".repeat(130));
    let long_b = format!("longb={}", "b".repeat(130));
    let mut with_long = members(1..=31);
    with_long.insert(3, long_a.clone());
    with_long.insert(10, long_b);
    // 33 members, two of them long: only the later long one goes.
    let expected = {
        let mut kept = members(1..=31);
        kept.insert(3, long_a);
        kept.join(",")
    };
    assert_eq!(
        forwarded(&per_member(), &[&with_long.join(",")]).as_deref(),
        Some(expected.as_str())
    );
}

/// The SDK's propagator and this one agree on everything Level 1 defines.
#[test]
fn agrees_with_the_sdk_on_level_1_headers() {
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    for (tp, ts) in [
        (traceparent("01"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        (traceparent("00"), "a=1"),
        (traceparent("01"), ""),
    ] {
        let mut carrier = HashMap::new();
        carrier.insert("traceparent".to_owned(), tp.clone());
        carrier.insert("tracestate".to_owned(), ts.to_owned());
        let ours = per_member().extract(&carrier);
        let theirs = sdk.extract(&carrier);
        assert_eq!(span_context(&ours), span_context(&theirs), "{tp} {ts}");
        let ours = inject(&per_member(), &ours);
        let mut theirs_out = HashMap::new();
        sdk.inject_context(&theirs, &mut theirs_out);
        theirs_out.retain(|_, value| !value.is_empty());
        assert_eq!(ours, theirs_out);
    }
}
