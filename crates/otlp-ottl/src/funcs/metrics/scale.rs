//! `scale_metric(factor, Optional[unit])`.

use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, NumberDataPoint, exemplar, number_data_point,
};

use super::convert::METRIC_ONLY;
use super::literal_number;
use crate::context::{Field, TransformContext};
use crate::error::{Error, Result};
use crate::funcs::{
    Args, Build, EditorFn, FunctionDef, ParamKind, expect_string, optional, required,
};
use crate::program::expr::Expr;

pub(super) const SCALE_METRIC: FunctionDef = FunctionDef {
    name: "scale_metric",
    // otelcol's argument struct fields `Multiplier` and `Unit`, which name its named
    // arguments; the README writes the first `factor`.
    params: &[
        required("multiplier", ParamKind::Getter),
        optional("unit", ParamKind::Getter),
    ],
    build: Build::Editor(build_scale),
    contexts: METRIC_ONLY,
    string_fn: None,
};

/// Multiplies every value of the metric's points by a literal factor and optionally sets the
/// unit, as when converting milliseconds to seconds.
struct Scale {
    factor: f64,
    unit: Option<Expr>,
}

fn build_scale(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(Scale {
        factor: literal_number(args, 0)?,
        unit: args.opt_getter(1),
    }))
}

impl EditorFn for Scale {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        // otelcol reads the unit before touching the points, so a bad unit changes nothing.
        let unit = match &self.unit {
            Some(expr) => {
                Some(expect_string(expr.eval(ctx)?, "scale_metric", "unit")?.into_owned())
            }
            None => None,
        };
        let factor = self.factor;
        let metric = ctx.metric_mut(Field::MetricDataPoints)?;
        match &mut metric.data {
            Some(Data::Gauge(gauge)) => scale_numbers(&mut gauge.data_points, factor),
            Some(Data::Sum(sum)) => scale_numbers(&mut sum.data_points, factor),
            Some(Data::Histogram(histogram)) => {
                for point in &mut histogram.data_points {
                    // Optional fields stay unset when they were.
                    for value in [&mut point.sum, &mut point.min, &mut point.max]
                        .into_iter()
                        .flatten()
                    {
                        *value *= factor;
                    }
                    for bound in &mut point.explicit_bounds {
                        *bound *= factor;
                    }
                    point
                        .exemplars
                        .iter_mut()
                        .for_each(|e| scale_exemplar(e, factor));
                }
            }
            Some(Data::Summary(summary)) => {
                for point in &mut summary.data_points {
                    point.sum *= factor;
                    for quantile in &mut point.quantile_values {
                        quantile.value *= factor;
                    }
                }
            }
            Some(Data::ExponentialHistogram(_)) => {
                return Err(Error::eval(
                    "scale_metric: exponential histograms are not supported by the 'scale_metric' function",
                ));
            }
            None => {
                return Err(Error::eval(
                    "scale_metric: unsupported metric type: 'Empty'",
                ));
            }
        }
        if let Some(unit) = unit {
            metric.unit = unit;
        }
        Ok(())
    }
}

/// Gauge and sum points: integers stay integers, truncated toward zero as Go's
/// `int64(float64(v) * factor)` does. otelcol leaves the exemplars of these points unscaled.
fn scale_numbers(points: &mut [NumberDataPoint], factor: f64) {
    for point in points {
        match &mut point.value {
            Some(number_data_point::Value::AsInt(i)) => *i = (*i as f64 * factor) as i64,
            Some(number_data_point::Value::AsDouble(d)) => *d *= factor,
            None => {}
        }
    }
}

fn scale_exemplar(exemplar: &mut Exemplar, factor: f64) {
    match &mut exemplar.value {
        Some(exemplar::Value::AsInt(i)) => *i = (*i as f64 * factor) as i64,
        Some(exemplar::Value::AsDouble(d)) => *d *= factor,
        None => {}
    }
}
