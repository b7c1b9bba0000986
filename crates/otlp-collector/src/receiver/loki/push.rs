//! Loki push requests as they arrive: protobuf `logproto.PushRequest` (snappy-compressed over HTTP, as Promtail,
//! Grafana Alloy and Loki's Docker driver send it; plain over gRPC) and the push API's JSON
//! (`{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>", {metadata}]]}]}`), both read into [`Stream`]s.

use super::labels;

/// A stream's entries, under its labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Stream {
    /// Sorted by name, as Loki keeps a stream's labels.
    pub(super) labels: Vec<(String, String)>,
    pub(super) entries: Vec<Entry>,
}

/// One log line.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Entry {
    /// Nanoseconds since the Unix epoch.
    pub(super) time_unix_nano: u64,
    pub(super) line: String,
    /// Loki 3's structured metadata: labels of the line alone.
    pub(super) metadata: Vec<(String, String)>,
}

/// Why a push request cannot be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BadPush {
    /// A protobuf body that is not snappy's block format.
    #[error("protobuf body is {0}")]
    Snappy(String),
    /// Not a `logproto.PushRequest`.
    #[error("body is not a protobuf logproto.PushRequest: {0}")]
    Proto(String),
    /// Not the push API's JSON.
    #[error(
        "body is not Loki's push JSON ({{\"streams\": [{{\"stream\": {{labels}}, \"values\": [[\"<ns>\", \"<line>\"]]}}]}}): {0}"
    )]
    Json(String),
    /// A stream whose labels cannot be read.
    #[error("stream {stream}: labels `{labels}`: {problem}")]
    Labels {
        /// The stream's place in the request, from 0.
        stream: usize,
        /// Its labels, as sent.
        labels: String,
        /// What is wrong with them.
        problem: String,
    },
    /// An entry whose time cannot be read.
    #[error("stream {stream}, entry {entry}: {problem}")]
    Entry {
        /// The stream's place in the request, from 0.
        stream: usize,
        /// The entry's place in its stream, from 0.
        entry: usize,
        /// What is wrong with it.
        problem: String,
    },
}

/// `logproto.PushRequest` and its parts, as Loki's `push.proto` numbers them.
pub(super) mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct PushRequest {
        #[prost(message, repeated, tag = "1")]
        pub(crate) streams: Vec<StreamAdapter>,
    }

    #[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
    pub(crate) struct PushResponse {}

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct StreamAdapter {
        #[prost(string, tag = "1")]
        pub(crate) labels: String,
        #[prost(message, repeated, tag = "2")]
        pub(crate) entries: Vec<EntryAdapter>,
        #[prost(uint64, tag = "3")]
        pub(crate) hash: u64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct EntryAdapter {
        #[prost(message, optional, tag = "1")]
        pub(crate) timestamp: Option<Timestamp>,
        #[prost(string, tag = "2")]
        pub(crate) line: String,
        #[prost(message, repeated, tag = "3")]
        pub(crate) structured_metadata: Vec<LabelPairAdapter>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct LabelPairAdapter {
        #[prost(string, tag = "1")]
        pub(crate) name: String,
        #[prost(string, tag = "2")]
        pub(crate) value: String,
    }

    /// `google.protobuf.Timestamp`.
    #[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
    pub(crate) struct Timestamp {
        #[prost(int64, tag = "1")]
        pub(crate) seconds: i64,
        #[prost(int32, tag = "2")]
        pub(crate) nanos: i32,
    }
}

/// The streams of a snappy-compressed protobuf body.
pub(super) fn from_snappy_proto(body: &[u8], limit: usize) -> Result<Vec<Stream>, BadPush> {
    let decompressed =
        crate::compression::decompress_snappy_block(body, limit).map_err(BadPush::Snappy)?;
    let request = <proto::PushRequest as prost::Message>::decode(decompressed.as_slice())
        .map_err(|e| BadPush::Proto(e.to_string()))?;
    from_proto(request)
}

/// The streams of a decoded `PushRequest`.
pub(super) fn from_proto(request: proto::PushRequest) -> Result<Vec<Stream>, BadPush> {
    request
        .streams
        .into_iter()
        .enumerate()
        .map(|(s, stream)| {
            let labels = labels::parse(&stream.labels).map_err(|problem| BadPush::Labels {
                stream: s,
                labels: stream.labels.clone(),
                problem,
            })?;
            let entries = stream
                .entries
                .into_iter()
                .enumerate()
                .map(|(e, entry)| {
                    let time = entry.timestamp.unwrap_or_default();
                    let nanos = i128::from(time.seconds) * 1_000_000_000 + i128::from(time.nanos);
                    let time_unix_nano = u64::try_from(nanos).map_err(|_| BadPush::Entry {
                        stream: s,
                        entry: e,
                        problem: format!(
                            "timestamp {}s {}ns is not a time after 1970 that fits in 64 bits",
                            time.seconds, time.nanos
                        ),
                    })?;
                    Ok(Entry {
                        time_unix_nano,
                        line: entry.line,
                        metadata: entry
                            .structured_metadata
                            .into_iter()
                            .map(|pair| (pair.name, pair.value))
                            .collect(),
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Stream { labels, entries })
        })
        .collect()
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonPush {
    streams: Vec<JsonStream>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonStream {
    #[serde(default)]
    stream: std::collections::BTreeMap<String, String>,
    values: Vec<JsonEntry>,
}

/// `["<ns>", "<line>"]` or `["<ns>", "<line>", {metadata}]`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonEntry {
    Line(String, String),
    WithMetadata(String, String, std::collections::BTreeMap<String, String>),
}

/// The streams of a JSON body.
pub(super) fn from_json(body: &[u8]) -> Result<Vec<Stream>, BadPush> {
    let push: JsonPush = serde_json::from_slice(body).map_err(|e| BadPush::Json(e.to_string()))?;
    push.streams
        .into_iter()
        .enumerate()
        .map(|(s, stream)| {
            let entries = stream
                .values
                .into_iter()
                .enumerate()
                .map(|(e, entry)| {
                    let (time, line, metadata) = match entry {
                        JsonEntry::Line(time, line) => (time, line, Default::default()),
                        JsonEntry::WithMetadata(time, line, metadata) => (time, line, metadata),
                    };
                    let time_unix_nano = time.parse::<u64>().map_err(|_| BadPush::Entry {
                        stream: s,
                        entry: e,
                        problem: format!("time `{time}` is not nanoseconds since 1970"),
                    })?;
                    Ok(Entry {
                        time_unix_nano,
                        line,
                        metadata: metadata.into_iter().collect(),
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Stream {
                labels: stream.stream.into_iter().collect(),
                entries,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
