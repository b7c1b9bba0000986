//! W3C Baggage (<https://www.w3.org/TR/baggage/>): `opentelemetry_sdk`'s extraction, with an injection that
//! writes back exactly what that extraction reads.
//!
//! The SDK's propagator (0.33) encodes only controls, space, `"`, `,`, `;` and `=` when it writes a value, so
//! a value holding `%` (say `DF%47`, which arrived as `DF%2547`) goes out as `DF%47` and the next hop decodes it
//! to `DFG`: the value changes at every hop. And it writes properties (metadata) raw while its reader
//! percent-decodes them, so a property that arrived as `DF%1a` goes out holding a control character, which no
//! HTTP header may carry: the whole `baggage` header is lost. Both were found by the `propagator_mesh` fuzz
//! target; the inputs are kept in `fuzz/regressions/propagator_mesh/`.
//!
//! The W3C grammar is `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`. Names and values are
//! written with every other byte percent-encoded (`%` and `\` among them). A property is `key=value` or `key`,
//! so it keeps `=` raw and encodes the rest the same way: a property made of baggage octets, as the
//! specification asks, is written exactly as it came (other implementations treat properties as opaque), and
//! anything else still decodes back to what was read.

use std::iter;

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// The header's name.
const BAGGAGE: &str = "baggage";

/// Every ASCII byte outside `baggage-octet` (non-ASCII is always encoded), plus `=` (a key/value separator the
/// SDK's reader splits on).
const NOT_BAGGAGE_OCTET: &AsciiSet = &NOT_PROPERTY_OCTET.add(b'=');

/// Every ASCII byte outside `baggage-octet` but `=`, which separates a property's key and value.
const NOT_PROPERTY_OCTET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// The `baggage` header, read as `opentelemetry_sdk` reads it and written so that every name, value and
/// property survives the next hop's decoding unchanged.
#[derive(Debug, Default)]
pub struct BaggagePropagator {
    reader: opentelemetry_sdk::propagation::BaggagePropagator,
}

impl BaggagePropagator {
    /// A baggage propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TextMapPropagator for BaggagePropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let baggage = cx.baggage();
        if baggage.is_empty() {
            return;
        }
        // As the SDK writes it (names, values and properties trimmed; properties after `;`), encoded so that the
        // SDK's reader, which decodes each of them, reads back what was written.
        let header = baggage
            .iter()
            .map(|(name, (value, metadata))| {
                let mut member: String =
                    utf8_percent_encode(name.as_str().trim(), NOT_BAGGAGE_OCTET)
                        .chain(iter::once("="))
                        .chain(utf8_percent_encode(
                            value.as_str().trim(),
                            NOT_BAGGAGE_OCTET,
                        ))
                        .collect();
                let metadata = metadata.as_str().trim();
                if !metadata.is_empty() {
                    for property in metadata.split(';') {
                        member.push(';');
                        member.extend(utf8_percent_encode(property.trim(), NOT_PROPERTY_OCTET));
                    }
                }
                member
            })
            .collect::<Vec<String>>()
            .join(",");
        injector.set(BAGGAGE, header);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.reader.extract_with_context(cx, extractor)
    }

    fn fields(&self) -> FieldIter<'_> {
        self.reader.fields()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;
    use opentelemetry::baggage::Baggage;
    use std::collections::HashMap;

    fn round_trip(value: &str) -> (String, String) {
        let cx = Context::new().with_baggage([KeyValue::new("k", value.to_owned())]);
        let mut headers = HashMap::new();
        BaggagePropagator::new().inject_context(&cx, &mut headers);
        let header = headers.get(BAGGAGE).cloned().unwrap_or_default();
        let back = BaggagePropagator::new().extract(&headers);
        let value = back
            .baggage()
            .get("k")
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        (header, value)
    }

    #[test]
    fn a_percent_sign_and_a_backslash_are_encoded_and_come_back_unchanged() {
        for value in ["DF%47", "100%", "a\\b", "%25", "x=y;z,w", "caf\u{e9} \"q\""] {
            let (header, back) = round_trip(value);
            assert_eq!(back, value, "written as {header}");
        }
        assert_eq!(round_trip("DF%47").0, "k=DF%2547");
    }

    #[test]
    fn baggage_octets_are_written_as_they_are() {
        let octets = "!#$&'()*+-./0123456789:<>?@AZ[]^_`az{|}~";
        assert_eq!(
            round_trip(octets),
            (format!("k={octets}"), octets.to_owned())
        );
    }

    #[test]
    fn properties_of_baggage_octets_are_written_as_they_are_and_the_rest_decodes_back() {
        for (metadata, written) in [
            ("ttl=3", "user=alice;ttl=3"),
            ("ttl=3;secret", "user=alice;ttl=3;secret"),
            ("note=a\u{1a}b;x=%", "user=alice;note=a%1Ab;x=%25"),
        ] {
            let cx = Context::new().with_baggage(Baggage::from_iter([
                opentelemetry::baggage::KeyValueMetadata::new("user", "alice", metadata),
            ]));
            let mut headers = HashMap::new();
            BaggagePropagator::new().inject_context(&cx, &mut headers);
            assert_eq!(headers[BAGGAGE], written);
            let back = BaggagePropagator::new().extract(&headers);
            let read = back
                .baggage()
                .get_with_metadata("user")
                .map(|(value, metadata)| (value.as_str().to_owned(), metadata.as_str().to_owned()));
            assert_eq!(read, Some(("alice".to_owned(), metadata.to_owned())));
        }
    }

    #[test]
    fn metadata_follows_its_value() {
        let baggage = Baggage::from_iter([opentelemetry::baggage::KeyValueMetadata::new(
            "user", "alice", "ttl=3",
        )]);
        let cx = Context::new().with_baggage(baggage);
        let mut headers = HashMap::new();
        BaggagePropagator::new().inject_context(&cx, &mut headers);
        assert_eq!(headers[BAGGAGE], "user=alice;ttl=3");
    }
}
