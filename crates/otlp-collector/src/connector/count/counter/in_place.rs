//! Counting the spans and span events of traces requests as received, read in place, when no count of them has
//! conditions (which run on decoded items). Decoding a batch to count it cost the `count` connector about three
//! CPU-seconds per million spans over forwarding alone; reading the requests in place, as `spanmetrics` does, gives
//! the same counts for a fraction of that (measured in docs/configuration.md, `count`).

use super::{AttributeLookup, Counts, Kind, push_resource, tally_of};
use crate::Batch;
use crate::connector::spanmetrics::encoded;
use crate::connector::spanmetrics::facts::Attributes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use otlp_model::wire::WireError;
use std::borrow::Cow;

/// The attributes of a span or span event read in place, its scope's and its resource's.
struct InPlace<'a> {
    item: Attributes<'a>,
    scope: &'a [KeyValue],
    resource: &'a [KeyValue],
}

impl AttributeLookup for InPlace<'_> {
    fn find(&self, key: &str) -> Option<Cow<'_, AnyValue>> {
        self.item
            .first_value(key)
            .or_else(|| Attributes::Decoded(self.scope).first_value(key))
            .or_else(|| Attributes::Decoded(self.resource).first_value(key))
            .flatten()
            .map(Cow::Owned)
    }
}

impl Counts {
    /// Whether traces can be counted in place: no count of spans or span events has conditions.
    pub(in crate::connector) fn counts_traces_in_place(&self) -> bool {
        [Kind::Spans, Kind::SpanEvents].into_iter().all(|kind| {
            self.definitions(kind)
                .iter()
                .all(|definition| definition.conditions.is_empty())
        })
    }

    /// The counts of traces requests as received, read in place: what [`count`](Counts::count) gives for the
    /// batch they make, decoded. On an error (never for requests the receiver accepted) the caller counts the
    /// decoded batch instead.
    pub(in crate::connector) fn count_encoded_traces<'a>(
        &self,
        requests: impl Iterator<Item = &'a [u8]>,
    ) -> Result<Batch, WireError> {
        let mut out = ExportMetricsServiceRequest::default();
        // Counts hold no conditions here, so none can fail.
        let mut errors = 0;
        for bytes in requests {
            let request = encoded::parse(bytes)?;
            for resource in &request.resources {
                let mut tallies = self.new_tallies();
                let resource_attributes = resource.resource.attributes.as_slice();
                for scope in &resource.scopes {
                    let scope_attributes = scope
                        .scope
                        .as_ref()
                        .map_or(&[][..], |scope| scope.attributes.as_slice());
                    for span in &scope.spans {
                        if let Some(tally) = tally_of(&mut tallies, Kind::Spans) {
                            tally.saw(span.start);
                            tally.saw(span.end);
                            let lookup = InPlace {
                                item: span.attributes,
                                scope: scope_attributes,
                                resource: resource_attributes,
                            };
                            let dimensions = self.dimensions(Kind::Spans, &lookup);
                            self.tally(Kind::Spans, tally, dimensions, None, &mut errors);
                        }
                        if let Some(tally) = tally_of(&mut tallies, Kind::SpanEvents) {
                            span.events.each(|event| {
                                tally.saw(event.time);
                                let lookup = InPlace {
                                    item: event.attributes,
                                    scope: scope_attributes,
                                    resource: resource_attributes,
                                };
                                let dimensions = self.dimensions(Kind::SpanEvents, &lookup);
                                self.tally(Kind::SpanEvents, tally, dimensions, None, &mut errors);
                            });
                        }
                    }
                }
                push_resource(&mut out, resource_attributes.to_vec(), tallies, self);
            }
        }
        Ok(Batch::new(out))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Definition;
    use super::*;
    use crate::AnyRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
    use proptest::prelude::*;
    use prost::Message;

    fn definition(name: &str, attributes: &[(&str, Option<&str>)]) -> Definition {
        Definition {
            name: name.to_string(),
            description: String::new(),
            conditions: Vec::new(),
            attributes: attributes
                .iter()
                .map(|(key, default)| (key.to_string(), default.map(otlp_ottl::string_value)))
                .collect(),
            source: None,
        }
    }

    /// otelcol's default counts, and counts split by attributes of the item, its scope and its resource, with
    /// and without defaults.
    fn counts() -> Counts {
        Counts::new(
            vec![
                (
                    Kind::Spans,
                    vec![
                        definition("trace.span.count", &[]),
                        definition("by.route", &[("http.route", None), ("service.name", None)]),
                        definition("by.tier", &[("tier", Some("free")), ("scope.team", None)]),
                    ],
                ),
                (
                    Kind::SpanEvents,
                    vec![
                        definition("trace.span.event.count", &[]),
                        definition(
                            "by.type",
                            &[("exception.type", Some("none")), ("tier", None)],
                        ),
                    ],
                ),
            ],
            "test",
        )
    }

    fn kv(key: &str, value: Option<&str>) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: value.map(otlp_ottl::string_value),
            ..Default::default()
        }
    }

    /// What realistic traffic does not hold: an attribute without a value before one with it, a value without
    /// a kind, scope attributes, a resource left out.
    fn unusual() -> ExportTraceServiceRequest {
        let span = Span {
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            attributes: vec![
                kv("tier", None),
                kv("tier", Some("gold")),
                kv("http.route", Some("/a")),
            ],
            events: vec![span::Event {
                time_unix_nano: 15,
                attributes: vec![
                    KeyValue {
                        key: "exception.type".to_string(),
                        value: Some(AnyValue { value: None }),
                        ..Default::default()
                    },
                    kv("tier", Some("event")),
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![
                            kv("service.name", Some("svc")),
                            kv("scope.team", Some("resource")),
                        ],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            attributes: vec![kv("scope.team", Some("payments"))],
                            ..Default::default()
                        }),
                        spans: vec![span.clone(), Span::default()],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                ResourceSpans {
                    resource: None,
                    scope_spans: vec![ScopeSpans {
                        spans: vec![span],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ],
        }
    }

    fn same_counts(requests: &[ExportTraceServiceRequest]) -> Result<(), TestCaseError> {
        let counts = counts();
        prop_assert!(counts.counts_traces_in_place());
        let encoded: Vec<Vec<u8>> = requests.iter().map(Message::encode_to_vec).collect();
        let in_place = counts
            .count_encoded_traces(encoded.iter().map(Vec::as_slice))
            .unwrap();
        let merged = ExportTraceServiceRequest {
            resource_spans: requests
                .iter()
                .flat_map(|request| request.resource_spans.clone())
                .collect(),
        };
        let decoded = counts.count(AnyRequest::Traces(merged), "count");
        prop_assert_eq!(
            in_place.get::<ExportMetricsServiceRequest>(),
            decoded.get::<ExportMetricsServiceRequest>()
        );
        Ok(())
    }

    #[test]
    fn unusual_attributes_are_found_in_place_as_decoding_finds_them() {
        same_counts(&[unusual(), unusual()]).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Read in place or decoded, the testkit's traffic gives the same counts.
        #[test]
        fn in_place_counts_what_decoding_counts(seed in any::<u64>(), requests in 1usize..4) {
            let mut generator = otlp_testkit::Generator::new(seed);
            let requests: Vec<_> = (0..requests).map(|_| generator.traces(40)).collect();
            same_counts(&requests)?;
        }
    }
}
