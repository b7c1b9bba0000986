//! A test PKI written as PEM files, for TLS and mutual-TLS tests against real servers and clients.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! otlp_testkit::pki::write_pki(dir.path())?;
//! assert!(dir.path().join("server.pem").exists());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! One CA signs a server certificate for `localhost` and `127.0.0.1` (so clients may dial either) and a
//! client certificate; a second CA signs the `stranger` client certificate, which a server trusting only the
//! first must refuse. Keys are fresh ECDSA P-256 keys on every call.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The files [`write_pki`] writes, by name.
pub const FILES: [&str; 7] = [
    "ca.pem",
    "server.pem",
    "server-key.pem",
    "client.pem",
    "client-key.pem",
    "stranger.pem",
    "stranger-key.pem",
];

fn failed(error: rcgen::Error) -> std::io::Error {
    std::io::Error::other(format!("generating the test PKI: {error}"))
}

fn authority(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate()?)
}

/// A client certificate and its key, as PEM, signed by `issuer`.
fn client(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
) -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let certificate = params.signed_by(&key, issuer)?;
    Ok((certificate.pem(), key.serialize_pem()))
}

fn generate() -> Result<[(&'static str, String); 7], rcgen::Error> {
    let ca = authority("otlp-testkit CA")?;
    let server_key = KeyPair::generate()?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server_params.signed_by(&server_key, &ca)?;
    let (client_pem, client_key) = client(&ca, "otlp-testkit client")?;
    let (stranger_pem, stranger_key) = client(&authority("stranger CA")?, "stranger")?;
    let [
        ca_name,
        server_name,
        server_key_name,
        client_name,
        client_key_name,
        stranger_name,
        stranger_key_name,
    ] = FILES;
    Ok([
        (ca_name, ca.pem()),
        (server_name, server.pem()),
        (server_key_name, server_key.serialize_pem()),
        (client_name, client_pem),
        (client_key_name, client_key),
        (stranger_name, stranger_pem),
        (stranger_key_name, stranger_key),
    ])
}

/// Writes [`FILES`] into `dir`: `ca.pem`; `server.pem` and `server-key.pem` (for `localhost` and
/// `127.0.0.1`); `client.pem` and `client-key.pem` (signed by the same CA); `stranger.pem` and
/// `stranger-key.pem` (signed by another CA).
///
/// # Errors
///
/// An I/O error when a file cannot be written (or, never in practice, when key generation fails).
pub fn write_pki(dir: &Path) -> std::io::Result<()> {
    for (name, pem) in generate().map_err(failed)? {
        std::fs::write(dir.join(name), pem)?;
    }
    Ok(())
}
