//! collectd's `write_http` JSON records as points, named and labelled as otelcol's receiver (from SignalFx's
//! gateway) does it: `type[.type_instance][.dsname]` (the data source's name only when a value list has several),
//! `plugin`, `plugin_instance`, `host` and, for a single data source, `dsname` as attributes, and dimensions
//! written into a field as `name[key=value,...]` taken out of it as attributes.

use crate::receiver::number_points::{Attributes, Number, Point};
use serde::Deserialize;

/// One entry of the posted array: a value list, or a notification (which carries no values and is skipped).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Record {
    dsnames: Option<Vec<Option<String>>>,
    dstypes: Option<Vec<Option<String>>>,
    host: Option<String>,
    plugin: Option<String>,
    plugin_instance: Option<String>,
    /// Unix seconds, fractional.
    time: Option<f64>,
    #[serde(rename = "type")]
    kind: Option<String>,
    type_instance: Option<String>,
    values: Option<Vec<Option<serde_json::Number>>>,
    message: Option<String>,
    severity: Option<String>,
}

impl Record {
    /// A notification (`time`, `severity` and `message`), which otelcol does not turn into metrics.
    pub(super) fn is_event(&self) -> bool {
        self.time.is_some() && self.severity.is_some() && self.message.is_some()
    }

    /// The record's points: one per data source with a value, after `defaults` (the request's attributes).
    pub(super) fn points(&self, defaults: &[(String, String)]) -> Vec<Point> {
        let mut points = Vec::new();
        if self.is_event() {
            return points;
        }
        let (Some(dsnames), Some(dstypes), Some(values)) =
            (&self.dsnames, &self.dstypes, &self.values)
        else {
            return points;
        };
        let mut attributes = Attributes(defaults.to_vec());
        for (index, dsname) in dsnames.iter().enumerate() {
            let (Some(dstype), Some(Some(value))) = (dstypes.get(index), values.get(index)) else {
                continue;
            };
            let (name, named_by_source) =
                self.metric_name(dsname.as_deref(), dsnames.len(), &mut attributes);
            put_present(&mut attributes, "plugin", self.plugin.as_deref());
            for (key, field) in [
                ("plugin_instance", &self.plugin_instance),
                ("host", &self.host),
            ] {
                let (rest, dimensions) = dimensions(field.as_deref().unwrap_or(""));
                for (k, v) in dimensions {
                    put_absent_present(&mut attributes, &k, &v);
                }
                put_present(&mut attributes, key, Some(rest.as_str()));
            }
            if !named_by_source {
                put_present(&mut attributes, "dsname", dsname.as_deref());
            }
            let value = match value.as_i64() {
                Some(int) => Number::Int(int),
                None => Number::Double(value.as_f64().unwrap_or(f64::NAN)),
            };
            points.push(Point {
                name,
                attributes: attributes.0.clone(),
                cumulative: matches!(dstype.as_deref(), Some("counter" | "derive")),
                value,
                time_unix_nano: self.time_unix_nano(),
            });
        }
        points
    }

    /// `type[.type_instance][.dsname]`, the dimensions of `type_instance` added to `attributes` where absent,
    /// and whether the data source's name is in it.
    fn metric_name(
        &self,
        dsname: Option<&str>,
        sources: usize,
        attributes: &mut Attributes,
    ) -> (String, bool) {
        let mut name = self.kind.clone().unwrap_or_default();
        let mut append = |part: &str| {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(part);
        };
        if let Some(instance) = self.type_instance.as_deref().filter(|i| !i.is_empty()) {
            let (rest, dimensions) = dimensions(instance);
            if !rest.is_empty() {
                append(&rest);
            }
            for (k, v) in dimensions {
                put_absent_present(attributes, &k, &v);
            }
        }
        match dsname.filter(|d| !d.is_empty()) {
            Some(dsname) if sources > 1 => {
                append(dsname);
                (name, true)
            }
            _ => (name, false),
        }
    }

    /// The record's time as otelcol computes it (seconds times 1e9, as a float); 0 without one.
    fn time_unix_nano(&self) -> u64 {
        self.time.map_or(0, |seconds| (seconds * 1e9) as u64)
    }
}

fn put_present(attributes: &mut Attributes, key: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        attributes.put(key, value);
    }
}

fn put_absent_present(attributes: &mut Attributes, key: &str, value: &str) {
    if !key.is_empty() && !value.is_empty() {
        attributes.put_absent(key, value);
    }
}

/// `name[k=v,f=x]-more` as `name-more` and its dimensions; a field without well-formed brackets (a piece
/// without exactly one `=`) is left whole, without dimensions.
fn dimensions(field: &str) -> (String, Vec<(String, String)>) {
    let whole = || (field.to_owned(), Vec::new());
    let Some((left, rest)) = field.split_once('[') else {
        return whole();
    };
    let Some((inside, right)) = rest.split_once(']') else {
        return whole();
    };
    let mut pairs = Vec::new();
    for piece in inside.split(',') {
        match piece.split_once('=') {
            Some((key, value)) if !value.contains('=') => {
                pairs.push((key.to_owned(), value.to_owned()));
            }
            _ => return whole(),
        }
    }
    (format!("{left}{right}"), pairs)
}

#[cfg(test)]
mod tests;
