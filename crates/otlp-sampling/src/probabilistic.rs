//! The logic of otelcol-contrib's `probabilistic_sampler` processor: stateless,
//! per-item sampling of spans and log records in one of three modes.
//!
//! * `hash_seed` — FNV-1a of the seed and the trace ID (or a log attribute), 14 bits of
//!   it compared with the percentage. Collectors in one tier must share the seed.
//!   Does not touch tracestate.
//! * `proportional` — consistent sampling that multiplies the item's incoming
//!   probability (from `th`, 1 when absent) by the percentage and records the new `th`.
//! * `equalizing` — consistent sampling at the percentage unless the item already went
//!   through a lower probability; records the resulting `th`.
//!
//! A numeric `sampling.priority` attribute forces the decision: 0 drops, above 0 keeps
//! (at `th:0` in the consistent modes).
//!
//! In the consistent modes an item's randomness is its `rv` (tracestate, or the
//! `sampling.randomness` log attribute), else its trace ID; an item whose `flags` lack W3C
//! Level 2's `random-trace-id` bit is still decided by its trace ID and counted as a presumption
//! (see [`crate::randomness`]).
//!
//! Spans come decoded ([`ProbabilisticSampler::sample_traces`]) or as an encoded request
//! ([`ProbabilisticSampler::sample_encoded_traces`]), which is edited in place of decoding it, the
//! trace-id column decided at once; both give the same result.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use otlp_model::wire::{AnyValueView, EncodedTraces, SpanEdits, SpanView};
use serde::{Deserialize, Serialize};

use crate::consistent::{
    DEFAULT_PRECISION, KeepBitmap, MAX_VALUE, NUM_HEX_DIGITS, OtelTraceState, Randomness,
    Threshold, decide_trace_ids_into, ot_from_w3c, set_ot_in_w3c, write_ot_in_w3c,
};
use crate::error::{Error, Result};
use crate::randomness::{RandomnessSource, TraceIdRandomness, decide_randomness, note_decisions};

/// Number of hash buckets otelcol's `hash_seed` mode uses (14 bits).
const HASH_BUCKETS: u32 = 1 << 14;
/// Log attribute carrying the threshold in consistent modes.
pub const LOG_THRESHOLD_ATTRIBUTE: &str = "sampling.threshold";
/// Log attribute that may carry explicit randomness (14 hex digits).
pub const LOG_RANDOMNESS_ATTRIBUTE: &str = "sampling.randomness";
/// Span attribute that forces the decision.
pub const SPAN_PRIORITY_ATTRIBUTE: &str = "sampling.priority";

/// Sampling mode, as otelcol spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerMode {
    /// Hash of seed and trace ID against the percentage (otelcol's default).
    #[default]
    HashSeed,
    /// Multiply the incoming probability by the percentage.
    Proportional,
    /// Sample at the percentage unless already sampled at a lower one.
    Equalizing,
}

/// Where log records take their randomness from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum AttributeSource {
    /// The record's trace ID.
    #[default]
    #[serde(rename = "traceID")]
    TraceId,
    /// The record attribute named by `from_attribute`.
    #[serde(rename = "record")]
    Record,
}

/// The `probabilistic_sampler` processor block.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProbabilisticSamplerConfig {
    /// Percentage of items to keep, 0 to 100.
    #[serde(default)]
    pub sampling_percentage: f64,
    /// Seed for `hash_seed` mode; collectors of one tier must share it.
    #[serde(default)]
    pub hash_seed: u32,
    /// Sampling mode.
    #[serde(default)]
    pub mode: SamplerMode,
    /// Drop items whose sampling information is invalid (default true).
    #[serde(default = "default_true")]
    pub fail_closed: bool,
    /// Hex digits used to encode `th` (1..=14, default 4).
    #[serde(default = "default_precision")]
    pub sampling_precision: u8,
    /// Logs only: randomness from the trace ID or from a record attribute.
    #[serde(default)]
    pub attribute_source: AttributeSource,
    /// Logs only: the attribute used when `attribute_source` is `record`.
    #[serde(default)]
    pub from_attribute: String,
    /// Logs only: a record attribute whose numeric value overrides `sampling_percentage`.
    #[serde(default)]
    pub sampling_priority: String,
}

fn default_true() -> bool {
    true
}

fn default_precision() -> u8 {
    DEFAULT_PRECISION
}

impl Default for ProbabilisticSamplerConfig {
    fn default() -> Self {
        ProbabilisticSamplerConfig {
            sampling_percentage: 0.0,
            hash_seed: 0,
            mode: SamplerMode::default(),
            fail_closed: true,
            sampling_precision: DEFAULT_PRECISION,
            attribute_source: AttributeSource::default(),
            from_attribute: String::new(),
            sampling_priority: String::new(),
        }
    }
}

/// Outcome counts of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleCounts {
    /// Items kept.
    pub kept: u64,
    /// Items dropped by the sampling decision.
    pub dropped_not_sampled: u64,
    /// Items dropped because their sampling information was invalid (`fail_closed`).
    pub dropped_invalid: u64,
}

/// The decision for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemDecision {
    /// Keep; in consistent modes, with this threshold to record.
    Keep(Option<Threshold>),
    /// Drop: not selected.
    NotSampled,
    /// Drop: invalid sampling information and `fail_closed`.
    Invalid,
}

/// A sampling percentage in the forms each mode compares against.
#[derive(Debug, Clone, Copy)]
struct Rate {
    /// `None` when the percentage is 0 (nothing is sampled).
    threshold: Option<Threshold>,
    ratio: f64,
    scaled_hash_rate: u32,
}

impl Rate {
    fn new(percentage: f64, precision: u8) -> Result<Self> {
        if !(0.0..=100.0).contains(&percentage) {
            return Err(Error::PercentageOutOfRange(percentage));
        }
        let ratio = percentage / 100.0;
        let threshold = if ratio > 0.0 {
            Some(Threshold::from_probability_with_precision(
                ratio.max(1.0 / (MAX_VALUE as f64 + 1.0)),
                precision,
            )?)
        } else {
            None
        };
        Ok(Rate {
            threshold,
            ratio,
            scaled_hash_rate: (ratio * f64::from(HASH_BUCKETS)) as u32,
        })
    }
}

/// The processor logic. Cheap to share; holds no mutable state.
#[derive(Debug, Clone)]
pub struct ProbabilisticSampler {
    config: ProbabilisticSamplerConfig,
    rate: Rate,
}

enum Source<'a> {
    Bytes(&'a [u8]),
    Missing,
}

/// What deciding a span reads, whether the span is a prost message or bytes in an encoded request.
struct SpanFacts<'a> {
    trace_id: &'a [u8],
    trace_state: &'a str,
    flags: u32,
    /// The decision the `sampling.priority` attribute forces, if the span has a numeric one.
    priority: Option<bool>,
}

impl<'a> SpanFacts<'a> {
    fn of_span(span: &'a Span) -> Self {
        SpanFacts {
            trace_id: &span.trace_id,
            trace_state: &span.trace_state,
            flags: span.flags,
            priority: priority(&span.attributes, SPAN_PRIORITY_ATTRIBUTE),
        }
    }

    fn of_view(span: &SpanView<'a>) -> Result<Self> {
        let priority = match span.find_attribute(SPAN_PRIORITY_ATTRIBUTE)? {
            Some(AnyValueView::Int(n)) => Some(n as f64),
            Some(AnyValueView::Double(x)) => Some(x),
            _ => None,
        };
        Ok(SpanFacts {
            trace_id: span.trace_id(),
            trace_state: span.trace_state(),
            flags: span.flags(),
            priority: priority.map(|value| value > 0.0),
        })
    }
}

/// How a span of an encoded request is decided.
enum Outcome {
    /// Over the trace-id column, at the configured threshold; the span's `ot` entry (no `th`, no `rv`) is kept
    /// for its rewrite.
    Column(OtelTraceState),
    /// One by one: the decision and, when kept in a consistent mode, the `ot` entry to write.
    Decided(ItemDecision, Option<OtelTraceState>),
}

impl ProbabilisticSampler {
    /// Validates the configuration.
    pub fn new(config: ProbabilisticSamplerConfig) -> Result<Self> {
        if !(1..=NUM_HEX_DIGITS).contains(&config.sampling_precision) {
            return Err(Error::PrecisionOutOfRange(config.sampling_precision));
        }
        if config.attribute_source == AttributeSource::Record && config.from_attribute.is_empty() {
            return Err(Error::Config(
                "attribute_source `record` needs `from_attribute`".to_owned(),
            ));
        }
        let rate = Rate::new(config.sampling_percentage, config.sampling_precision)?;
        Ok(ProbabilisticSampler { config, rate })
    }

    /// Samples spans in place: removes the ones not kept (and empty scopes/resources) and,
    /// in consistent modes, records `th` in each kept span's tracestate.
    pub fn sample_traces(&self, resource_spans: &mut Vec<ResourceSpans>) -> SampleCounts {
        let mut counts = SampleCounts::default();
        for rs in resource_spans.iter_mut() {
            for ss in rs.scope_spans.iter_mut() {
                ss.spans.retain_mut(|span| {
                    let decision = self.decide_span(span);
                    count(&mut counts, decision)
                });
            }
            rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        }
        resource_spans.retain(|rs| !rs.scope_spans.is_empty());
        counts
    }

    /// Decides one span and, when kept in a consistent mode, rewrites its tracestate.
    pub fn decide_span(&self, span: &mut Span) -> ItemDecision {
        let (decision, ot) = self.decide_facts(&SpanFacts::of_span(span));
        if let Some(ot) = ot {
            span.trace_state = set_ot_in_w3c(&span.trace_state, &ot);
        }
        decision
    }

    /// [`ProbabilisticSampler::sample_traces`] on an encoded `ExportTraceServiceRequest`, without decoding it: appends
    /// to `out` the request without the spans not kept (nor the scopes and resources left empty) and, in the
    /// consistent modes, with `th` recorded in the kept spans' tracestate. What `out` decodes to is what
    /// `sample_traces` makes of the decoded request, and the counts are the same.
    ///
    /// The spans whose decision is a function of their trace id alone (consistent modes, no `sampling.priority`,
    /// no `th` or `rv` in the tracestate: nearly all of them) are decided together over their trace-id column with
    /// [`decide_trace_ids`](crate::consistent::decide_trace_ids); the others one by one, by the rule of
    /// [`ProbabilisticSampler::decide_span`]. The request should be one `otlp_model::wire::scan` accepted; a
    /// malformed one is refused with [`Error::InvalidRequest`], with nothing appended to `out`.
    pub fn sample_encoded_traces(&self, request: &[u8], out: &mut Vec<u8>) -> Result<SampleCounts> {
        let traces = EncodedTraces::parse(request)?;
        let spans = traces.spans();
        let mut outcomes = Vec::with_capacity(spans.len());
        let mut column = Vec::with_capacity(spans.len());
        let mut presumed = 0;
        for span in spans {
            let facts = SpanFacts::of_view(span)?;
            match self.column_member(&facts) {
                Some((trace_id, ot)) => {
                    column.push(trace_id);
                    presumed += u64::from(
                        wire_trace_id_randomness(facts.flags) == TraceIdRandomness::Unflagged,
                    );
                    outcomes.push(Outcome::Column(ot));
                }
                None => {
                    let (decision, ot) = self.decide_facts(&facts);
                    outcomes.push(Outcome::Decided(decision, ot));
                }
            }
        }
        // The one-by-one rule counts a presumption for each span decided by an unflagged trace id; so does this.
        note_decisions(RandomnessSource::PresumedTraceId, presumed);
        // A span with neither `th` nor `rv` is decided at the threshold the one-by-one rule computes for no
        // incoming threshold; `None` when nothing can be kept at the configured rate.
        let threshold = self.consistent_threshold(None, &self.rate);
        let mut bitmap = KeepBitmap::new();
        if let Some(threshold) = threshold {
            decide_trace_ids_into(&column, threshold, &mut bitmap);
        }
        // Most spans have no tracestate, and then all of them get the same one.
        let plain_trace_state = threshold.map(|threshold| {
            let ot = OtelTraceState {
                threshold: Some(threshold),
                ..OtelTraceState::default()
            };
            set_ot_in_w3c("", &ot)
        });

        let mut counts = SampleCounts::default();
        let mut edits = SpanEdits::with_capacity(spans.len());
        let mut column_index = 0;
        for (span, outcome) in spans.iter().zip(outcomes) {
            match outcome {
                Outcome::Column(mut ot) => {
                    let kept = bitmap.is_kept(column_index);
                    column_index += 1;
                    match (threshold, &plain_trace_state) {
                        (Some(threshold), Some(plain)) if kept => {
                            count(&mut counts, ItemDecision::Keep(Some(threshold)));
                            if span.trace_state().is_empty() {
                                edits.keep_with_trace_state(plain);
                            } else {
                                ot.threshold = Some(threshold);
                                edits.keep_with_trace_state_from(|text| {
                                    write_ot_in_w3c(span.trace_state(), &ot, text)
                                });
                            }
                        }
                        _ => {
                            count(&mut counts, ItemDecision::NotSampled);
                            edits.remove();
                        }
                    }
                }
                Outcome::Decided(decision, ot) => match (count(&mut counts, decision), ot) {
                    (false, _) => edits.remove(),
                    (true, None) => edits.keep(),
                    (true, Some(ot)) => edits.keep_with_trace_state_from(|text| {
                        write_ot_in_w3c(span.trace_state(), &ot, text)
                    }),
                },
            }
        }
        let start = out.len();
        // Room for a request at most as large as this one (every span kept, none grown) in one allocation.
        out.reserve(request.len());
        if let Err(error) = traces.rewrite(&edits, out) {
            // Not reached for bytes `parse` accepted (it read every field the rewrite reads), but a refusal must not
            // leave half a request behind.
            out.truncate(start);
            return Err(error.into());
        }
        Ok(counts)
    }

    /// The span's trace id and `ot` entry when its decision is a function of the trace id alone: a consistent
    /// mode, no forced decision, a 16-byte trace id, and a valid tracestate without `th` or `rv`.
    fn column_member(&self, span: &SpanFacts<'_>) -> Option<([u8; 16], OtelTraceState)> {
        if self.config.mode == SamplerMode::HashSeed || span.priority.is_some() {
            return None;
        }
        let trace_id = <[u8; 16]>::try_from(span.trace_id).ok()?;
        let ot = ot_from_w3c(span.trace_state).ok()?;
        (ot.threshold.is_none() && ot.randomness.is_none()).then_some((trace_id, ot))
    }

    /// Decides one span and, when it is kept in a consistent mode, gives the `ot` entry its tracestate must get.
    fn decide_facts(&self, span: &SpanFacts<'_>) -> (ItemDecision, Option<OtelTraceState>) {
        if let Some(forced) = span.priority {
            let decision = self.forced(forced);
            if let ItemDecision::Keep(Some(threshold)) = decision {
                let mut ot = ot_from_w3c(span.trace_state).unwrap_or_default();
                ot.threshold = Some(threshold);
                return (decision, Some(ot));
            }
            return (decision, None);
        }
        match self.config.mode {
            SamplerMode::HashSeed => (
                self.hash_decision(Source::Bytes(span.trace_id), &self.rate),
                None,
            ),
            SamplerMode::Proportional | SamplerMode::Equalizing => {
                let Ok(mut ot) = ot_from_w3c(span.trace_state) else {
                    return (self.invalid(), None);
                };
                let Ok(trace_id) = <[u8; 16]>::try_from(span.trace_id) else {
                    return (self.invalid(), None);
                };
                let randomness =
                    decide_randomness(&ot, trace_id, wire_trace_id_randomness(span.flags));
                let decision = self.consistent_decision(ot.threshold, randomness, &self.rate);
                match decision {
                    // Fail-open on an inconsistent `th` keeps the span without one: `ot` is rewritten without it.
                    ItemDecision::Keep(threshold) => {
                        ot.threshold = threshold;
                        (decision, Some(ot))
                    }
                    _ => (decision, None),
                }
            }
        }
    }

    /// Samples log records in place, like [`ProbabilisticSampler::sample_traces`]; in
    /// consistent modes kept records get a `sampling.threshold` attribute.
    pub fn sample_logs(&self, resource_logs: &mut Vec<ResourceLogs>) -> SampleCounts {
        let mut counts = SampleCounts::default();
        for rl in resource_logs.iter_mut() {
            for sl in rl.scope_logs.iter_mut() {
                sl.log_records.retain_mut(|record| {
                    let decision = self.decide_log(record);
                    count(&mut counts, decision)
                });
            }
            rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
        }
        resource_logs.retain(|rl| !rl.scope_logs.is_empty());
        counts
    }

    /// Decides one log record and, when kept in a consistent mode, records its threshold.
    pub fn decide_log(&self, record: &mut LogRecord) -> ItemDecision {
        let priority_override = (!self.config.sampling_priority.is_empty())
            .then(|| priority_value(&record.attributes, &self.config.sampling_priority))
            .flatten();
        let source_bytes: Option<Vec<u8>> = match self.config.attribute_source {
            AttributeSource::TraceId => {
                (!record.trace_id.is_empty()).then(|| record.trace_id.clone())
            }
            AttributeSource::Record => {
                attribute_bytes(&record.attributes, &self.config.from_attribute)
            }
        };
        let source = source_bytes
            .as_deref()
            .map_or(Source::Missing, Source::Bytes);
        // The record's own percentage, when it has one, replaces the configured one.
        let rate = match priority_override {
            None => self.rate,
            Some(percent) => {
                match Rate::new(percent.clamp(0.0, 100.0), self.config.sampling_precision) {
                    Ok(rate) => rate,
                    Err(_) => return self.invalid(),
                }
            }
        };
        match self.config.mode {
            SamplerMode::HashSeed => self.hash_decision(source, &rate),
            SamplerMode::Proportional | SamplerMode::Equalizing => {
                let incoming = match attribute_str(&record.attributes, LOG_THRESHOLD_ATTRIBUTE) {
                    Some(th) => match Threshold::parse_th(th) {
                        Ok(threshold) => Some(threshold),
                        Err(_) => return self.invalid(),
                    },
                    None => None,
                };
                let explicit = match attribute_str(&record.attributes, LOG_RANDOMNESS_ATTRIBUTE) {
                    Some(rv) => match Randomness::parse_rv(rv) {
                        Ok(randomness) => Some(randomness),
                        Err(_) => return self.invalid(),
                    },
                    None => None,
                };
                let randomness = match (explicit, self.config.attribute_source, &source) {
                    (Some(randomness), _, _) => randomness,
                    (None, AttributeSource::TraceId, Source::Bytes(id)) => {
                        match <[u8; 16]>::try_from(*id) {
                            Ok(trace_id) => decide_randomness(
                                &OtelTraceState::default(),
                                trace_id,
                                wire_trace_id_randomness(record.flags),
                            ),
                            Err(_) => return self.invalid(),
                        }
                    }
                    (None, AttributeSource::Record, Source::Bytes(bytes)) => {
                        self.hashed_randomness(bytes)
                    }
                    (None, _, Source::Missing) => return self.invalid(),
                };
                let decision = self.consistent_decision(incoming, randomness, &rate);
                if let ItemDecision::Keep(Some(threshold)) = decision {
                    set_string_attribute(
                        &mut record.attributes,
                        LOG_THRESHOLD_ATTRIBUTE,
                        threshold.to_th(),
                    );
                }
                decision
            }
        }
    }

    fn forced(&self, keep: bool) -> ItemDecision {
        match (keep, self.config.mode) {
            (false, _) => ItemDecision::NotSampled,
            (true, SamplerMode::HashSeed) => ItemDecision::Keep(None),
            (true, _) => ItemDecision::Keep(Some(Threshold::ALWAYS_SAMPLE)),
        }
    }

    fn invalid(&self) -> ItemDecision {
        if self.config.fail_closed {
            ItemDecision::Invalid
        } else {
            // Fail open: keep the item, recording nothing we could not compute.
            ItemDecision::Keep(None)
        }
    }

    fn hash_bucket(&self, bytes: &[u8]) -> u32 {
        fnv1a32(&[&self.config.hash_seed.to_le_bytes(), bytes]) & (HASH_BUCKETS - 1)
    }

    fn hash_decision(&self, source: Source<'_>, rate: &Rate) -> ItemDecision {
        match source {
            Source::Missing | Source::Bytes([]) => self.invalid(),
            Source::Bytes(bytes) => {
                if self.hash_bucket(bytes) < rate.scaled_hash_rate {
                    ItemDecision::Keep(None)
                } else {
                    ItemDecision::NotSampled
                }
            }
        }
    }

    /// Spreads the 14-bit hash bucket over the 56-bit randomness space.
    fn hashed_randomness(&self, bytes: &[u8]) -> Randomness {
        Randomness::from_raw(u64::from(self.hash_bucket(bytes)) << (56 - 14))
    }

    fn consistent_decision(
        &self,
        incoming: Option<Threshold>,
        randomness: Randomness,
        rate: &Rate,
    ) -> ItemDecision {
        if let Some(incoming) = incoming {
            // The item claims a threshold that would have rejected it: inconsistent data.
            if !incoming.should_sample(randomness) {
                return self.invalid();
            }
        }
        let Some(threshold) = self.consistent_threshold(incoming, rate) else {
            return ItemDecision::NotSampled;
        };
        if threshold.should_sample(randomness) {
            ItemDecision::Keep(Some(threshold))
        } else {
            ItemDecision::NotSampled
        }
    }

    /// The threshold an item with `incoming` (checked consistent) is decided at; `None` when nothing can be kept.
    fn consistent_threshold(&self, incoming: Option<Threshold>, rate: &Rate) -> Option<Threshold> {
        let configured = rate.threshold?;
        match self.config.mode {
            SamplerMode::Proportional => {
                let incoming_probability = incoming.map_or(1.0, Threshold::probability);
                // Below 2^-56 (an error here), nothing can be kept at that probability.
                Threshold::from_probability_with_precision(
                    incoming_probability * rate.ratio,
                    self.config.sampling_precision,
                )
                .ok()
            }
            _ => Some(incoming.map_or(configured, |incoming| incoming.max(configured))),
        }
    }
}

/// The low 8 bits of an OTLP span's or log record's `flags` are its W3C trace flags, so the
/// `random-trace-id` bit says whether its trace ID may be used without presuming.
fn wire_trace_id_randomness(flags: u32) -> TraceIdRandomness {
    TraceIdRandomness::from_trace_flags((flags & 0xff) as u8)
}

fn count(counts: &mut SampleCounts, decision: ItemDecision) -> bool {
    match decision {
        ItemDecision::Keep(_) => {
            counts.kept += 1;
            true
        }
        ItemDecision::NotSampled => {
            counts.dropped_not_sampled += 1;
            false
        }
        ItemDecision::Invalid => {
            counts.dropped_invalid += 1;
            false
        }
    }
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn priority_value(attributes: &[KeyValue], key: &str) -> Option<f64> {
    match find(attributes, key)? {
        any_value::Value::IntValue(n) => Some(*n as f64),
        any_value::Value::DoubleValue(x) => Some(*x),
        _ => None,
    }
}

/// A span's forced decision: `Some(false)` for priority 0, `Some(true)` above 0.
fn priority(attributes: &[KeyValue], key: &str) -> Option<bool> {
    priority_value(attributes, key).map(|value| value > 0.0)
}

fn attribute_str<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match find(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attribute_bytes(attributes: &[KeyValue], key: &str) -> Option<Vec<u8>> {
    match find(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s.as_bytes().to_vec()),
        any_value::Value::BytesValue(b) => Some(b.clone()),
        any_value::Value::IntValue(n) => Some(n.to_string().into_bytes()),
        any_value::Value::DoubleValue(x) => Some(x.to_string().into_bytes()),
        any_value::Value::BoolValue(b) => Some(b.to_string().into_bytes()),
        _ => None,
    }
}

fn set_string_attribute(attributes: &mut Vec<KeyValue>, key: &str, value: String) {
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    let new_value = Some(AnyValue {
        value: Some(any_value::Value::StringValue(value)),
    });
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = new_value,
        None => attributes.push(KeyValue {
            key: key.to_owned(),
            value: new_value,
            ..Default::default()
        }),
    }
}

fn fnv1a32(parts: &[&[u8]]) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    parts
        .iter()
        .flat_map(|part| part.iter())
        .fold(OFFSET, |hash, byte| {
            (hash ^ u32::from(*byte)).wrapping_mul(PRIME)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a32_matches_reference_vectors() {
        // Published FNV-1a 32-bit test vectors.
        assert_eq!(fnv1a32(&[b""]), 0x811c_9dc5);
        assert_eq!(fnv1a32(&[b"a"]), 0xe40c_292c);
        assert_eq!(fnv1a32(&[b"foo"]), 0xa9f3_7ed7);
        assert_eq!(fnv1a32(&[b"fo", b"o"]), 0xa9f3_7ed7);
    }
}
