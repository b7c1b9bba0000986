//! What otelcol's log receivers share (stanza, in otelcol): the entry and its fields, the `operators` list, and
//! handing entries to the pipelines. `filelog` reads entries from files; `syslog`, `tcplog` and `udplog` from the
//! network (`listen.rs`).

pub(crate) mod emit;
pub(crate) mod entry;
pub(crate) mod lines;
pub(crate) mod listen;
pub(crate) mod operator;
pub(crate) mod split;

pub(crate) use emit::Emitter;
