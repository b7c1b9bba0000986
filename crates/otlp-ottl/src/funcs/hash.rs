//! `SHA256(value)`: the lowercase hex SHA-256 digest of a string.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::{FunctionDef, VALUE, expect_string, unary, unary_def};
use crate::error::Result;
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[FunctionDef {
    string_fn: Some(sha256_hex),
    ..unary_def("SHA256", VALUE, |a| unary(a, sha256))
}];

/// The lowercase hex SHA-256 of `text`'s bytes.
pub(crate) fn sha256_hex(text: &str) -> Result<String> {
    Ok(hex::encode(Sha256::digest(text.as_bytes())))
}

fn sha256(value: Value<'_>) -> Result<Value<'_>> {
    let text = expect_string(value, "SHA256", "value")?;
    Ok(Value::Str(Cow::Owned(sha256_hex(&text)?)))
}
