//! Consistent probability sampling primitives from the OpenTelemetry specification
//! ("TraceState: Probability Sampling"): the 56-bit rejection threshold `th`, the
//! 56-bit randomness value `rv`, and the `ot` tracestate entry that carries them.
//!
//! A span is kept when its randomness `R` is at least the threshold `T`, where
//! `T = (1 - p) * 2^56`. Because every participant derives `R` from the same trace
//! (explicit `rv` or the low 56 bits of the trace ID), two samplers with the same
//! probability always agree, and a sampler with a lower probability only ever keeps a
//! subset of what a higher-probability one keeps.

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// Number of hex digits in a full-precision threshold or randomness value.
pub const NUM_HEX_DIGITS: u8 = 14;
/// `2^56`: one more than the largest randomness value; the threshold that would reject everything.
pub const MAX_ADJUSTED_COUNT: u64 = 1 << 56;
/// The largest valid randomness / threshold value, `2^56 - 1`.
pub const MAX_VALUE: u64 = MAX_ADJUSTED_COUNT - 1;
/// Default number of significant hex digits written for `th`.
pub const DEFAULT_PRECISION: u8 = 4;
/// The specification's limit on the length of the `ot` tracestate value.
pub const MAX_OT_VALUE_LEN: usize = 256;

const HEX_BITS: i32 = 4;

/// A 56-bit rejection threshold: items with randomness `>= T` are kept.
///
/// `T = 0` keeps everything (probability 1); `T = 2^56 - 1` keeps one in `2^56`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Threshold(u64);

impl Threshold {
    /// The threshold that keeps every item (`th:0`).
    pub const ALWAYS_SAMPLE: Threshold = Threshold(0);

    /// Builds a threshold from its raw 56-bit value.
    pub fn from_raw(value: u64) -> Result<Self> {
        if value > MAX_VALUE {
            return Err(Error::Config(format!(
                "threshold {value:#x} exceeds the 56-bit maximum {MAX_VALUE:#x}"
            )));
        }
        Ok(Threshold(value))
    }

    /// The raw 56-bit value.
    pub fn raw(self) -> u64 {
        self.0
    }

    /// The threshold for sampling probability `p` at full precision.
    pub fn from_probability(probability: f64) -> Result<Self> {
        Self::from_probability_with_precision(probability, NUM_HEX_DIGITS)
    }

    /// The threshold for sampling probability `p`, rounded to `precision` significant hex
    /// digits, as the specification's reference algorithm does: precision is widened for
    /// probabilities near 0 or 1 so that small probabilities keep their relative accuracy
    /// (0.01 at precision 4 encodes as `fd70a`, not `fd71`).
    pub fn from_probability_with_precision(probability: f64, precision: u8) -> Result<Self> {
        if !(1..=NUM_HEX_DIGITS).contains(&precision) {
            return Err(Error::PrecisionOutOfRange(precision));
        }
        let min_probability = 1.0 / MAX_ADJUSTED_COUNT as f64;
        if !(min_probability..=1.0).contains(&probability) {
            return Err(Error::ProbabilityOutOfRange(probability));
        }
        // Integer division truncating toward zero, exactly as the Go reference does.
        let extra_for_small = frexp_exponent(probability) / -HEX_BITS;
        let extra_for_large = frexp_exponent(1.0 - probability) / -HEX_BITS;
        let precision = i32::from(precision);
        let digits = (precision + extra_for_small)
            .max(precision + extra_for_large)
            .min(i32::from(NUM_HEX_DIGITS));
        let scaled = (probability * MAX_ADJUSTED_COUNT as f64).round() as u64;
        let mut threshold = MAX_ADJUSTED_COUNT.saturating_sub(scaled);
        let shift = HEX_BITS * (i32::from(NUM_HEX_DIGITS) - digits);
        if shift > 0 {
            let half = 1u64 << (shift - 1);
            threshold = ((threshold + half) >> shift) << shift;
        }
        // Rounding up can only reach 2^56 for probabilities that the widened precision
        // already represents exactly, but clamp so the result is always encodable.
        Ok(Threshold(threshold.min(MAX_VALUE)))
    }

    /// The sampling probability this threshold represents, `(2^56 - T) / 2^56`.
    pub fn probability(self) -> f64 {
        (MAX_ADJUSTED_COUNT - self.0) as f64 / MAX_ADJUSTED_COUNT as f64
    }

    /// The adjusted count (representativity) of an item kept at this threshold, `1 / p`.
    pub fn adjusted_count(self) -> f64 {
        MAX_ADJUSTED_COUNT as f64 / (MAX_ADJUSTED_COUNT - self.0) as f64
    }

    /// Whether an item with this randomness is kept.
    pub fn should_sample(self, randomness: Randomness) -> bool {
        randomness.0 >= self.0
    }

    /// Parses the value of a `th` sub-key: 1 to 14 lowercase hex digits, trailing zeros
    /// omitted.
    pub fn parse_th(value: &str) -> Result<Self> {
        if value.is_empty() || value.len() > usize::from(NUM_HEX_DIGITS) {
            return Err(Error::ThresholdSize(value.to_owned()));
        }
        let digits =
            parse_lower_hex(value).ok_or_else(|| Error::ThresholdSyntax(value.to_owned()))?;
        let missing = usize::from(NUM_HEX_DIGITS) - value.len();
        Ok(Threshold(digits << (4 * missing)))
    }

    /// Encodes as a `th` value: 14 hex digits with trailing zeros removed (`0` for
    /// [`Threshold::ALWAYS_SAMPLE`]).
    pub fn to_th(self) -> String {
        let mut out = String::with_capacity(usize::from(NUM_HEX_DIGITS));
        self.write_th(&mut out);
        out
    }

    /// Appends the `th` encoding to `out` (one allocation at most, on the hot path of
    /// every kept span).
    pub(crate) fn write_th(self, out: &mut String) {
        if self.0 == 0 {
            out.push('0');
            return;
        }
        let trailing_zero_digits = self.0.trailing_zeros() / 4;
        for position in (trailing_zero_digits..u32::from(NUM_HEX_DIGITS)).rev() {
            let digit = ((self.0 >> (4 * position)) & 0xf) as u8;
            out.push(char::from(if digit < 10 {
                b'0' + digit
            } else {
                b'a' + digit - 10
            }));
        }
    }
}

/// A 56-bit randomness value, from `rv` or from the low 56 bits of the trace ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Randomness(u64);

impl Randomness {
    /// Builds randomness from its raw value; bits above 56 are discarded.
    pub fn from_raw(value: u64) -> Self {
        Randomness(value & MAX_VALUE)
    }

    /// The raw 56-bit value.
    pub fn raw(self) -> u64 {
        self.0
    }

    /// The low 56 bits (the last 7 bytes) of a 16-byte trace ID, which W3C Trace Context
    /// level 2 requires to be random.
    pub fn from_trace_id(trace_id: [u8; 16]) -> Self {
        let [_, _, _, _, _, _, _, _, _, a, b, c, d, e, f, g] = trace_id;
        Randomness(u64::from_be_bytes([0, a, b, c, d, e, f, g]))
    }

    /// Like [`Randomness::from_trace_id`] for a trace ID given as bytes (the wire form);
    /// `None` unless it is exactly 16 bytes.
    pub fn from_trace_id_bytes(trace_id: &[u8]) -> Option<Self> {
        <[u8; 16]>::try_from(trace_id).ok().map(Self::from_trace_id)
    }

    /// Parses an `rv` value: exactly 14 lowercase hex digits.
    pub fn parse_rv(value: &str) -> Result<Self> {
        if value.len() != usize::from(NUM_HEX_DIGITS) {
            return Err(Error::RandomnessSize(value.to_owned()));
        }
        parse_lower_hex(value)
            .map(Randomness)
            .ok_or_else(|| Error::RandomnessSyntax(value.to_owned()))
    }

    /// Encodes as an `rv` value (always 14 hex digits).
    pub fn to_rv(self) -> String {
        format!("{:014x}", self.0)
    }
}

/// Keep decisions for a column of items, one bit each: bit `i % 64` of word `i / 64` is set when item `i` is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepBitmap {
    words: Vec<u64>,
    len: usize,
    kept: usize,
}

impl KeepBitmap {
    /// An empty bitmap, to be filled by [`decide_trace_ids_into`].
    pub fn new() -> Self {
        KeepBitmap::default()
    }

    /// How many items were decided.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no item was decided.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many items are kept.
    pub fn kept(&self) -> usize {
        self.kept
    }

    /// Whether item `index` is kept (`false` past the last item).
    pub fn is_kept(&self, index: usize) -> bool {
        index < self.len
            && self
                .words
                .get(index / 64)
                .is_some_and(|word| word >> (index % 64) & 1 == 1)
    }

    /// The bitmap's words; bits past the last item are clear.
    pub fn words(&self) -> &[u64] {
        &self.words
    }
}

/// Decides a column of trace ids against one threshold: id `i` is kept exactly when
/// `threshold.should_sample(Randomness::from_trace_id(trace_ids[i]))`, the one-id rule, computed for the whole column
/// at once by `otlp_simd::threshold` (vector code where the CPU has it).
pub fn decide_trace_ids(trace_ids: &[[u8; 16]], threshold: Threshold) -> KeepBitmap {
    let mut bitmap = KeepBitmap::new();
    decide_trace_ids_into(trace_ids, threshold, &mut bitmap);
    bitmap
}

/// [`decide_trace_ids`] into a bitmap whose memory is reused.
pub fn decide_trace_ids_into(
    trace_ids: &[[u8; 16]],
    threshold: Threshold,
    bitmap: &mut KeepBitmap,
) {
    bitmap.kept = otlp_simd::threshold::sample_into(trace_ids, threshold.raw(), &mut bitmap.words);
    bitmap.len = trace_ids.len();
}

/// The parsed `ot` tracestate entry: `th`, `rv` and any other sub-keys, kept in order so
/// they survive a rewrite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtelTraceState {
    /// The rejection threshold of the sampler that kept this span, if any.
    pub threshold: Option<Threshold>,
    /// Explicit randomness, if any.
    pub randomness: Option<Randomness>,
    /// Other sub-keys, in their original order.
    pub extra: Vec<(String, String)>,
}

impl OtelTraceState {
    /// Parses the value of the `ot` entry (without the `ot=` prefix).
    pub fn parse(value: &str) -> Result<Self> {
        if value.len() > MAX_OT_VALUE_LEN {
            return Err(Error::OtValueTooLong(value.len()));
        }
        let mut state = OtelTraceState::default();
        if value.is_empty() {
            return Ok(state);
        }
        for part in value.split(';') {
            let (key, sub_value) = part
                .split_once(':')
                .ok_or_else(|| Error::OtValueSyntax(part.to_owned()))?;
            if !is_valid_ot_key(key) || !is_valid_ot_value(sub_value) {
                return Err(Error::OtValueSyntax(part.to_owned()));
            }
            match key {
                "th" => state.threshold = Some(Threshold::parse_th(sub_value)?),
                "rv" => state.randomness = Some(Randomness::parse_rv(sub_value)?),
                _ => state.extra.push((key.to_owned(), sub_value.to_owned())),
            }
        }
        Ok(state)
    }

    /// Serialises back to an `ot` value: `th` first, then `rv`, then the other sub-keys.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(40);
        self.write_encoded(&mut out);
        out
    }

    /// True when there is nothing to encode (no `th`, no `rv`, no other sub-key).
    fn is_empty(&self) -> bool {
        self.threshold.is_none() && self.randomness.is_none() && self.extra.is_empty()
    }

    /// Appends [`OtelTraceState::encode`]'s value to `out`.
    fn write_encoded(&self, out: &mut String) {
        let start = out.len();
        let separate = |out: &mut String| {
            if out.len() > start {
                out.push(';');
            }
        };
        if let Some(threshold) = self.threshold {
            out.push_str("th:");
            threshold.write_th(out);
        }
        if let Some(randomness) = self.randomness {
            separate(out);
            // Writing to a String cannot fail.
            let _ = write!(out, "rv:{:014x}", randomness.0);
        }
        for (key, value) in &self.extra {
            separate(out);
            out.push_str(key);
            out.push(':');
            out.push_str(value);
        }
    }

    /// The randomness to use: explicit `rv` if present, otherwise the trace ID's low 56 bits.
    pub fn randomness_or(&self, trace_id: [u8; 16]) -> Randomness {
        self.randomness
            .unwrap_or_else(|| Randomness::from_trace_id(trace_id))
    }
}

/// Reads the `ot` entry from a W3C `tracestate` header string (the form spans carry on
/// the wire). Returns an empty state when there is no `ot` entry.
pub fn ot_from_w3c(tracestate: &str) -> Result<OtelTraceState> {
    match w3c_entries(tracestate).find(|(key, _)| *key == "ot") {
        Some((_, value)) => OtelTraceState::parse(value),
        None => Ok(OtelTraceState::default()),
    }
}

/// Replaces (or inserts) the `ot` entry in a W3C `tracestate` header string, moving it to
/// the front as W3C requires for a modified entry; other entries keep their order. An
/// empty `ot` value removes the entry.
pub fn set_ot_in_w3c(tracestate: &str, ot: &OtelTraceState) -> String {
    let mut out = String::with_capacity(tracestate.len() + 44);
    write_ot_in_w3c(tracestate, ot, &mut out);
    out
}

/// Appends [`set_ot_in_w3c`]'s result to `out`, which may hold other text before it (one buffer for many spans'
/// trace states).
pub fn write_ot_in_w3c(tracestate: &str, ot: &OtelTraceState, out: &mut String) {
    let start = out.len();
    if !ot.is_empty() {
        out.push_str("ot=");
        ot.write_encoded(out);
    }
    for (key, value) in w3c_entries(tracestate).filter(|(key, _)| *key != "ot") {
        if out.len() > start {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
}

fn w3c_entries(tracestate: &str) -> impl Iterator<Item = (&str, &str)> {
    tracestate
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| entry.split_once('='))
}

fn parse_lower_hex(value: &str) -> Option<u64> {
    value.bytes().try_fold(0u64, |acc, byte| {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            _ => return None,
        };
        Some((acc << 4) | u64::from(digit))
    })
}

fn is_valid_ot_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn is_valid_ot_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The binary exponent `e` with `x = m * 2^e`, `m` in `[0.5, 1)`, as C's `frexp`
/// (0 for zero, which only arises for probability 1).
fn frexp_exponent(x: f64) -> i32 {
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: normalise first. Not reachable for probabilities >= 2^-56, but exact anyway.
        return frexp_exponent(x * (1u64 << 54) as f64) - 54;
    }
    biased - 1022
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_definition() {
        assert_eq!(frexp_exponent(1.0), 1);
        assert_eq!(frexp_exponent(0.5), 0);
        assert_eq!(frexp_exponent(0.01), -6);
        assert_eq!(frexp_exponent(0.001), -9);
        assert_eq!(frexp_exponent(1.0 / MAX_ADJUSTED_COUNT as f64), -55);
    }

    #[test]
    fn set_ot_keeps_other_vendors_and_moves_ot_first() {
        let ot = OtelTraceState {
            threshold: Some(Threshold::parse_th("8").unwrap()),
            ..Default::default()
        };
        let out = set_ot_in_w3c("congo=t61rcWkgMzE, ot=th:c;x:y ,rojo=00f067aa0ba902b7", &ot);
        assert_eq!(out, "ot=th:8,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    }
}
