//! What each span tells about the request it is one side of, and what becomes of requests whose other side never
//! came (otelcol's virtual nodes).

use super::config::Settings;
use super::edges::{Connection, EdgeKey, EdgeStore, Name, Upsert, Virtual};
use super::series::Graph;
use crate::connector::spanmetrics::encoded::EncodedRequest;
use crate::connector::spanmetrics::facts::{Attributes, Found, SpanFacts};
use foldhash::fast::RandomState;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Instant;

/// How many spans of a batch were not paired because the store was full, and how many had no `service.name`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Uncounted {
    pub(super) store_full: usize,
    pub(super) unnamed: usize,
}

/// The requests being put together, and the metrics of those that were.
#[derive(Debug)]
pub(super) struct Pairing {
    settings: Settings,
    edges: EdgeStore,
    pub(super) graph: Graph,
    /// Service, database and peer names, each allocated once for every edge and series that has it.
    names: HashSet<Name, RandomState>,
    /// When series unchanged for 15 minutes are next dropped (every `cache_loop`).
    next_drop_stale: Instant,
}

impl Pairing {
    /// Pairing from `now` on, its metrics starting at `start` (Unix nanoseconds).
    pub(super) fn new(settings: Settings, start: u64, now: Instant) -> Self {
        Pairing {
            next_drop_stale: now + settings.cache_loop,
            edges: EdgeStore::new(settings.max_items, settings.ttl),
            graph: Graph::new(
                settings.buckets.clone(),
                settings.dimensions.clone(),
                settings.virtual_node_label,
                start,
            ),
            settings,
            names: HashSet::default(),
        }
    }

    /// The shared copy of `name`.
    fn name(&mut self, name: &str) -> Name {
        match self.names.get(name) {
            Some(shared) => Name::clone(shared),
            None => {
                let shared: Name = Name::from(name);
                self.names.insert(Name::clone(&shared));
                shared
            }
        }
    }

    /// The resource's `service.name`, when it is a string.
    fn service(&mut self, resource: &[KeyValue]) -> Option<Name> {
        let name = resource
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref())
            .and_then(|value| match &value.value {
                Some(any_value::Value::StringValue(name)) => Some(name.as_str()),
                _ => None,
            })?;
        Some(self.name(name))
    }

    /// Gives up on the requests that waited their time ([`expire`](Pairing::expire)) and, every `cache_loop`,
    /// drops the series that counted nothing for 15 minutes and the names no edge or series has any more.
    /// Returns how many requests expired.
    pub(super) fn housekeep(&mut self, now: Instant) -> usize {
        let expired = self.expire(now);
        if now >= self.next_drop_stale {
            self.graph.drop_stale(now);
            self.names.retain(|name| Name::strong_count(name) > 1);
            self.next_drop_stale = now + self.settings.cache_loop;
        }
        expired
    }

    /// Applies every span of a request read in place.
    pub(super) fn encoded(
        &mut self,
        request: &EncodedRequest<'_>,
        now: Instant,
        uncounted: &mut Uncounted,
    ) {
        for resource in &request.resources {
            let attributes = &resource.resource.attributes;
            let service = self.service(attributes);
            for span in resource.scopes.iter().flat_map(|scope| &scope.spans) {
                self.span(attributes, service.as_ref(), span, now, uncounted);
            }
        }
    }

    /// Applies every span of a decoded request.
    pub(super) fn decoded(
        &mut self,
        request: &ExportTraceServiceRequest,
        now: Instant,
        uncounted: &mut Uncounted,
    ) {
        for resource_spans in &request.resource_spans {
            let resource = resource_spans
                .resource
                .as_ref()
                .map_or(&[][..], |resource| &resource.attributes);
            let service = self.service(resource);
            for span in resource_spans
                .scope_spans
                .iter()
                .flat_map(|scope| &scope.spans)
            {
                self.span(
                    resource,
                    service.as_ref(),
                    &SpanFacts::decoded(span),
                    now,
                    uncounted,
                );
            }
        }
    }

    /// Applies one span of a resource: a client or producer span is the client side of the request it
    /// made, a server or consumer span the server side of the request that reached it; other spans are no side.
    fn span(
        &mut self,
        resource: &[KeyValue],
        service: Option<&Name>,
        span: &SpanFacts<'_>,
        now: Instant,
        uncounted: &mut Uncounted,
    ) {
        let kind = SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified);
        let (client_side, connection) = match kind {
            SpanKind::Client => (true, Connection::Direct),
            SpanKind::Producer => (true, Connection::MessagingSystem),
            SpanKind::Server => (false, Connection::Direct),
            SpanKind::Consumer => (false, Connection::MessagingSystem),
            SpanKind::Internal | SpanKind::Unspecified => return,
        };
        let Some(service) = service.cloned() else {
            uncounted.unnamed += 1;
            return;
        };
        let Ok(trace_id) = <[u8; 16]>::try_from(span.trace_id) else {
            return;
        };
        // A server span without a parent is keyed by an empty id: a request from outside (`user`).
        let request_id = if client_side {
            span.span_id
        } else {
            span.parent_span_id
        };
        let request_id = match request_id {
            [] => [0; 8],
            id => match <[u8; 8]>::try_from(id) {
                Ok(id) => id,
                Err(_) => return,
            },
        };
        let key: EdgeKey = (trace_id, request_id);
        let seconds = span.end.saturating_sub(span.start) as f64 / 1e9;
        let failed = span.status == StatusCode::Error as i32;
        let settings = &self.settings;
        let dimensions: Vec<Option<String>> = settings
            .dimensions
            .iter()
            .map(|name| find(resource, span.attributes, name).map(Cow::into_owned))
            .collect();
        let upsert = if client_side {
            let peer = settings
                .peer_attributes
                .iter()
                .find_map(|name| span.attributes.find(name).map(|found| text(&found)));
            let database = settings
                .database_name_attributes
                .iter()
                .find_map(|name| find(resource, span.attributes, name));
            let peer = peer.map(|peer| self.name(&peer));
            let database = database.map(|database| self.name(&database));
            self.edges.upsert(key, now, |edge| {
                edge.connection = connection;
                edge.client = Some(service);
                edge.client_seconds = seconds;
                edge.failed |= failed;
                edge.client_dimensions = dimensions;
                if peer.is_some() {
                    edge.peer = peer;
                }
                // A database sends no span: the client's completes the request.
                if let Some(database) = database {
                    edge.connection = Connection::Database;
                    edge.server = Some(database);
                    edge.server_seconds = seconds;
                }
            })
        } else {
            let from_outside = span.parent_span_id.is_empty();
            self.edges.upsert(key, now, |edge| {
                edge.connection = connection;
                edge.server = Some(service);
                edge.server_seconds = seconds;
                edge.failed |= failed;
                edge.server_dimensions = dimensions;
                edge.from_outside = from_outside;
            })
        };
        match upsert {
            Upsert::Complete(edge) => self.graph.count(edge, now),
            Upsert::Waiting => {}
            Upsert::Full => uncounted.store_full += 1,
        }
    }

    /// Gives up on the requests that waited their time at `now`. With peer attributes configured, a client
    /// side alone becomes a request to the server its peer attribute names (`unknown` without one), and a server
    /// span without a parent a request from `user`; the other lone sides are not counted. Returns how many
    /// expired.
    fn expire(&mut self, now: Instant) -> usize {
        let virtual_nodes = !self.settings.peer_attributes.is_empty();
        let mut count = 0;
        for mut edge in self.edges.expire(now) {
            count += 1;
            if !virtual_nodes {
                continue;
            }
            edge.connection = Connection::VirtualNode;
            if edge.client.is_none() && edge.from_outside {
                edge.client = Some(self.name("user"));
                edge.virtual_side = Some(Virtual::Client);
            } else if edge.server.is_none() {
                edge.server = Some(edge.peer.take().unwrap_or_else(|| self.name("unknown")));
                edge.virtual_side = Some(Virtual::Server);
            } else {
                continue;
            }
            self.graph.count(edge, now);
        }
        count
    }

    /// Requests waiting for their other side.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.edges.len()
    }
}

/// An attribute's value as text, looked up on the resource, then the span, as otelcol does.
fn find<'a>(resource: &'a [KeyValue], span: Attributes<'a>, name: &str) -> Option<Cow<'a, str>> {
    Attributes::Decoded(resource)
        .find(name)
        .or_else(|| span.find(name))
        .map(|found| text(&found))
}

/// A value as otelcol's `AsString` writes it: strings as they are (borrowed from the request when read in
/// place), other values as JSON would.
fn text<'a>(found: &Found<'a>) -> Cow<'a, str> {
    if let Found::Encoded {
        value: otlp_model::wire::AnyValueView::String(s),
        ..
    } = found
    {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        otlp_ottl::Value::from_any(&found.to_any())
            .as_string()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::servicegraph::ServiceGraphConfig;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::KeyValue;
    use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
    use otlp_ottl::{key_value, string_value};
    use prost::Message;
    use std::time::Duration;

    const TRACE: [u8; 16] = [7; 16];

    fn pairing(settings: &str) -> Pairing {
        let config: ServiceGraphConfig = serde_norway::from_str(settings).unwrap();
        Pairing::new(config.compile().unwrap(), 1, Instant::now())
    }

    fn attributes(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
        pairs
            .iter()
            .map(|(key, value)| key_value(*key, string_value(*value)))
            .collect()
    }

    /// A span of `kind` lasting `millis`, with its own id and its parent's (`0`: none).
    fn span(kind: SpanKind, id: u8, parent: u8, millis: u64, attrs: &[(&str, &str)]) -> Span {
        Span {
            trace_id: TRACE.to_vec(),
            span_id: vec![id; 8],
            parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
            kind: kind as i32,
            start_time_unix_nano: 1_000_000_000,
            end_time_unix_nano: 1_000_000_000 + millis * 1_000_000,
            attributes: attributes(attrs),
            ..Default::default()
        }
    }

    fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: attributes(&[("service.name", service), ("region", "eu")]),
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// `(client, server, connection_type, failed, requests)` of every series, and its other attributes.
    fn totals(metrics: &ExportMetricsServiceRequest, name: &str) -> Vec<Vec<(String, String)>> {
        let metric = metrics.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .find(|metric| metric.name == name);
        let Some(metric::Data::Sum(sum)) = metric.and_then(|metric| metric.data.clone()) else {
            return Vec::new();
        };
        sum.data_points
            .iter()
            .map(|point| {
                let mut row: Vec<(String, String)> = point
                    .attributes
                    .iter()
                    .map(|kv| {
                        let value = otlp_ottl::Value::from_any(kv.value.as_ref().unwrap());
                        (kv.key.clone(), value.as_string().into_owned())
                    })
                    .collect();
                let Some(number_data_point::Value::AsInt(count)) = point.value else {
                    panic!("not an int sum")
                };
                row.push(("=".to_string(), count.to_string()));
                row
            })
            .collect()
    }

    fn row(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn client_and_server_spans_of_a_request_make_one_edge_with_each_sides_latency() {
        let mut pairing = pairing("dimensions: [region, http.method]");
        let now = Instant::now();
        let mut uncounted = Uncounted::default();
        let mut call = span(SpanKind::Client, 1, 9, 30, &[("http.method", "GET")]);
        call.status = Some(Status {
            code: StatusCode::Error as i32,
            ..Default::default()
        });
        // Server first: sides pair in whatever order they come.
        pairing.decoded(
            &request("api", vec![span(SpanKind::Server, 2, 1, 20, &[])]),
            now,
            &mut uncounted,
        );
        assert_eq!(pairing.waiting(), 1);
        pairing.decoded(&request("web", vec![call]), now, &mut uncounted);
        assert_eq!(
            (pairing.waiting(), pairing.graph.len(), uncounted),
            (0, 1, Uncounted::default())
        );
        let metrics = pairing.graph.metrics(5).unwrap();
        let expected = row(&[
            ("client", "web"),
            ("server", "api"),
            ("connection_type", ""),
            ("failed", "true"),
            ("client_region", "eu"),
            ("server_region", "eu"),
            ("client_http.method", "GET"),
            ("=", "1"),
        ]);
        assert_eq!(
            totals(&metrics, "traces_service_graph_request_total"),
            std::slice::from_ref(&expected)
        );
        assert_eq!(
            totals(&metrics, "traces_service_graph_request_failed_total"),
            [expected]
        );
        let sums: Vec<(String, f64)> = metrics.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .filter_map(|metric| match &metric.data {
                Some(metric::Data::Histogram(histogram)) => Some((
                    format!("{} {}", metric.name, metric.unit),
                    histogram.data_points[0].sum.unwrap(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            sums,
            [
                ("traces_service_graph_request_server s".to_string(), 0.02),
                ("traces_service_graph_request_client s".to_string(), 0.03)
            ]
        );
    }

    #[test]
    fn messaging_and_database_requests_are_told_apart() {
        let mut pairing = pairing("{}");
        let now = Instant::now();
        let mut uncounted = Uncounted::default();
        pairing.decoded(
            &request(
                "orders",
                vec![
                    span(SpanKind::Producer, 1, 0, 1, &[]),
                    span(SpanKind::Client, 3, 0, 4, &[("db.name", "orders-db")]),
                    span(SpanKind::Internal, 4, 0, 4, &[]),
                ],
            ),
            now,
            &mut uncounted,
        );
        pairing.decoded(
            &request("billing", vec![span(SpanKind::Consumer, 2, 1, 8, &[])]),
            now,
            &mut uncounted,
        );
        let metrics = pairing.graph.metrics(5).unwrap();
        let edges: Vec<(String, String, String)> =
            totals(&metrics, "traces_service_graph_request_total")
                .into_iter()
                .map(|row| (row[0].1.clone(), row[1].1.clone(), row[2].1.clone()))
                .collect();
        assert_eq!(
            edges,
            [
                ("orders".into(), "billing".into(), "messaging_system".into()),
                ("orders".into(), "orders-db".into(), "database".into()),
            ]
        );
        assert!(totals(&metrics, "traces_service_graph_request_failed_total").is_empty());
    }

    #[test]
    fn lone_sides_become_requests_to_and_from_virtual_nodes_once_their_wait_is_over() {
        let mut pairing = pairing("{virtual_node_extra_label: true, store: {ttl: 1s}}");
        let now = Instant::now();
        let mut uncounted = Uncounted::default();
        pairing.decoded(
            &request(
                "web",
                vec![
                    // A root server span: called from outside.
                    span(SpanKind::Server, 1, 0, 10, &[]),
                    // Calls to services that send no spans.
                    span(SpanKind::Client, 2, 1, 5, &[("peer.service", "payments")]),
                    span(SpanKind::Client, 3, 1, 5, &[]),
                    // Called by a client that sent no span: not counted.
                    span(SpanKind::Server, 4, 8, 5, &[]),
                ],
            ),
            now,
            &mut uncounted,
        );
        assert_eq!(pairing.expire(now), 0);
        assert_eq!(pairing.expire(now + Duration::from_secs(1)), 4);
        let edges: Vec<(String, String, String, String)> = totals(
            &pairing.graph.metrics(5).unwrap(),
            "traces_service_graph_request_total",
        )
        .into_iter()
        .map(|row| {
            (
                row[0].1.clone(),
                row[1].1.clone(),
                row[2].1.clone(),
                row[4].1.clone(),
            )
        })
        .collect();
        let edge = |client: &str, server: &str, side: &str| {
            (
                client.to_string(),
                server.to_string(),
                "virtual_node".to_string(),
                side.to_string(),
            )
        };
        assert_eq!(
            edges,
            [
                edge("user", "web", "client"),
                edge("web", "payments", "server"),
                edge("web", "unknown", "server"),
            ]
        );

        // Without peer attributes, lone sides are not counted.
        let mut pairing = pairing_without_virtual_nodes();
        pairing.decoded(
            &request("web", vec![span(SpanKind::Client, 2, 1, 5, &[])]),
            now,
            &mut uncounted,
        );
        assert_eq!(pairing.expire(now + Duration::from_secs(5)), 1);
        assert!(pairing.graph.metrics(5).is_none());
    }

    fn pairing_without_virtual_nodes() -> Pairing {
        pairing("virtual_node_peer_attributes: []")
    }

    #[test]
    fn a_full_store_and_spans_without_a_service_are_counted_as_uncounted() {
        let mut pairing = pairing("store: {max_items: 2}");
        let now = Instant::now();
        let mut uncounted = Uncounted::default();
        let spans = (1..=4)
            .map(|id| span(SpanKind::Client, id, 0, 1, &[]))
            .collect();
        pairing.decoded(&request("web", spans), now, &mut uncounted);
        let mut unnamed = request("x", vec![span(SpanKind::Server, 9, 1, 1, &[])]);
        unnamed.resource_spans[0].resource = None;
        pairing.decoded(&unnamed, now, &mut uncounted);
        assert_eq!(
            uncounted,
            Uncounted {
                store_full: 2,
                unnamed: 1
            }
        );
        assert_eq!(pairing.waiting(), 2);
    }

    /// Read in place or decoded, the same requests give the same metrics.
    #[test]
    fn requests_read_in_place_pair_as_decoded_ones_do() {
        let settings = "{dimensions: [http.route, service.version], store: {max_items: 100000}}";
        let (mut in_place, mut decoded) = (pairing(settings), pairing(settings));
        let now = Instant::now();
        let (mut uncounted_in_place, mut uncounted_decoded) =
            (Uncounted::default(), Uncounted::default());
        let mut generator = otlp_testkit::Generator::new(3);
        for _ in 0..20 {
            let request = generator.traces(200);
            let bytes = request.encode_to_vec();
            let parsed = crate::connector::spanmetrics::encoded::parse(&bytes).unwrap();
            in_place.encoded(&parsed, now, &mut uncounted_in_place);
            decoded.decoded(&request, now, &mut uncounted_decoded);
        }
        assert_eq!(uncounted_in_place, uncounted_decoded);
        assert_eq!(in_place.waiting(), decoded.waiting());
        let later = now + Duration::from_secs(10);
        assert_eq!(in_place.expire(later), decoded.expire(later));
        let metrics = in_place.graph.metrics(5).unwrap();
        assert!(in_place.graph.len() > 1, "{metrics:?}");
        assert_eq!(Some(metrics), decoded.graph.metrics(5));
    }
}
