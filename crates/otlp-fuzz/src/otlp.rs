//! OTLP export requests as receivers get them: protobuf (the in-place wire scanner and prost) and OTLP/JSON.

use bytes::Bytes;
use otlp_collector::Batch;
use otlp_model::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, OtlpRequest,
    Signal, wire,
};

/// A protobuf body, read as a request of each signal.
///
/// The collector answers a protobuf request from [`wire::scan`] alone and decodes it with prost only when the
/// scan found invalid items (`accept_encoded`), so the two must agree: the scanner accepts exactly what prost
/// decodes, counts the items prost's request counts, and flags the items `remove_invalid` removes. A batch kept
/// as the received bytes must decode to what prost decoded, and a request prost decoded must encode to bytes
/// the scanner accepts with the same counts. Batching concatenates encoded requests, so the concatenation of a
/// request with itself must scan as twice its items.
pub fn otlp_protobuf(data: &[u8]) {
    check_protobuf::<ExportTraceServiceRequest>(data);
    check_protobuf::<ExportMetricsServiceRequest>(data);
    check_protobuf::<ExportLogsServiceRequest>(data);
}

/// [`otlp_protobuf`]'s checks for one signal.
pub(crate) fn check_signal(signal: Signal, data: &[u8]) {
    match signal {
        Signal::Traces => check_protobuf::<ExportTraceServiceRequest>(data),
        Signal::Metrics => check_protobuf::<ExportMetricsServiceRequest>(data),
        Signal::Logs => check_protobuf::<ExportLogsServiceRequest>(data),
    }
}

fn check_protobuf<R: OtlpRequest>(data: &[u8]) {
    let signal = R::SIGNAL;
    let scanned = wire::scan(signal, data);
    let decoded = R::decode(data);
    let (scan, request) = match (scanned, decoded) {
        (Ok(scan), Ok(request)) => (scan, request),
        (Err(_), Err(_)) => return,
        (scanned, decoded) => panic!(
            "{signal}: the wire scanner says {scanned:?}, prost says {:?}",
            decoded.map(|request| request.item_count())
        ),
    };
    assert_eq!(
        scan.items,
        request.item_count(),
        "{signal}: item counts differ"
    );
    let mut cleaned = request.clone();
    let removed = cleaned
        .remove_invalid()
        .map_or(0, |rejected| rejected.items);
    assert_eq!(
        scan.invalid as u64, removed,
        "{signal}: invalid item counts differ"
    );
    assert_eq!(
        cleaned.item_count(),
        scan.items - scan.invalid,
        "{signal}: remove_invalid kept a different number of items"
    );

    // Compared encoded: a decoded double may be NaN, which is not equal to itself.
    let encoded = request.encode_to_vec();
    let batch = Batch::from_encoded(signal, Bytes::copy_from_slice(data), scan.items);
    assert_eq!(
        batch.request().encode_to_vec(),
        encoded,
        "{signal}: a batch kept as bytes decodes to another request"
    );
    let rescanned = wire::scan(signal, &encoded);
    assert_eq!(
        rescanned.ok(),
        Some(scan),
        "{signal}: prost's encoding of the request scans differently"
    );

    let twice = [data, data].concat();
    let doubled = wire::scan(signal, &twice);
    assert_eq!(
        doubled.map(|s| (s.items, s.invalid)).ok(),
        Some((2 * scan.items, 2 * scan.invalid)),
        "{signal}: a request concatenated with itself scans differently"
    );
}

/// An OTLP/JSON body (what the HTTP receiver decodes with `serde_json`), read as a request of each signal.
///
/// A request read from JSON is one the collector may write back as JSON (the `otlphttp` exporter's JSON
/// encoding, the file exporter), so its JSON must read back to the same request, and its protobuf encoding must
/// pass the wire scanner with prost's counts, as any request the collector sends on does.
pub fn otlp_json(data: &[u8]) {
    check_json::<ExportTraceServiceRequest>(data);
    check_json::<ExportMetricsServiceRequest>(data);
    check_json::<ExportLogsServiceRequest>(data);
}

fn check_json<R: OtlpRequest>(data: &[u8]) {
    let signal = R::SIGNAL;
    let Ok(request) = serde_json::from_slice::<R>(data) else {
        return;
    };
    let json = match serde_json::to_vec(&request) {
        Ok(json) => json,
        // Refusing to write what cannot be written (a non-finite number) is an answer, not a bug.
        Err(_) => return,
    };
    let back = match serde_json::from_slice::<R>(&json) {
        Ok(back) => back,
        Err(error) => panic!(
            "{signal}: the JSON written for a request does not read back: {error}\n{}",
            String::from_utf8_lossy(&json)
        ),
    };
    assert_eq!(
        back.encode_to_vec(),
        request.encode_to_vec(),
        "{signal}: the JSON written for a request reads back as another request"
    );
    let encoded = request.encode_to_vec();
    let scan = wire::scan(signal, &encoded);
    assert!(
        scan.is_ok(),
        "{signal}: the scanner refuses prost's encoding of a JSON request: {scan:?}"
    );
    assert_eq!(
        scan.map(|s| s.items).ok(),
        Some(request.item_count()),
        "{signal}: item counts differ"
    );
}
