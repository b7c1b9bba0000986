//! Parsing and string-building converters: `ExtractPatterns`, `ParseKeyValue`,
//! `ToKeyValueString`, `ParseCSV`, `ParseInt`, `Decode`, `Base64Encode`, `Base64Decode`, `Format`, `Hex`,
//! `ParseSeverity`, `ExtractGrokPatterns`.
//!
//! Each family lives in its own file; this module only registers them.

mod csv;
mod encoding;
mod format;
mod grok;
mod hex;
mod int;
mod key_value;
mod patterns;
mod severity;

use std::borrow::Cow;

use super::{FunctionDef, ParamKind, TARGET, optional, required, unary, unary_def};
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    unary_def(
        "ExtractPatterns",
        &[
            required("target", ParamKind::Getter),
            required("pattern", ParamKind::Str),
        ],
        patterns::build_extract_patterns,
    ),
    unary_def(
        "ExtractGrokPatterns",
        &[
            required("target", ParamKind::Getter),
            required("pattern", ParamKind::Getter),
            optional("named_captures_only", ParamKind::Bool),
            optional("pattern_definitions", ParamKind::StrList),
        ],
        grok::build_extract_grok_patterns,
    ),
    unary_def(
        "ParseSeverity",
        &[
            required("target", ParamKind::Getter),
            required("mapping", ParamKind::Getter),
        ],
        severity::build_parse_severity,
    ),
    unary_def(
        "ParseKeyValue",
        &[
            required("target", ParamKind::Getter),
            optional("delimiter", ParamKind::Str),
            optional("pair_delimiter", ParamKind::Str),
        ],
        key_value::build_parse_key_value,
    ),
    unary_def(
        "ToKeyValueString",
        &[
            required("target", ParamKind::Getter),
            optional("delimiter", ParamKind::Str),
            optional("pair_delimiter", ParamKind::Str),
            optional("sort_output", ParamKind::Bool),
        ],
        key_value::build_to_key_value_string,
    ),
    unary_def(
        "ParseCSV",
        &[
            required("target", ParamKind::Getter),
            required("header", ParamKind::Getter),
            optional("delimiter", ParamKind::Str),
            optional("header_delimiter", ParamKind::Str),
            optional("mode", ParamKind::Str),
        ],
        csv::build_parse_csv,
    ),
    unary_def(
        "ParseInt",
        &[
            required("target", ParamKind::Getter),
            required("base", ParamKind::Getter),
        ],
        int::build_parse_int,
    ),
    unary_def("Hex", TARGET, |a| unary(a, hex::hex_of)),
    unary_def(
        "Format",
        &[
            required("format", ParamKind::Str),
            required("vals", ParamKind::GetterList),
        ],
        format::build_format,
    ),
    unary_def(
        "Base64Encode",
        &[
            required("target", ParamKind::Getter),
            optional("variant", ParamKind::Getter),
        ],
        encoding::build_base64_encode,
    ),
    unary_def("Base64Decode", TARGET, |a| {
        unary(a, encoding::base64_decode)
    }),
    unary_def(
        "Decode",
        &[
            required("target", ParamKind::Getter),
            required("encoding", ParamKind::Getter),
        ],
        encoding::build_decode,
    ),
];

/// A map value owning `entries`, as the map-building converters return.
fn owned_map(entries: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>) -> Value<'static> {
    Value::Map(Cow::Owned(entries))
}
