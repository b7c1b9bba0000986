//! The tail-sampling engine: buffers spans by trace, decides each trace once its
//! `decision_wait` has passed, and releases the sampled ones.

use std::collections::hash_map::Entry;
use std::collections::{HashSet, VecDeque};
use std::mem::size_of;
use std::time::Instant;

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use super::condition::ConditionCompiler;
use super::config::TailSamplingConfig;
use super::decision_cache::DecisionCache;
use super::decisions::{Decisions, DropCounts, DropReason, ReleaseFormat};
use super::encoded::{Buffer, SplitScratch, split_encoded};
use super::hashing::FastMap;
use super::headers::HeaderTable;
use super::policy::{DecisionSet, Policy, PolicyDecision, combine};
use super::release::EncodedRelease;
use super::store::{SpanStore, store_by_trace};
use super::trace::{PendingTrace, Reassembler, StoredPiece, TracePiece, split_by_trace};
use super::view::{SpanTable, TraceRecords, TraceView};
use crate::error::{Error, Result};

/// Where one call's released spans gather before they go into its [`Decisions`].
enum Releaser {
    Decoded(Reassembler),
    Encoded(EncodedRelease),
}

impl Releaser {
    /// A releaser in `format`; an encoded one gathers in `buffers` (taken, kept from the last call).
    fn new(format: ReleaseFormat, buffers: &mut EncodedRelease) -> Self {
        match format {
            ReleaseFormat::Decoded => Releaser::Decoded(Reassembler::default()),
            ReleaseFormat::Encoded => Releaser::Encoded(std::mem::take(buffers)),
        }
    }

    /// Releases a sampled trace of `spans` spans from its records: encoded as they are, or
    /// decoded.
    fn release_decided(&mut self, out: &mut Decisions, records: &TraceRecords, spans: u64) {
        match self {
            Releaser::Decoded(assembler) => {
                let (pieces, undecodable) = records.decode();
                out.dropped.add(DropReason::Undecodable, undecodable);
                for piece in pieces {
                    out.released_spans += piece.span_count;
                    assembler.push(&mut out.released, piece);
                }
            }
            Releaser::Encoded(release) => {
                out.released_spans += spans;
                records.release_into(release);
            }
        }
    }

    /// Releases late spans of a sampled trace: decoded, or encoded straight from the store.
    fn release_stored(&mut self, out: &mut Decisions, piece: StoredPiece, store: &mut SpanStore) {
        match self {
            Releaser::Decoded(assembler) => {
                let (piece, undecodable) = piece.load(store);
                out.dropped.add(DropReason::Undecodable, undecodable);
                out.released_spans += piece.span_count;
                assembler.push(&mut out.released, piece);
            }
            Releaser::Encoded(release) => {
                for scope in piece.scopes {
                    match store.read(scope.records) {
                        Ok(records) => {
                            release.push(&piece.resource, &scope.scope, records, scope.span_count);
                            out.released_spans += scope.span_count;
                        }
                        Err(_) => out.dropped.add(DropReason::Undecodable, scope.span_count),
                    }
                    store.release(scope.records);
                }
            }
        }
    }

    /// Writes what was gathered encoded into `out`, and gives the buffers back for the next call.
    fn finish(self, out: &mut Decisions, buffers: &mut EncodedRelease) {
        if let Releaser::Encoded(mut release) = self {
            release.write_into(&mut out.released_encoded);
            *buffers = release;
        }
    }
}

pub(super) type TraceKey = [u8; 16];

#[derive(Debug)]
enum TraceState {
    Pending(PendingTrace),
    /// Decided traces stay (spans released) until evicted, so late spans follow the decision
    /// even with the decision caches off, as in otelcol.
    Decided {
        sampled: bool,
    },
}

#[derive(Debug)]
struct TraceEntry {
    seq: u64,
    state: TraceState,
}

/// Tail sampler over OTLP `ResourceSpans`, driven by the caller's clock.
///
/// Feed spans with [`TailSampler::ingest`] and call [`TailSampler::tick`] regularly (say
/// every 100 ms–1 s) with the current time; both return [`Decisions`] with the spans to
/// forward and the dropped counts. Nothing here sleeps or spawns, so an async driver is a
/// `tokio::time::interval` loop around `tick`, and tests pass synthetic instants.
///
/// Memory is bounded by `num_traces` (pending plus recently decided traces) and, if set,
/// `max_buffered_bytes` (the pending spans' encoded size plus their bookkeeping). Evicted
/// undecided spans are reported as dropped with [`DropReason::TraceLimit`] /
/// [`DropReason::MemoryLimit`]. Pending spans are held as received, in zstd-compressed blocks,
/// so the memory they take is a fraction of their encoded size: see
/// [`TailSampler::estimated_memory_bytes`].
#[derive(Debug)]
pub struct TailSampler {
    config: TailSamplingConfig,
    policies: Vec<Policy>,
    traces: FastMap<TraceKey, TraceEntry>,
    /// Pending traces by decision deadline; entries whose `seq` no longer matches are stale.
    deadlines: VecDeque<(Instant, TraceKey, u64)>,
    /// All held traces in arrival order, for eviction; stale entries are skipped likewise.
    arrivals: VecDeque<(TraceKey, u64)>,
    next_seq: u64,
    sampled_cache: DecisionCache,
    not_sampled_cache: DecisionCache,
    buffered_spans: u64,
    buffered_bytes: u64,
    /// The part of `buffered_bytes` that is span records at their encoded size.
    buffered_record_bytes: u64,
    store: SpanStore,
    headers: HeaderTable,
    decisions_scratch: DecisionSet,
    release_format: ReleaseFormat,
    /// The records of the trace being decided, and what the policies read of them.
    records: TraceRecords,
    spans: SpanTable,
    /// The encoded release's buffers, kept from one call to the next.
    release_buffers: EncodedRelease,
    /// The lists an encoded request is split with, kept from one call to the next.
    split_scratch: SplitScratch,
}

impl TailSampler {
    /// Builds the engine, validating every policy. A policy of type `ottl_condition` needs
    /// [`TailSampler::with_conditions`].
    pub fn new(config: TailSamplingConfig) -> Result<Self> {
        Self::build(config, None)
    }

    /// Builds the engine with `compiler` for the `ottl_condition` policies, validating every
    /// policy.
    ///
    /// A compiler is usually an OTTL engine's (otlp-ottl's `SpanConditions` runs otelcol's
    /// conditions); any code can stand in. Here `span` entries are span names:
    ///
    /// ```
    /// use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
    /// use otlp_sampling::tail::config::OttlConditionConfig;
    /// use otlp_sampling::tail::{ConditionError, TailSampler, TailSamplingConfig, TraceCondition};
    ///
    /// #[derive(Debug)]
    /// struct SpanNamed(Vec<String>);
    ///
    /// impl TraceCondition for SpanNamed {
    ///     fn holds(&self, trace: &mut [ResourceSpans]) -> Result<bool, ConditionError> {
    ///         Ok(trace
    ///             .iter()
    ///             .flat_map(|rs| &rs.scope_spans)
    ///             .flat_map(|ss| &ss.spans)
    ///             .any(|span| self.0.contains(&span.name)))
    ///     }
    /// }
    ///
    /// let config: TailSamplingConfig = serde_norway::from_str(
    ///     "policies: [{name: carts, type: ottl_condition, ottl_condition: {span: ['GET /api/cart']}}]",
    /// )?;
    /// let compiler = |_: &str, block: &OttlConditionConfig| {
    ///     Ok(Box::new(SpanNamed(block.span.clone())) as Box<dyn TraceCondition>)
    /// };
    /// let mut engine = TailSampler::with_conditions(config, &compiler)?;
    ///
    /// let start = std::time::Instant::now();
    /// let batch = otlp_testkit::Generator::new(1).traces(100).resource_spans;
    /// engine.ingest(batch, start);
    /// let decided = engine.tick(start + std::time::Duration::from_secs(31));
    /// // The traces with a cart request are kept, the others not.
    /// assert!(decided.sampled_traces > 0 && decided.not_sampled_traces > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_conditions(
        config: TailSamplingConfig,
        compiler: &dyn ConditionCompiler,
    ) -> Result<Self> {
        Self::build(config, Some(compiler))
    }

    fn build(
        config: TailSamplingConfig,
        conditions: Option<&dyn ConditionCompiler>,
    ) -> Result<Self> {
        if config.num_traces == 0 {
            return Err(Error::Config(
                "num_traces must be greater than 0".to_owned(),
            ));
        }
        let mut names = HashSet::new();
        for policy in &config.policies {
            if !names.insert(policy.name.as_str()) {
                return Err(Error::Config(format!(
                    "policy name `{}` is used twice",
                    policy.name
                )));
            }
        }
        let policies = Policy::every(&config, conditions)?;
        let mut attribute_keys = Vec::new();
        for policy in &policies {
            policy.attribute_keys(&mut attribute_keys);
        }
        attribute_keys.sort_unstable();
        attribute_keys.dedup();
        let expected = config
            .expected_new_traces_per_sec
            .saturating_mul(config.decision_wait.as_secs().max(1))
            .min(config.num_traces);
        let capacity = usize::try_from(expected).unwrap_or(0);
        let store = SpanStore::new().map_err(|e| Error::Buffer(e.to_string()))?;
        Ok(TailSampler {
            sampled_cache: DecisionCache::new(config.decision_cache.sampled_cache_size),
            not_sampled_cache: DecisionCache::new(config.decision_cache.non_sampled_cache_size),
            config,
            policies,
            traces: FastMap::with_capacity_and_hasher(capacity, Default::default()),
            deadlines: VecDeque::with_capacity(capacity),
            arrivals: VecDeque::with_capacity(capacity),
            next_seq: 0,
            buffered_spans: 0,
            buffered_bytes: 0,
            buffered_record_bytes: 0,
            store,
            headers: HeaderTable::new(),
            decisions_scratch: DecisionSet::default(),
            release_format: ReleaseFormat::default(),
            records: TraceRecords::default(),
            spans: SpanTable::keeping(attribute_keys),
            release_buffers: EncodedRelease::pooled(),
            split_scratch: SplitScratch::default(),
        })
    }

    /// The same sampler releasing sampled spans in `format` ([`ReleaseFormat::Decoded`] unless
    /// told otherwise).
    pub fn with_release_format(mut self, format: ReleaseFormat) -> Self {
        self.release_format = format;
        self
    }

    /// The form sampled spans are released in.
    pub fn release_format(&self) -> ReleaseFormat {
        self.release_format
    }

    /// The configuration in use.
    pub fn config(&self) -> &TailSamplingConfig {
        &self.config
    }

    /// Traces held (pending and decided).
    pub fn held_traces(&self) -> usize {
        self.traces.len()
    }

    /// Spans waiting for a decision.
    pub fn buffered_spans(&self) -> u64 {
        self.buffered_spans
    }

    /// The encoded size of the spans waiting for a decision, plus their share of the resources and
    /// scopes they keep and of the engine's bookkeeping: what `max_buffered_bytes` bounds.
    pub fn buffered_bytes(&self) -> u64 {
        self.buffered_bytes
    }

    /// Estimated heap bytes held by the engine: the buffered spans as held (compressed), their
    /// resources, scopes and bookkeeping, its trace table, queues and decision caches (by
    /// capacity).
    pub fn estimated_memory_bytes(&self) -> u64 {
        // A hashbrown slot is the entry plus one control byte.
        let table = self.traces.capacity() * (size_of::<(TraceKey, TraceEntry)>() + 1);
        let queues = self.deadlines.capacity() * size_of::<(Instant, TraceKey, u64)>()
            + self.arrivals.capacity() * size_of::<(TraceKey, u64)>();
        let caches = [&self.sampled_cache, &self.not_sampled_cache]
            .iter()
            .map(|cache| cache.heap_bytes())
            .sum::<usize>();
        // `buffered_bytes` counts records at their encoded size; the store holds them compressed.
        self.buffered_bytes - self.buffered_record_bytes
            + (self.store.heap_bytes() + self.headers.heap_bytes() + table + queues + caches) as u64
    }

    /// Accepts spans. Spans of undecided traces are buffered; late spans of decided traces
    /// follow the decision at once (released or dropped in the returned [`Decisions`]).
    pub fn ingest(&mut self, batch: Vec<ResourceSpans>, now: Instant) -> Decisions {
        let mut out = Decisions::default();
        let mut releaser = Releaser::new(self.release_format, &mut self.release_buffers);
        let mut found = Vec::new();
        for resource_spans in batch {
            let (pieces, invalid) = split_by_trace(resource_spans, &mut self.headers);
            out.dropped.add(DropReason::InvalidTraceId, invalid);
            found.extend(pieces);
        }
        for (key, piece) in store_by_trace(found, &mut self.store, TracePiece::store) {
            self.accept(key, piece, now, &mut out, &mut releaser);
        }
        releaser.finish(&mut out, &mut self.release_buffers);
        self.enforce_byte_limit(&mut out);
        out
    }

    /// [`ingest`](Self::ingest) for an encoded `ExportTraceServiceRequest`, with the same
    /// results, without decoding its spans: each span's bytes are buffered as received and
    /// decoded once, when its trace is decided. The request must be one prost decodes (a
    /// collector's receiver has checked it; `otlp_model::wire::scan` checks it); a malformed one
    /// is refused whole with [`Error::InvalidRequest`], and nothing of it is ingested.
    pub fn ingest_encoded(&mut self, request: &[u8], now: Instant) -> Result<Decisions> {
        let buffer = Buffer {
            store: &mut self.store,
            headers: &mut self.headers,
            scratch: &mut self.split_scratch,
        };
        let (pieces, invalid) = split_encoded(request, buffer)?;
        let mut out = Decisions::default();
        let mut releaser = Releaser::new(self.release_format, &mut self.release_buffers);
        out.dropped.add(DropReason::InvalidTraceId, invalid);
        for (key, piece) in pieces {
            self.accept(key, piece, now, &mut out, &mut releaser);
        }
        releaser.finish(&mut out, &mut self.release_buffers);
        self.enforce_byte_limit(&mut out);
        Ok(out)
    }

    fn enforce_byte_limit(&mut self, out: &mut Decisions) {
        if let Some(limit) = self.config.max_buffered_bytes.filter(|limit| *limit > 0) {
            while self.buffered_bytes > limit {
                if !self.evict_oldest(DropReason::MemoryLimit, &mut out.dropped) {
                    break;
                }
            }
        }
    }

    /// Decides every trace whose `decision_wait` has passed by `now`.
    pub fn tick(&mut self, now: Instant) -> Decisions {
        let mut out = Decisions::default();
        let mut releaser = Releaser::new(self.release_format, &mut self.release_buffers);
        while let Some(&(deadline, key, seq)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            self.decide(key, seq, now, &mut out, &mut releaser);
        }
        releaser.finish(&mut out, &mut self.release_buffers);
        out
    }

    /// Decides every pending trace now, whatever its deadline (for shutdown).
    pub fn flush(&mut self, now: Instant) -> Decisions {
        let mut out = Decisions::default();
        let mut releaser = Releaser::new(self.release_format, &mut self.release_buffers);
        while let Some((_, key, seq)) = self.deadlines.pop_front() {
            self.decide(key, seq, now, &mut out, &mut releaser);
        }
        releaser.finish(&mut out, &mut self.release_buffers);
        out
    }

    /// Drops every trace still waiting for its decision, counted under
    /// [`DropReason::PendingAtShutdown`], and forgets the decided ones: what otelcol's
    /// `drop_pending_traces_on_shutdown` does where [`flush`](Self::flush) would decide them
    /// on partial data.
    pub fn drop_pending(&mut self) -> Decisions {
        let mut out = Decisions::default();
        while self.evict_oldest(DropReason::PendingAtShutdown, &mut out.dropped) {}
        self.deadlines.clear();
        out
    }

    fn accept(
        &mut self,
        key: TraceKey,
        piece: StoredPiece,
        now: Instant,
        out: &mut Decisions,
        releaser: &mut Releaser,
    ) {
        match self.traces.get_mut(&key) {
            Some(TraceEntry {
                state: TraceState::Pending(data),
                ..
            }) => {
                self.buffered_spans += piece.span_count;
                self.buffered_record_bytes += piece.record_bytes();
                self.buffered_bytes += data.push(piece);
                return;
            }
            Some(TraceEntry {
                state: TraceState::Decided { sampled },
                ..
            }) => {
                if *sampled {
                    releaser.release_stored(out, piece, &mut self.store);
                } else {
                    out.dropped
                        .add(DropReason::LateNotSampled, piece.span_count);
                    piece.discard(&mut self.store);
                }
                return;
            }
            None => {}
        }
        if self.sampled_cache.contains(&key) {
            releaser.release_stored(out, piece, &mut self.store);
            return;
        }
        if self.not_sampled_cache.contains(&key) {
            out.dropped
                .add(DropReason::LateNotSampled, piece.span_count);
            piece.discard(&mut self.store);
            return;
        }
        while self.traces.len() as u64 >= self.config.num_traces {
            if !self.evict_oldest(DropReason::TraceLimit, &mut out.dropped) {
                break;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let pending = PendingTrace::new(piece);
        self.buffered_spans += pending.span_count;
        self.buffered_record_bytes += pending.record_bytes();
        self.buffered_bytes += pending.heap_bytes;
        self.traces.insert(
            key,
            TraceEntry {
                seq,
                state: TraceState::Pending(pending),
            },
        );
        self.deadlines
            .push_back((now + self.config.decision_wait, key, seq));
        self.arrivals.push_back((key, seq));
    }

    /// Evicts the oldest held trace; false when nothing is left to evict.
    fn evict_oldest(&mut self, reason: DropReason, dropped: &mut DropCounts) -> bool {
        while let Some((key, seq)) = self.arrivals.pop_front() {
            let Entry::Occupied(entry) = self.traces.entry(key) else {
                continue;
            };
            if entry.get().seq != seq {
                continue;
            }
            if let TraceState::Pending(data) = entry.remove().state {
                self.buffered_spans -= data.span_count;
                self.buffered_bytes -= data.heap_bytes;
                self.buffered_record_bytes -= data.record_bytes();
                dropped.add(reason, data.span_count);
                data.discard(&mut self.store);
                // The evicted trace was the oldest pending one, so its deadline sits at the
                // front; dropping it now keeps the deadline queue bounded under overload.
                while let Some(&(_, key, seq)) = self.deadlines.front() {
                    let live = self
                        .traces
                        .get(&key)
                        .is_some_and(|e| e.seq == seq && matches!(e.state, TraceState::Pending(_)));
                    if live {
                        break;
                    }
                    self.deadlines.pop_front();
                }
            }
            return true;
        }
        false
    }

    fn decide(
        &mut self,
        key: TraceKey,
        seq: u64,
        now: Instant,
        out: &mut Decisions,
        releaser: &mut Releaser,
    ) {
        let Some(entry) = self.traces.get_mut(&key) else {
            return;
        };
        if entry.seq != seq {
            return;
        }
        let TraceState::Pending(pending) =
            std::mem::replace(&mut entry.state, TraceState::Decided { sampled: false })
        else {
            return;
        };
        self.buffered_spans -= pending.span_count;
        self.buffered_bytes -= pending.heap_bytes;
        self.buffered_record_bytes -= pending.record_bytes();
        let lost = pending.copy_into(&mut self.store, &mut self.records);
        let unreadable = self.records.read_into(&mut self.spans);
        out.dropped.add(DropReason::Undecodable, lost + unreadable);
        let trace = TraceView::new(key, &self.records, &self.spans);
        let span_count = trace.span_count;
        self.decisions_scratch = DecisionSet::default();
        for policy in &mut self.policies {
            let decision = policy.evaluate(&trace, now);
            self.decisions_scratch.insert(decision);
            if self.config.sample_on_first_match && decision == PolicyDecision::Sampled {
                break;
            }
        }
        out.condition_errors += trace.condition_errors();
        let sampled = combine(self.decisions_scratch);
        entry.state = TraceState::Decided { sampled };
        if sampled {
            out.sampled_traces += 1;
            self.sampled_cache.insert(key);
            releaser.release_decided(out, &self.records, span_count);
        } else {
            out.not_sampled_traces += 1;
            self.not_sampled_cache.insert(key);
            out.dropped.add(DropReason::NotSampled, span_count);
        }
        self.records.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use std::time::Duration;

    fn engine(yaml: &str) -> TailSampler {
        TailSampler::new(serde_norway::from_str(yaml).unwrap()).unwrap()
    }

    /// Every way a buffered span leaves (decided and released, decided and dropped, late after
    /// either, evicted for `num_traces` or for bytes, refused with its request) gives its records
    /// back: after a flush the store holds nothing.
    #[test]
    fn every_way_out_of_the_buffer_gives_the_records_back() {
        let mut engine = engine(
            "decision_wait: 2s
num_traces: 300
max_buffered_bytes: 1500000
policies:
  - {name: some, type: probabilistic, probabilistic: {sampling_percentage: 30}}",
        );
        let mut generator = otlp_testkit::Generator::new(3);
        let start = Instant::now();
        let mut seen = 0u64;
        let mut accounted = 0u64;
        for n in 0..400u64 {
            let now = start + Duration::from_millis(50 * n);
            let bytes = generator.traces(100).encode_to_vec();
            seen += 100;
            let mut out = engine.ingest_encoded(&bytes, now).unwrap();
            if n % 50 == 7 {
                // A refused request (cut short) must leave nothing behind.
                assert!(
                    engine
                        .ingest_encoded(&bytes[..bytes.len() - 3], now)
                        .is_err()
                );
            }
            out.merge(engine.tick(now));
            accounted += out.released_spans + out.dropped.total();
        }
        assert!(engine.store.live_records() > 0);
        let out = engine.flush(start + Duration::from_secs(3600));
        accounted += out.released_spans + out.dropped.total();
        assert_eq!(accounted, seen);
        assert_eq!(engine.store.live_records(), 0);
        assert_eq!(engine.buffered_bytes(), 0);
        assert_eq!(engine.buffered_record_bytes, 0);
    }

    /// A trace's spans come in each resource they came from; in a big request (a batch processor's
    /// 10,000 spans) its pieces are a request apart. Deciding every trace still decompresses each
    /// block about once, not once per piece.
    #[test]
    fn deciding_a_big_request_decompresses_each_block_about_once() {
        let mut engine = engine("decision_wait: 1s\nnum_traces: 100000");
        let bytes = otlp_testkit::Generator::new(5)
            .traces(10_000)
            .encode_to_vec();
        let now = Instant::now();
        engine.ingest_encoded(&bytes, now).unwrap();
        engine.tick(now + Duration::from_secs(2));
        let (decompressions, sealed) = engine.store.decompressions();
        assert!(sealed >= 10, "{sealed} blocks");
        assert!(
            decompressions <= sealed + sealed / 4,
            "{decompressions} decompressions of {sealed} blocks"
        );
    }

    /// Generated traffic held in blocks takes a fraction of its encoded size.
    #[test]
    fn held_spans_take_less_memory_than_their_encoding() {
        let mut engine = engine("decision_wait: 30s\nnum_traces: 100000");
        let mut generator = otlp_testkit::Generator::new(4);
        let now = Instant::now();
        let mut encoded = 0;
        for _ in 0..200 {
            let bytes = generator.traces(100).encode_to_vec();
            encoded += bytes.len() as u64;
            engine.ingest_encoded(&bytes, now).unwrap();
        }
        assert_eq!(engine.buffered_spans(), 20_000);
        let held = engine.store.heap_bytes() as u64;
        assert!(
            held * 3 < encoded,
            "held {held} bytes for {encoded} encoded"
        );
        assert!(engine.estimated_memory_bytes() < engine.buffered_bytes());
    }
}
