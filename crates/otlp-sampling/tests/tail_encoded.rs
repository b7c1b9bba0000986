//! `TailSampler::ingest_encoded` against `ingest` on the decoded request: the same decisions, the
//! same released spans in the same order, the same drop counts and the same buffered memory,
//! over realistic traffic with traces cut across requests, invalid trace IDs, and the protobuf
//! corners where prost merges or ignores fields. Each way in is also run with
//! `ReleaseFormat::Encoded`: its released bytes decode to what the decoded release holds, and are
//! what prost encodes it to.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_sampling::Error;
use otlp_sampling::tail::{Decisions, DropReason, ReleaseFormat, TailSampler, TailSamplingConfig};
use otlp_testkit::Generator;
use prost::Message;

const CONFIG: &str = r#"
decision_wait: 1s
num_traces: 5000
policies:
  - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
  - { name: slow, type: latency, latency: { threshold_ms: 400 } }
  - { name: checkout, type: string_attribute, string_attribute: { key: service.name, values: [checkout] } }
  - { name: some, type: probabilistic, probabilistic: { sampling_percentage: 10 } }
"#;

fn engine(yaml: &str) -> TailSampler {
    let config: TailSamplingConfig = serde_norway::from_str(yaml).unwrap();
    TailSampler::new(config).unwrap()
}

fn encoding_engine(yaml: &str) -> TailSampler {
    engine(yaml).with_release_format(ReleaseFormat::Encoded)
}

/// The requests released encoded, concatenated: one request.
fn released_bytes(decisions: &Decisions) -> Vec<u8> {
    decisions
        .released_encoded
        .iter()
        .flat_map(|request| request.bytes.iter().copied())
        .collect()
}

/// Everything a call reports, in a comparable form; spans released encoded are decoded.
fn summary(decisions: &Decisions) -> (Vec<ResourceSpans>, u64, u64, u64, Vec<(DropReason, u64)>) {
    let released = if decisions.released_encoded.is_empty() {
        decisions.released.clone()
    } else {
        assert!(decisions.released.is_empty(), "one form of release only");
        ExportTraceServiceRequest::decode(released_bytes(decisions).as_slice())
            .expect("the released bytes decode")
            .resource_spans
    };
    (
        released,
        decisions.released_spans,
        decisions.sampled_traces,
        decisions.not_sampled_traces,
        decisions.dropped.iter().collect(),
    )
}

/// Checks that `others` reported what `reference` did, and that a release in bytes is what
/// prost encodes the reference's decoded release to.
fn assert_agree(reference: &Decisions, others: &[Decisions], call: &str) {
    let expected = summary(reference);
    let expected_bytes = ExportTraceServiceRequest {
        resource_spans: reference.released.clone(),
    }
    .encode_to_vec();
    for (i, other) in others.iter().enumerate() {
        assert_eq!(summary(other), expected, "{call}, engine {i}");
        if other.released.is_empty() {
            assert_eq!(
                released_bytes(other),
                expected_bytes,
                "{call}, engine {i}: bytes"
            );
        }
    }
}

/// Feeds the engines the same requests at the same instants and checks every call agrees: the
/// reference (decoded in, decoded out), and encoded in, then each way in releasing encoded.
fn assert_same_results(yaml: &str, requests: &[ExportTraceServiceRequest]) {
    let mut decoded = engine(yaml);
    let mut others = [engine(yaml), encoding_engine(yaml), encoding_engine(yaml)];
    let start = Instant::now();
    let mut released = 0;
    for (n, request) in requests.iter().enumerate() {
        let now = start + Duration::from_millis(300 * n as u64);
        // Decoded from the bytes rather than cloned, so vectors have the capacities a decoder
        // leaves (a clone's are exact), and the memory estimates can be compared.
        let bytes = request.encode_to_vec();
        let decode = || ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        let by_prost = decoded.ingest(decode().resource_spans, now);
        let [in_place, decoded_in, encoded_in] = &mut others;
        let calls = [
            in_place.ingest_encoded(&bytes, now).unwrap(),
            decoded_in.ingest(decode().resource_spans, now),
            encoded_in.ingest_encoded(&bytes, now).unwrap(),
        ];
        assert_agree(&by_prost, &calls, &format!("ingest of request {n}"));
        let by_prost = decoded.tick(now);
        let calls = others.each_mut().map(|engine| engine.tick(now));
        assert_agree(&by_prost, &calls, &format!("tick after request {n}"));
        released += by_prost.released_spans;
        for engine in &others {
            assert_eq!(engine.held_traces(), decoded.held_traces());
            assert_eq!(engine.buffered_spans(), decoded.buffered_spans());
            assert_eq!(engine.buffered_bytes(), decoded.buffered_bytes());
        }
    }
    let end = start + Duration::from_secs(3600);
    let by_prost = decoded.flush(end);
    let calls = others.each_mut().map(|engine| engine.flush(end));
    assert_agree(&by_prost, &calls, "flush");
    released += by_prost.released_spans;
    assert!(released > 0, "the policies keep some traces");
}

#[test]
fn generated_traffic_with_traces_cut_across_requests() {
    let mut generator = Generator::new(11).with_error_rate(0.05).unwrap();
    let requests: Vec<_> = (0..12).map(|_| generator.traces(300)).collect();
    assert_same_results(CONFIG, &requests);
}

#[test]
fn late_spans_of_decided_traces_follow_the_decision() {
    let mut generator = Generator::new(12).with_error_rate(0.2).unwrap();
    let first: Vec<_> = (0..4).map(|_| generator.traces(250)).collect();
    // The same traces again, as late spans: each arrives after its trace was decided.
    let mut requests = first.clone();
    requests.extend(first.iter().cloned());
    assert_same_results(
        "decision_wait: 100ms\npolicies:\n  - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }",
        &requests,
    );
}

fn span(trace_id: Vec<u8>, name: &str) -> Span {
    Span {
        trace_id,
        span_id: vec![1; 8],
        name: name.into(),
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..Default::default()
    }
}

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

#[test]
fn invalid_trace_ids_are_counted_alike() {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span(vec![7; 16], "kept"),
                    span(Vec::new(), "empty id"),
                    span(vec![0; 16], "zero id"),
                    span(vec![7; 8], "short id"),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let yaml = "decision_wait: 1s\npolicies:\n  - { name: all, type: always_sample }";
    assert_same_results(yaml, std::slice::from_ref(&request));
    let out = engine(yaml)
        .ingest_encoded(&request.encode_to_vec(), Instant::now())
        .unwrap();
    assert_eq!(out.dropped.get(DropReason::InvalidTraceId), 3);
}

/// Appends a length-delimited field to an encoded message.
fn append_field(message: &mut Vec<u8>, field: u32, value: &[u8]) {
    prost::encoding::encode_key(field, prost::encoding::WireType::LengthDelimited, message);
    prost::encoding::encode_varint(value.len() as u64, message);
    message.extend_from_slice(value);
}

#[test]
fn repeated_and_unknown_fields_decode_as_prost_decodes_them() {
    let spans = ScopeSpans {
        spans: vec![span(vec![9; 16], "a"), span(vec![8; 16], "b")],
        ..Default::default()
    };
    // A resource sent in two parts (prost merges them), a schema URL sent twice (the last wins),
    // an unknown field, and a span whose trace ID is sent twice (the last wins).
    let mut resource_spans = Vec::new();
    let part = |attributes| {
        Resource {
            attributes,
            ..Default::default()
        }
        .encode_to_vec()
    };
    append_field(
        &mut resource_spans,
        1,
        &part(vec![attribute("service.name", "checkout")]),
    );
    append_field(&mut resource_spans, 3, b"first");
    append_field(&mut resource_spans, 2, &spans.encode_to_vec());
    append_field(&mut resource_spans, 1, &part(vec![attribute("zone", "a")]));
    append_field(&mut resource_spans, 3, b"second");
    append_field(&mut resource_spans, 99, b"ignored");
    let mut twice = span(vec![1; 16], "twice").encode_to_vec();
    append_field(&mut twice, 1, &[5; 16]);
    let mut scope = Vec::new();
    append_field(&mut scope, 2, &twice);
    append_field(&mut resource_spans, 2, &scope);
    let mut request = Vec::new();
    append_field(&mut request, 1, &resource_spans);

    let decoded = ExportTraceServiceRequest::decode(request.as_slice()).unwrap();
    assert_eq!(decoded.resource_spans[0].schema_url, "second");
    let yaml = "decision_wait: 1s\npolicies:\n  - { name: all, type: always_sample }";
    let (mut by_prost, mut in_place) = (engine(yaml), engine(yaml));
    let mut releasing_encoded = encoding_engine(yaml);
    let now = Instant::now();
    by_prost.ingest(decoded.resource_spans, now);
    in_place.ingest_encoded(&request, now).unwrap();
    releasing_encoded.ingest_encoded(&request, now).unwrap();
    let (expected, actual) = (by_prost.flush(now), in_place.flush(now));
    assert_eq!(summary(&actual), summary(&expected));
    // Released as received, the span with two trace IDs keeps both, and decodes as prost did.
    assert_eq!(summary(&releasing_encoded.flush(now)), summary(&expected));
    let resource = actual.released[0].resource.as_ref().unwrap();
    assert_eq!(resource.attributes.len(), 2, "both parts of the resource");
    assert_eq!(actual.released_spans, 3);
    // Both `ScopeSpans` have the same (empty) scope: held as one header, released as one.
    assert_eq!(actual.released[0].scope_spans.len(), 1);
    let twice = actual.released[0].scope_spans[0]
        .spans
        .iter()
        .find(|span| span.name == "twice")
        .unwrap();
    assert_eq!(twice.trace_id, vec![5; 16], "the last trace ID of the span");
}

#[test]
fn a_malformed_request_is_refused_whole() {
    let mut generator = Generator::new(13);
    let mut bytes = generator.traces(50).encode_to_vec();
    bytes.truncate(bytes.len() - 3);
    let mut engine = engine(CONFIG);
    let error = engine.ingest_encoded(&bytes, Instant::now()).unwrap_err();
    assert!(matches!(error, Error::InvalidRequest(_)), "{error}");
    assert!(error.to_string().starts_with("invalid OTLP traces request"));
    assert_eq!(engine.held_traces(), 0);
    assert_eq!(engine.buffered_spans(), 0);

    // What the refused request left in the engine's scratch lists does not reach the next one.
    let good = generator.traces(50);
    let now = Instant::now();
    let after_refusal = engine.ingest_encoded(&good.encode_to_vec(), now).unwrap();
    let mut fresh = self::engine(CONFIG);
    let first = fresh.ingest_encoded(&good.encode_to_vec(), now).unwrap();
    assert_agree(&first, &[after_refusal], "ingest after a refused request");
    assert_eq!(engine.held_traces(), fresh.held_traces());
    assert_eq!(engine.buffered_spans(), fresh.buffered_spans());
    assert_eq!(engine.buffered_bytes(), fresh.buffered_bytes());
}

#[test]
fn a_resource_is_held_once_whichever_encoding_brought_it() {
    let resource = Resource {
        attributes: vec![
            attribute("service.name", "checkout"),
            attribute("zone", "a"),
        ],
        ..Default::default()
    };
    let scope_spans = |trace: u8| {
        ScopeSpans {
            spans: vec![span(vec![trace; 16], "s")],
            ..Default::default()
        }
        .encode_to_vec()
    };
    // The same resource as prost writes it, then in two parts for prost to merge.
    let mut canonical = Vec::new();
    append_field(&mut canonical, 1, &resource.encode_to_vec());
    append_field(&mut canonical, 2, &scope_spans(1));
    let mut split = Vec::new();
    for attribute in &resource.attributes {
        let part = Resource {
            attributes: vec![attribute.clone()],
            ..Default::default()
        };
        append_field(&mut split, 1, &part.encode_to_vec());
    }
    append_field(&mut split, 2, &scope_spans(2));
    let requests: Vec<Vec<u8>> = [canonical, split]
        .iter()
        .map(|resource_spans| {
            let mut request = Vec::new();
            append_field(&mut request, 1, resource_spans);
            request
        })
        .collect();

    let yaml = "decision_wait: 1s\npolicies:\n  - { name: all, type: always_sample }";
    let (mut by_prost, mut in_place) = (engine(yaml), engine(yaml));
    let mut releasing_encoded = encoding_engine(yaml);
    let now = Instant::now();
    for request in &requests {
        let decoded = ExportTraceServiceRequest::decode(request.as_slice()).unwrap();
        by_prost.ingest(decoded.resource_spans, now);
        in_place.ingest_encoded(request, now).unwrap();
        releasing_encoded.ingest_encoded(request, now).unwrap();
    }
    let (expected, actual) = (by_prost.flush(now), in_place.flush(now));
    // The resource that came in two parts leaves once, as prost encodes it.
    assert_agree(&expected, &[releasing_encoded.flush(now)], "flush");
    assert_eq!(summary(&actual), summary(&expected));
    assert_eq!(actual.released.len(), 1, "one resource, released once");
    assert_eq!(actual.released[0].resource, Some(resource));
    assert_eq!(actual.released_spans, 2);
}

#[test]
fn a_large_release_comes_out_as_requests_of_about_a_mebibyte() {
    let payload = "x".repeat(1000);
    let spans: Vec<Span> = (0..3000u32)
        .map(|n| {
            let mut trace_id = vec![1; 16];
            trace_id[..4].copy_from_slice(&n.to_be_bytes());
            Span {
                attributes: vec![attribute("payload", &payload)],
                ..span(trace_id, "op")
            }
        })
        .collect();
    let resource = Some(Resource {
        attributes: vec![attribute("service.name", "checkout")],
        ..Default::default()
    });
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource.clone(),
            scope_spans: vec![ScopeSpans {
                spans: spans.clone(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let yaml = "decision_wait: 1s\npolicies:\n  - { name: all, type: always_sample }";
    let mut engine = encoding_engine(yaml);
    let start = Instant::now();
    engine
        .ingest_encoded(&request.encode_to_vec(), start)
        .unwrap();
    let out = engine.tick(start + Duration::from_secs(2));
    assert_eq!(out.released_spans, 3000);
    assert!(
        out.released_encoded.len() >= 3,
        "about 3 MB of spans in requests of about 1 MiB, got {} requests",
        out.released_encoded.len()
    );
    let mut released = Vec::new();
    for request in &out.released_encoded {
        assert!(
            request.bytes.len() <= (1 << 20) + 2048,
            "a request of {} bytes",
            request.bytes.len()
        );
        let decoded = ExportTraceServiceRequest::decode(&request.bytes[..]).unwrap();
        // Each request carries the resource and the scope of its spans, once.
        let [resource_spans] = decoded.resource_spans.as_slice() else {
            panic!("{} resources in one request", decoded.resource_spans.len());
        };
        assert_eq!(resource_spans.resource, resource);
        let [scope_spans] = resource_spans.scope_spans.as_slice() else {
            panic!("{} scopes in one request", resource_spans.scope_spans.len());
        };
        assert_eq!(request.spans, scope_spans.spans.len() as u64);
        released.extend(scope_spans.spans.iter().cloned());
    }
    assert_eq!(released, spans, "every span, in the order released");
}
