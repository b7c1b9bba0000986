//! The OTLP messages' fields, as the protobuf definitions declare them: enough to check an encoding the way
//! prost's generated decoders do (wire type per field, UTF-8 of strings, nesting).

/// How a field is encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `int32`, `int64`, `uint32`, `uint64`, `sint32`, `bool`, enums.
    Varint,
    /// `fixed64`, `sfixed64`, `double`.
    Fixed64,
    /// `fixed32`.
    Fixed32,
    /// `string` (UTF-8 checked).
    Str,
    /// `bytes`.
    Bytes,
    /// An embedded message.
    Msg(&'static Schema),
    /// A `KeyValue` (every attribute): most of a request's bytes, so it has a scanner of its own.
    KeyValue,
    /// An `AnyValue`, scanned by the same hand-written code as `KeyValue`.
    AnyValue,
    /// `repeated fixed64` / `repeated double`: packed or not.
    PackedFixed64,
    /// `repeated uint64`: packed or not.
    PackedVarint,
}

/// The highest field number any OTLP message declares.
const MAX_FIELD: usize = 16;

/// A message's declared fields; any other field number is unknown and skipped.
#[derive(Debug)]
pub(crate) struct Schema {
    /// Each declared field's kind at its number: the scanner looks a kind up for every field it reads, so the
    /// lookup is an index, not a search.
    by_number: [Option<Kind>; MAX_FIELD + 1],
}

impl Schema {
    /// The schema declaring `fields` (number, kind); every number is at most [`MAX_FIELD`], which the compiler
    /// checks, as these are evaluated at compile time.
    const fn new(fields: &[(u32, Kind)]) -> Schema {
        let mut by_number = [None; MAX_FIELD + 1];
        let mut i = 0;
        while i < fields.len() {
            let (number, kind) = fields[i];
            by_number[number as usize] = Some(kind);
            i += 1;
        }
        Schema { by_number }
    }

    #[inline]
    pub(crate) fn kind(&self, field: u32) -> Option<Kind> {
        self.by_number.get(field as usize).copied().flatten()
    }
}

use Kind::*;

pub(crate) static ARRAY_VALUE: Schema = Schema::new(&[(1, AnyValue)]);
pub(crate) static KEY_VALUE_LIST: Schema = Schema::new(&[(1, KeyValue)]);
pub(crate) static ENTITY_REF: Schema = Schema::new(&[(1, Str), (2, Str), (3, Str), (4, Str)]);
pub(crate) static RESOURCE: Schema =
    Schema::new(&[(1, KeyValue), (2, Varint), (3, Msg(&ENTITY_REF))]);
pub(crate) static SCOPE: Schema = Schema::new(&[(1, Str), (2, Str), (3, KeyValue), (4, Varint)]);

pub(crate) static LINK: Schema = Schema::new(&[
    (1, Bytes),
    (2, Bytes),
    (3, Str),
    (4, KeyValue),
    (5, Varint),
    (6, Fixed32),
]);
pub(crate) static STATUS: Schema = Schema::new(&[(2, Str), (3, Varint)]);

pub(crate) static LOG_RECORD: Schema = Schema::new(&[
    (1, Fixed64),
    (11, Fixed64),
    (2, Varint),
    (3, Str),
    (5, AnyValue),
    (6, KeyValue),
    (7, Varint),
    (8, Fixed32),
    (9, Bytes),
    (10, Bytes),
    (12, Str),
]);

pub(crate) static METRIC: Schema = Schema::new(&[
    (1, Str),
    (2, Str),
    (3, Str),
    (5, Msg(&GAUGE)),
    (7, Msg(&SUM)),
    (9, Msg(&HISTOGRAM)),
    (10, Msg(&EXPONENTIAL_HISTOGRAM)),
    (11, Msg(&SUMMARY)),
    (12, KeyValue),
]);
pub(crate) static GAUGE: Schema = Schema::new(&[(1, Msg(&NUMBER_DATA_POINT))]);
pub(crate) static SUM: Schema =
    Schema::new(&[(1, Msg(&NUMBER_DATA_POINT)), (2, Varint), (3, Varint)]);
pub(crate) static HISTOGRAM: Schema = Schema::new(&[(1, Msg(&HISTOGRAM_DATA_POINT)), (2, Varint)]);
pub(crate) static EXPONENTIAL_HISTOGRAM: Schema =
    Schema::new(&[(1, Msg(&EXPONENTIAL_HISTOGRAM_DATA_POINT)), (2, Varint)]);
pub(crate) static SUMMARY: Schema = Schema::new(&[(1, Msg(&SUMMARY_DATA_POINT))]);
pub(crate) static NUMBER_DATA_POINT: Schema = Schema::new(&[
    (7, KeyValue),
    (2, Fixed64),
    (3, Fixed64),
    (4, Fixed64),
    (6, Fixed64),
    (5, Msg(&EXEMPLAR)),
    (8, Varint),
]);
pub(crate) static HISTOGRAM_DATA_POINT: Schema = Schema::new(&[
    (9, KeyValue),
    (2, Fixed64),
    (3, Fixed64),
    (4, Fixed64),
    (5, Fixed64),
    (6, PackedFixed64),
    (7, PackedFixed64),
    (8, Msg(&EXEMPLAR)),
    (10, Varint),
    (11, Fixed64),
    (12, Fixed64),
]);
pub(crate) static EXPONENTIAL_HISTOGRAM_DATA_POINT: Schema = Schema::new(&[
    (1, KeyValue),
    (2, Fixed64),
    (3, Fixed64),
    (4, Fixed64),
    (5, Fixed64),
    (6, Varint),
    (7, Fixed64),
    (8, Msg(&BUCKETS)),
    (9, Msg(&BUCKETS)),
    (10, Varint),
    (11, Msg(&EXEMPLAR)),
    (12, Fixed64),
    (13, Fixed64),
    (14, Fixed64),
]);
pub(crate) static BUCKETS: Schema = Schema::new(&[(1, Varint), (2, PackedVarint)]);
pub(crate) static SUMMARY_DATA_POINT: Schema = Schema::new(&[
    (7, KeyValue),
    (2, Fixed64),
    (3, Fixed64),
    (4, Fixed64),
    (5, Fixed64),
    (6, Msg(&VALUE_AT_QUANTILE)),
    (8, Varint),
]);
pub(crate) static VALUE_AT_QUANTILE: Schema = Schema::new(&[(1, Fixed64), (2, Fixed64)]);
pub(crate) static EXEMPLAR: Schema = Schema::new(&[
    (7, KeyValue),
    (2, Fixed64),
    (3, Fixed64),
    (6, Fixed64),
    (4, Bytes),
    (5, Bytes),
]);
