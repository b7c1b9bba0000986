//! A CPU profile in pprof's format (`perftools.profiles.Profile` of google/pprof's `profile.proto`), gzipped as
//! Go's `net/http/pprof` serves it: what `go tool pprof`, Grafana Pyroscope and Parca read.
//!
//! Each sampled stack is a sample of two values, like a Go CPU profile's: how many times it was seen, and the CPU
//! time that stands for (count times the sampling period), labelled with its thread. A location is one function at
//! one line, leaf first in a sample, each inlined function a location of its own.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::SystemTime;

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub(super) sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub(super) sample: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub(super) location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub(super) function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    pub(super) string_table: Vec<String>,
    #[prost(int64, tag = "9")]
    pub(super) time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub(super) duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub(super) period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub(super) period: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(super) struct ValueType {
    #[prost(int64, tag = "1")]
    pub(super) r#type: i64,
    #[prost(int64, tag = "2")]
    pub(super) unit: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    pub(super) location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub(super) value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub(super) label: Vec<Label>,
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(super) struct Label {
    #[prost(int64, tag = "1")]
    pub(super) key: i64,
    #[prost(int64, tag = "2")]
    pub(super) str: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Location {
    #[prost(uint64, tag = "1")]
    pub(super) id: u64,
    #[prost(message, repeated, tag = "4")]
    pub(super) line: Vec<Line>,
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(super) struct Line {
    #[prost(uint64, tag = "1")]
    pub(super) function_id: u64,
    #[prost(int64, tag = "2")]
    pub(super) line: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(super) struct Function {
    #[prost(uint64, tag = "1")]
    pub(super) id: u64,
    #[prost(int64, tag = "2")]
    pub(super) name: i64,
    #[prost(int64, tag = "3")]
    pub(super) system_name: i64,
    #[prost(int64, tag = "4")]
    pub(super) filename: i64,
}

/// Interned strings: pprof refers to every string by its index in one table, whose first entry is "".
#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut strings = Strings::default();
        strings.of("");
        strings
    }

    fn of(&mut self, text: &str) -> i64 {
        if let Some(at) = self.index.get(text) {
            return *at;
        }
        let at = self.table.len() as i64;
        self.table.push(text.to_owned());
        self.index.insert(text.to_owned(), at);
        at
    }
}

/// The profile of `report`.
pub(super) fn profile(report: &::pprof::Report) -> Profile {
    let mut strings = Strings::new();
    let frequency = i64::from(report.timing.frequency.max(1));
    let period = 1_000_000_000 / frequency;
    let samples_count = ValueType {
        r#type: strings.of("samples"),
        unit: strings.of("count"),
    };
    let cpu = ValueType {
        r#type: strings.of("cpu"),
        unit: strings.of("nanoseconds"),
    };
    let thread = strings.of("thread");
    let mut functions: HashMap<(String, String), u64> = HashMap::new();
    let mut locations: HashMap<(u64, i64), u64> = HashMap::new();
    let mut profile = Profile {
        sample_type: vec![samples_count, cpu],
        period_type: Some(cpu),
        period,
        time_nanos: report
            .timing
            .start_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as i64,
        duration_nanos: report.timing.duration.as_nanos() as i64,
        ..Profile::default()
    };
    for (stack, count) in &report.data {
        let mut location_id = Vec::new();
        for symbol in stack.frames.iter().flatten() {
            let name = symbol.name();
            let filename = symbol
                .filename
                .as_ref()
                .map(|path| path.display().to_string())
                .unwrap_or_default();
            let line = i64::from(symbol.lineno.unwrap_or(0));
            let next_function = functions.len() as u64 + 1;
            let function_id = *functions
                .entry((name.clone(), filename.clone()))
                .or_insert_with(|| {
                    profile.function.push(Function {
                        id: next_function,
                        name: strings.of(&name),
                        system_name: strings.of(&String::from_utf8_lossy(symbol.raw_name())),
                        filename: strings.of(&filename),
                    });
                    next_function
                });
            let next_location = locations.len() as u64 + 1;
            let id = *locations.entry((function_id, line)).or_insert_with(|| {
                profile.location.push(Location {
                    id: next_location,
                    line: vec![Line { function_id, line }],
                });
                next_location
            });
            location_id.push(id);
        }
        let count = *count as i64;
        profile.sample.push(Sample {
            location_id,
            value: vec![count, count * period],
            label: vec![Label {
                key: thread,
                str: strings.of(&stack.thread_name_or_id()),
            }],
        });
    }
    profile.string_table = strings.table;
    profile
}

/// `profile` encoded and gzipped, as `/debug/pprof/profile` answers.
pub(super) fn gzipped(profile: &Profile) -> std::io::Result<Vec<u8>> {
    use prost::Message as _;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&profile.encode_to_vec())?;
    gzip.finish()
}
