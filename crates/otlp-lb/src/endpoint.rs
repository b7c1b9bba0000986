//! Endpoints: what a balancer picks among.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// An endpoint's identity: what a balancer tracks health and load under, and what consistent
/// hashing places on the ring. Two endpoints with the same id are the same endpoint.
///
/// Cheap to clone (a reference-counted string).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointId(Arc<str>);

impl EndpointId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for EndpointId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for EndpointId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for EndpointId {
    fn from(id: &str) -> Self {
        Self(Arc::from(id))
    }
}

impl From<String> for EndpointId {
    fn from(id: String) -> Self {
        Self(Arc::from(id))
    }
}

impl PartialEq<str> for EndpointId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for EndpointId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// One backend a balancer can send to: an address with a weight, a priority group and labels.
///
/// The id defaults to the address; it is what health, load and ring positions are kept under,
/// so give two endpoints on one address distinct ids with [`Endpoint::with_id`]. Clones share
/// their data.
///
/// ```
/// use otlp_lb::Endpoint;
///
/// let endpoint = Endpoint::new("10.0.0.7:4317")
///     .with_weight(3)
///     .with_priority(1)
///     .with_label("zone", "eu-west-1a");
/// assert_eq!(endpoint.id().as_str(), "10.0.0.7:4317");
/// assert_eq!(endpoint.label("zone"), Some("eu-west-1a"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint(Arc<Inner>);

#[derive(Clone, PartialEq, Eq, Hash)]
struct Inner {
    id: EndpointId,
    address: Arc<str>,
    weight: u32,
    priority: u32,
    labels: BTreeMap<String, String>,
}

impl Endpoint {
    /// An endpoint at `address` (e.g. `"10.0.0.7:4317"` or `"collector-2:4317"`), with that
    /// address as its id, weight 1, priority 0 (the first group) and no labels.
    pub fn new(address: impl Into<String>) -> Self {
        let address: Arc<str> = Arc::from(address.into());
        Self(Arc::new(Inner {
            id: EndpointId(Arc::clone(&address)),
            address,
            weight: 1,
            priority: 0,
            labels: BTreeMap::new(),
        }))
    }

    /// The same endpoint under another id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<EndpointId>) -> Self {
        Arc::make_mut(&mut self.0).id = id.into();
        self
    }

    /// The same endpoint with weight `weight` (relative share for the weighted algorithms,
    /// virtual-node multiplier on the ring). Weight 0 is rejected when the endpoint is added.
    #[must_use]
    pub fn with_weight(mut self, weight: u32) -> Self {
        Arc::make_mut(&mut self.0).weight = weight;
        self
    }

    /// The same endpoint in priority group `priority`: 0 is tried first, then 1, and so on.
    #[must_use]
    pub fn with_priority(mut self, priority: u32) -> Self {
        Arc::make_mut(&mut self.0).priority = priority;
        self
    }

    /// The same endpoint with label `key` set to `value` (region, zone, version...).
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.0)
            .labels
            .insert(key.into(), value.into());
        self
    }

    /// The endpoint's id.
    pub fn id(&self) -> &EndpointId {
        &self.0.id
    }

    /// Where to connect, as given.
    pub fn address(&self) -> &str {
        &self.0.address
    }

    /// The endpoint's weight (at least 1 once accepted by a balancer).
    pub fn weight(&self) -> u32 {
        self.0.weight
    }

    /// The endpoint's priority group: lower is preferred.
    pub fn priority(&self) -> u32 {
        self.0.priority
    }

    /// The value of label `key`, if set.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.0.labels.get(key).map(String::as_str)
    }

    /// All labels, by key.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.0.labels
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Endpoint");
        debug.field("id", &self.0.id);
        if *self.0.address != *self.0.id.0 {
            debug.field("address", &self.0.address);
        }
        debug
            .field("weight", &self.0.weight)
            .field("priority", &self.0.priority);
        if !self.0.labels.is_empty() {
            debug.field("labels", &self.0.labels);
        }
        debug.finish()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.id.0)
    }
}

/// Checks a whole endpoint set (no empty id, no weight 0, no duplicate id) and returns it
/// sorted by id, so every process that sees the same set builds the same tables.
pub(crate) fn validate_set(mut endpoints: Vec<Endpoint>) -> crate::Result<Vec<Endpoint>> {
    for endpoint in &endpoints {
        if endpoint.id().as_str().is_empty() {
            return Err(crate::Error::EmptyId);
        }
        if endpoint.weight() == 0 {
            return Err(crate::Error::ZeroWeight(endpoint.id().to_string()));
        }
    }
    endpoints.sort_by(|a, b| a.id().cmp(b.id()));
    if let Some(pair) = endpoints
        .windows(2)
        .find(|pair| pair[0].id() == pair[1].id())
    {
        return Err(crate::Error::DuplicateEndpoint(pair[0].id().to_string()));
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_keeps_id_apart_from_address() {
        let endpoint = Endpoint::new("127.0.0.1:4317").with_id("back-1");
        assert_eq!(endpoint.id().as_str(), "back-1");
        assert_eq!(endpoint.address(), "127.0.0.1:4317");
        assert_eq!(format!("{endpoint}"), "back-1");
    }

    #[test]
    fn validation_rejects_bad_sets_and_sorts_good_ones() {
        let sorted = validate_set(vec![Endpoint::new("b"), Endpoint::new("a")]).unwrap();
        assert_eq!(sorted[0].id().as_str(), "a");
        assert_eq!(
            validate_set(vec![Endpoint::new("a"), Endpoint::new("a").with_weight(2)]),
            Err(crate::Error::DuplicateEndpoint("a".into()))
        );
        assert_eq!(
            validate_set(vec![Endpoint::new("a").with_weight(0)]),
            Err(crate::Error::ZeroWeight("a".into()))
        );
        assert_eq!(
            validate_set(vec![Endpoint::new("")]),
            Err(crate::Error::EmptyId)
        );
    }
}
