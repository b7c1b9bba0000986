//! What otelcol's log receivers share (stanza, in otelcol): the entry and its fields, the `operators` list, and
//! handing entries to the pipelines. `filelog` reads entries from files, `syslog` from the network.

mod emit;
pub(crate) mod entry;
pub(crate) mod operator;
pub(crate) mod split;

pub(crate) use emit::Emitter;
