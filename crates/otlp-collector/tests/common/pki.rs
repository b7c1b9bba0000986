//! A test PKI written as PEM files: a CA, a server certificate for `localhost` and a client certificate it signs,
//! and a client certificate from another CA (`stranger`), which a server trusting only the first must refuse.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::Path;

fn authority() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// Writes `ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem`, `stranger.pem` and
/// `stranger-key.pem` into `dir`.
pub fn write_pki(dir: &Path) {
    let ca = authority();
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server_params.signed_by(&server_key, &ca).unwrap();

    let client = |issuer: &CertifiedIssuer<'static, KeyPair>| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let certificate = params.signed_by(&key, issuer).unwrap();
        (certificate.pem(), key.serialize_pem())
    };
    let (client_pem, client_key) = client(&ca);
    let (stranger_pem, stranger_key) = client(&authority());

    for (name, pem) in [
        ("ca.pem", ca.pem()),
        ("server.pem", server.pem()),
        ("server-key.pem", server_key.serialize_pem()),
        ("client.pem", client_pem),
        ("client-key.pem", client_key),
        ("stranger.pem", stranger_pem),
        ("stranger-key.pem", stranger_key),
    ] {
        std::fs::write(dir.join(name), pem).unwrap();
    }
}
