//! The `timestamp` block of parsers and the `time_parser` operator: a field read as the record's time, with a
//! strptime layout (the ctime directives OTTL's `Time` reads) or as seconds, milliseconds, ... since the epoch.

use super::{Operate, text_at};
use crate::receiver::stanza::entry::{Entry, Field};
use otlp_ottl::TimeLayout;
use serde::Deserialize;

/// `timestamp` / `time_parser` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampConfig {
    parse_from: Field,
    #[serde(default)]
    layout_type: LayoutType,
    layout: Option<String>,
    location: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LayoutType {
    #[default]
    Strptime,
    Epoch,
    Gotime,
}

/// How many nanoseconds one unit of an epoch layout is, and whether a fraction may follow.
fn epoch_unit(layout: &str) -> Option<(i128, bool)> {
    Some(match layout {
        "s" => (1_000_000_000, false),
        "ms" => (1_000_000, false),
        "us" => (1_000, false),
        "ns" => (1, false),
        "s.ms" | "s.us" | "s.ns" => (1_000_000_000, true),
        _ => return None,
    })
}

/// `text` as a count of units since the epoch, in nanoseconds, exactly (a double would lose the nanoseconds).
fn epoch(text: &str, nanos_per_unit: i128, fraction: bool) -> Result<i128, String> {
    let not_a_number = || format!("`{text}` is not a number of units since the epoch");
    let (whole, part) = match text.split_once('.') {
        Some(_) if !fraction => return Err(format!("`{text}` is not a whole number")),
        Some((whole, part)) => (whole, part),
        None => (text, ""),
    };
    let whole: i128 = whole.parse().map_err(|_| not_a_number())?;
    let mut nanos = whole.checked_mul(nanos_per_unit).ok_or_else(not_a_number)?;
    if !part.is_empty() {
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_number());
        }
        let digits = &part[..part.len().min(9)];
        let scale = 10i128.pow(9 - digits.len() as u32);
        let fraction: i128 = digits.parse().map_err(|_| not_a_number())?;
        let sign = if text.starts_with('-') { -1 } else { 1 };
        nanos += sign * fraction * scale;
    }
    Ok(nanos)
}

enum Reader {
    Layout(TimeLayout),
    Epoch {
        nanos_per_unit: i128,
        fraction: bool,
    },
}

/// A compiled timestamp reader.
pub(super) struct Timestamp {
    parse_from: Field,
    reader: Reader,
}

impl TimestampConfig {
    pub(super) fn build(&self) -> Result<Timestamp, String> {
        let layout = self
            .layout
            .as_deref()
            .ok_or_else(|| "`layout` is required".to_owned())?;
        let reader = match self.layout_type {
            LayoutType::Strptime => {
                Reader::Layout(TimeLayout::new(layout, self.location.as_deref())?)
            }
            LayoutType::Epoch => {
                let (nanos_per_unit, fraction) = epoch_unit(layout).ok_or_else(|| {
                    format!("epoch layout `{layout}` is not one of s, ms, us, ns, s.ms, s.us, s.ns")
                })?;
                Reader::Epoch {
                    nanos_per_unit,
                    fraction,
                }
            }
            LayoutType::Gotime => {
                return Err(
                    "layout_type gotime is not available here; write the layout with strptime directives \
                     (`%Y-%m-%d %H:%M:%S`), the default layout_type"
                        .to_owned(),
                );
            }
        };
        Ok(Timestamp {
            parse_from: self.parse_from.clone(),
            reader,
        })
    }
}

impl Operate for Timestamp {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        let text = text_at(entry, &self.parse_from)?;
        let nanos = match &self.reader {
            Reader::Layout(layout) => layout.parse(&text)?,
            Reader::Epoch {
                nanos_per_unit,
                fraction,
            } => epoch(&text, *nanos_per_unit, *fraction)?,
        };
        entry.timestamp = Some(nanos);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str, body: &str) -> Result<Option<i128>, String> {
        let config: TimestampConfig = serde_norway::from_str(yaml).unwrap();
        let mut entry = Entry::new(body.into());
        config.build()?.operate(&mut entry)?;
        Ok(entry.timestamp)
    }

    #[test]
    fn layouts_and_epochs() {
        assert_eq!(
            read(
                "{parse_from: body, layout: '%d/%b/%Y:%H:%M:%S %z'}",
                "06/Dec/2026:10:00:00 +0100"
            ),
            Ok(Some(1_796_547_600_000_000_000))
        );
        assert_eq!(
            read(
                "{parse_from: body, layout_type: epoch, layout: ms}",
                "1796547600123"
            ),
            Ok(Some(1_796_547_600_123_000_000))
        );
        assert_eq!(
            read(
                "{parse_from: body, layout_type: epoch, layout: s.ms}",
                "1796547600.5"
            ),
            Ok(Some(1_796_547_600_500_000_000))
        );
        assert!(read("{parse_from: body, layout_type: epoch, layout: s}", "1.5").is_err());
        assert!(read("{parse_from: body, layout: '%Y'}", "soon").is_err());
        assert!(
            read(
                "{parse_from: body, layout_type: gotime, layout: '2006'}",
                "2026"
            )
            .unwrap_err()
            .contains("gotime is not available here")
        );
    }
}
