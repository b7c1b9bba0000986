//! Routing a batch still holding its requests as received, when every route of its signal is a `resource`
//! route: each `Resource*` entry is copied as it is to its destination's request, and only its `resource` is
//! decoded for the conditions.
//!
//! Measured on the release binary under `loadgen --max` (OTLP/gRPC in, `memory_limiter`, the connector with one
//! resource route and a default, `batch` and `otlp` out; three alternating runs each, CPU-seconds per million
//! spans from /proc): decoding the whole request to route it, and encoding it again for the exporter, cost
//! 7.1–8.5, mostly prost's decode, encode and allocations in `perf`; in place 2.2–2.3, against 1.4–1.8 for the
//! same pipeline without the connector.

use super::split::{Router, Split};
use crate::{Batch, Signal};
use bytes::Bytes;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_model::wire::{Fields, RECURSION_LIMIT, Value, WireError};
use prost::Message;

/// `Export*ServiceRequest.resource_*`, `Resource*.resource`, `Resource*.schema_url`.
const REQUEST_RESOURCES: u32 = 1;
const RESOURCE: u32 = 1;
const RESOURCE_SCHEMA_URL: u32 = 3;

/// Why an encoded request could not be routed in place; the caller routes it decoded instead.
#[derive(Debug)]
pub(super) enum NotInPlace {
    /// The bytes do not read as the request the receiver checked; decoded, prost gives the answer.
    Wire,
    /// A condition failed under `error_mode: propagate`.
    Condition(otlp_ottl::Error),
}

impl From<WireError> for NotInPlace {
    fn from(_: WireError) -> Self {
        NotInPlace::Wire
    }
}

impl From<prost::DecodeError> for NotInPlace {
    fn from(_: prost::DecodeError) -> Self {
        NotInPlace::Wire
    }
}

/// Splits `requests` (encoded, of `signal`) by destination, entry by entry, in the order they came.
pub(super) fn split_encoded<'a>(
    router: &Router,
    signal: Signal,
    requests: impl Iterator<Item = &'a Bytes>,
    id: &str,
) -> Result<Split, NotInPlace> {
    let destinations = router.destinations();
    let mut out: Vec<(Vec<u8>, usize)> = vec![(Vec::new(), 0); destinations];
    let mut cache = Vec::new();
    for request in requests {
        let mut fields = Fields::new(request, RECURSION_LIMIT);
        let mut start = fields.offset();
        while let Some(field) = fields.next() {
            let end = fields.offset();
            if let (REQUEST_RESOURCES, Value::Len(entry)) = field? {
                let (mut resource, mut schema_url) = resource_of(entry)?;
                let destination = router
                    .route_resource(&mut resource, &mut schema_url, &mut cache, id)
                    .map_err(NotInPlace::Condition)?;
                if let (Some((part, items)), Some(whole)) =
                    (out.get_mut(destination), request.get(start..end))
                {
                    part.extend_from_slice(whole);
                    *items += items_of(signal, entry)?;
                }
            }
            start = end;
        }
    }
    Ok(out
        .into_iter()
        .map(|(part, items)| {
            (items > 0).then(|| Batch::from_encoded(signal, Bytes::from(part), items))
        })
        .collect())
}

/// `Resource*.scope_*`, `Scope*.` spans, metrics or log records, and where a `Metric`'s data points are.
const SCOPES: u32 = 2;
const SCOPE_ITEMS: u32 = 2;
/// `Metric.gauge`, `sum`, `histogram`, `exponential_histogram`, `summary`: the `data` oneof.
const METRIC_DATA: [u32; 5] = [5, 7, 9, 10, 11];
const DATA_POINTS: u32 = 1;

/// The items of a `Resource*` entry as the batch counts them: spans, log records, or data points. The entry was
/// checked as received, so this only counts, as the receiver's scan did (a second scan was a fifth of the CPU
/// of this path, in `perf`).
fn items_of(signal: Signal, entry: &[u8]) -> Result<usize, WireError> {
    let depth = RECURSION_LIMIT - 1;
    let mut items = 0;
    for scope in Fields::new(entry, depth) {
        let (SCOPES, Value::Len(scope)) = scope? else {
            continue;
        };
        for item in Fields::new(scope, depth - 1) {
            let (SCOPE_ITEMS, Value::Len(item)) = item? else {
                continue;
            };
            items += match signal {
                Signal::Traces | Signal::Logs => 1,
                Signal::Metrics => data_points(item, depth - 2)?,
            };
        }
    }
    Ok(items)
}

/// The data points of an encoded `Metric`, as prost decodes its `data` oneof: a second field of the same kind
/// merges into the first, one of another kind replaces it.
fn data_points(metric: &[u8], depth: u32) -> Result<usize, WireError> {
    let mut data: Option<(u32, usize)> = None;
    for field in Fields::new(metric, depth) {
        let (number, value) = field?;
        let (true, Value::Len(bytes)) = (METRIC_DATA.contains(&number), value) else {
            continue;
        };
        let mut points = 0;
        for point in Fields::new(bytes, depth - 1) {
            if let (DATA_POINTS, Value::Len(_)) = point? {
                points += 1;
            }
        }
        data = match data {
            Some((kind, before)) if kind == number => Some((kind, before + points)),
            _ => Some((number, points)),
        };
    }
    Ok(data.map_or(0, |(_, points)| points))
}

/// The `resource` and `schema_url` of an encoded `Resource*` entry.
fn resource_of(entry: &[u8]) -> Result<(Option<Resource>, String), NotInPlace> {
    let (mut resource, mut schema_url) = (None, String::new());
    for field in Fields::new(entry, RECURSION_LIMIT - 1) {
        match field? {
            // prost merges a message field that appears twice; so does this.
            (RESOURCE, Value::Len(bytes)) => resource
                .get_or_insert_with(Resource::default)
                .merge(bytes)?,
            (RESOURCE_SCHEMA_URL, Value::Len(bytes)) => {
                schema_url = std::str::from_utf8(bytes)
                    .map_err(|_| NotInPlace::Wire)?
                    .to_string();
            }
            _ => {}
        }
    }
    Ok((resource, schema_url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AnyRequest;
    use crate::connector::routing::RouteContext;
    use otlp_ottl::{ContextKind, ErrorMode, parse_condition};

    fn router(services: &[&str]) -> Router {
        let routes = services
            .iter()
            .map(|service| {
                let text = format!(r#"attributes["service.name"] == "{service}""#);
                (
                    RouteContext::Resource,
                    parse_condition(ContextKind::Resource, &text).unwrap(),
                )
            })
            .collect();
        Router::new(routes, ErrorMode::Propagate)
    }

    /// The parts as requests, decoded, for comparing.
    fn decoded(parts: Split) -> Vec<Option<(AnyRequest, usize)>> {
        parts
            .into_iter()
            .map(|part| {
                part.map(|batch| {
                    let items = batch.item_count();
                    (batch.into_request(), items)
                })
            })
            .collect()
    }

    #[test]
    fn in_place_and_decoded_routing_give_the_same_parts_for_every_signal() {
        let mut generator = otlp_testkit::Generator::new(11);
        let batches = [
            Batch::new(generator.traces(600)),
            Batch::new(generator.metrics(600)),
            Batch::new(generator.logs(600)),
        ];
        let router = router(&["checkout", "frontend", "cart"]);
        for batch in batches {
            let signal = batch.signal();
            let bytes = batch.to_protobuf();
            let encoded = Batch::from_encoded(signal, bytes.clone(), batch.item_count());
            let Some(requests) = encoded.encoded() else {
                panic!("not encoded");
            };
            let in_place = split_encoded(&router, signal, requests, "routing").unwrap();
            assert!(
                in_place
                    .iter()
                    .flatten()
                    .all(|part| part.encoded().is_some()),
                "{signal}: parts stay encoded"
            );
            let by_decoding = match batch.into_request() {
                AnyRequest::Traces(r) => router.split_traces(r, "routing"),
                AnyRequest::Metrics(r) => router.split_metrics(r, "routing"),
                AnyRequest::Logs(r) => router.split_logs(r, "routing"),
            }
            .unwrap();
            let (in_place, by_decoding) = (decoded(in_place), decoded(by_decoding));
            assert_eq!(in_place.len(), 4);
            assert!(
                in_place.iter().filter(|part| part.is_some()).count() >= 3,
                "{signal}: the data covers several routes"
            );
            assert_eq!(in_place, by_decoding, "{signal}");
        }
    }

    #[test]
    fn data_points_are_counted_as_prost_decodes_a_repeated_oneof() {
        use opentelemetry_proto::tonic::metrics::v1::{
            Gauge, Metric, NumberDataPoint, Sum, metric::Data,
        };
        let metric = |data: Data| {
            Metric {
                name: "m".into(),
                data: Some(data),
                ..Default::default()
            }
            .encode_to_vec()
        };
        let points = |n: usize| vec![NumberDataPoint::default(); n];
        let sum = |n| {
            metric(Data::Sum(Sum {
                data_points: points(n),
                ..Default::default()
            }))
        };
        let gauge = |n| {
            metric(Data::Gauge(Gauge {
                data_points: points(n),
            }))
        };
        for (bytes, expected) in [
            (sum(2), 2),
            ([sum(2), sum(3)].concat(), 5),
            ([sum(2), gauge(1)].concat(), 1),
            ([gauge(4), sum(2), sum(1)].concat(), 3),
            (Metric::default().encode_to_vec(), 0),
        ] {
            let decoded = Metric::decode(bytes.as_slice()).unwrap();
            assert_eq!(otlp_model::data_points(&decoded), expected);
            assert_eq!(data_points(&bytes, RECURSION_LIMIT).unwrap(), expected);
        }
    }

    #[test]
    fn bytes_that_do_not_read_are_left_to_the_decoded_way() {
        let request = Bytes::from_static(&[0x0a, 0x05, 0x0a]);
        let outcome = split_encoded(&router(&["a"]), Signal::Traces, [&request].into_iter(), "r");
        assert!(matches!(outcome, Err(NotInPlace::Wire)), "{outcome:?}");
    }
}
