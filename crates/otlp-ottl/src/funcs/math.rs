//! `Log(target)`: the natural logarithm, as a `float64`.

use super::convert::parse_go_float;
use super::{FunctionDef, TARGET, unary, unary_def};
use crate::error::{Error, Result};
use crate::value::{Value, format_go_float};

pub(crate) const FUNCTIONS: &[FunctionDef] = &[unary_def("Log", TARGET, |a| unary(a, log))];

/// otelcol reads the target with its float-like getter (ints, doubles, numeric strings, and
/// booleans as 1 or 0), so `Log(false)` fails as the logarithm of zero does.
fn log(value: Value<'_>) -> Result<Value<'_>> {
    let x = match value {
        Value::Double(d) => d,
        Value::Int(i) => i as f64,
        Value::Bool(b) => f64::from(u8::from(b)),
        Value::Str(s) => parse_go_float(&s).ok_or_else(|| {
            Error::eval(format!(
                "Log: strconv.ParseFloat: parsing \"{s}\": invalid syntax"
            ))
        })?,
        Value::Nil => return Err(Error::eval("Log: invalid input: <nil>")),
        other => {
            return Err(Error::eval(format!(
                "Log: unsupported type: {}",
                other.type_name()
            )));
        }
    };
    // `NaN <= 0` is false in Go too, so NaN goes through to a NaN result.
    if x <= 0.0 {
        return Err(Error::eval(format!(
            "Log: invalid input: expected number greater than zero but got {}",
            format_go_float(x)
        )));
    }
    Ok(Value::Double(x.ln()))
}
