//! TLS settings (otelcol's `tls` blocks): clients' for exporters, servers' for receivers, and the listener that
//! turns accepted connections into TLS streams. Every TLS config names ring as its crypto provider explicitly, so
//! nothing depends on a process-wide default being installed.

mod client;
mod incoming;
mod seen;
mod server;
mod unverified;

pub use client::ClientTlsSettings;
pub(crate) use incoming::{TlsConnections, accept_tls};
pub(crate) use seen::SeenCertificates;
pub use server::{ServerTlsSettings, TlsVersion};
pub(crate) use unverified::AnyServerCertificate;
