//! The test PKI (otlp-testkit's): a CA, a server certificate for `localhost` and a client certificate it signs,
//! and a client certificate from another CA (`stranger`), which a server trusting only the first must refuse.

use std::path::Path;

/// Writes `ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem`, `stranger.pem` and
/// `stranger-key.pem` into `dir`.
pub fn write_pki(dir: &Path) {
    otlp_testkit::pki::write_pki(dir).expect("writing the test PKI");
}
