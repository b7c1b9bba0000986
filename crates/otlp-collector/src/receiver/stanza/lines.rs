//! Messages taken as they are, for the `tcplog` and `udplog` receivers: a stream cut by the splitter
//! (newlines or `multiline` patterns), each message a record with the receiver's `attributes` and `resource`,
//! through its operators.

use super::Emitter;
use super::entry::Entry;
use super::listen::{Framer, Net, Receive, net_attributes};
use super::operator::Operators;
use super::split::Splitter;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Instant;

/// Turns messages into records.
pub(crate) struct Lines {
    id: String,
    operators: Operators,
    emitter: Emitter,
    attributes: Map<String, Value>,
    resource: Map<String, Value>,
}

fn strings(map: &BTreeMap<String, String>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

impl Lines {
    pub(crate) fn new(
        id: String,
        operators: Operators,
        emitter: Emitter,
        attributes: &BTreeMap<String, String>,
        resource: &BTreeMap<String, String>,
    ) -> Self {
        Lines {
            id,
            operators,
            emitter,
            attributes: strings(attributes),
            resource: strings(resource),
        }
    }
}

impl Receive for Lines {
    fn id(&self) -> &str {
        &self.id
    }

    async fn receive(&self, messages: Vec<String>, net: Net) {
        let mut attributes = net_attributes(net);
        attributes.extend(self.attributes.clone());
        let mut entries = Vec::with_capacity(messages.len());
        for message in messages {
            let mut entry = Entry::new(message);
            entry.attributes = Value::Object(attributes.clone());
            entry.resource = Value::Object(self.resource.clone());
            entries.extend(self.operators.apply(entry, &self.id));
        }
        entries.extend(self.operators.flush(Instant::now(), &self.id));
        self.emitter.emit(entries).await;
    }
}

/// A stream cut by the splitter.
pub(crate) struct SplitFrames {
    splitter: Splitter,
    buffer: Vec<u8>,
}

impl SplitFrames {
    pub(crate) fn new(splitter: Splitter) -> Self {
        SplitFrames {
            splitter,
            buffer: Vec::new(),
        }
    }

    /// The messages of one datagram, which nothing will follow.
    pub(crate) fn whole(splitter: &Splitter, bytes: &[u8]) -> Vec<String> {
        texts(&splitter.split(bytes, true).entries)
    }
}

fn texts(entries: &[&[u8]]) -> Vec<String> {
    entries
        .iter()
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

impl Framer for SplitFrames {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        self.buffer.extend_from_slice(bytes);
        let split = self.splitter.split(&self.buffer, false);
        out.extend(texts(&split.entries));
        let used = split.used;
        self.buffer.drain(..used);
        Ok(())
    }

    fn finish(self, out: &mut Vec<String>) {
        out.extend(Self::whole(&self.splitter, &self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::filelog::{ByteSize, Multiline};

    #[test]
    fn a_stream_is_cut_as_a_file_would_be() {
        let multiline = Multiline {
            line_start_pattern: Some("^at ".into()),
            ..Multiline::default()
        };
        let splitter = Splitter::new(Some(&multiline), ByteSize(1024), false, false).unwrap();
        let mut frames = SplitFrames::new(splitter);
        let mut out = Vec::new();
        frames.push(b"at 1\n  more\nat ", &mut out).unwrap();
        frames.push(b"2\nat 3", &mut out).unwrap();
        assert_eq!(out, ["at 1\n  more", "at 2"]);
        frames.finish(&mut out);
        assert_eq!(out, ["at 1\n  more", "at 2", "at 3"]);
    }
}
