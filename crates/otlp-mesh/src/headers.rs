//! [`Extractor`] and [`Injector`] over [`http::HeaderMap`] that see every value of a repeated header.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};

/// Reads propagation headers from an [`http::HeaderMap`]. Header names are case-insensitive and
/// [`Extractor::get_all`] returns every value of a repeated header, which the W3C propagator needs to
/// refuse duplicated `traceparent` and to combine repeated `tracestate` headers.
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Writes propagation headers into an [`http::HeaderMap`], replacing earlier values. Keys or values
/// that are not valid in HTTP are skipped rather than sent broken.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The one value of `key`, or `None` when it is absent or repeated: a context header that arrives
/// twice is ambiguous, and every format here treats it as absent.
pub(crate) fn single<'a>(extractor: &'a dyn Extractor, key: &str) -> Option<&'a str> {
    match extractor.get_all(key)?.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}
