//! The certificates servers presented, kept by the name the client asked for: a client whose HTTP stack hands
//! over no peer certificate (hyper's) can still say when a server's certificate expires (`httpcheck`'s
//! `httpcheck.tls.cert_remaining`). A certificate is kept once the verifier the settings ask for accepted it, so
//! it is the one the connection went on with; a pooled connection keeps its certificate, so the last one seen
//! for a name stays the one in use.

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The last end-entity certificate accepted from each server name.
#[derive(Debug, Default)]
pub(crate) struct SeenCertificates(Mutex<HashMap<String, CertificateDer<'static>>>);

impl SeenCertificates {
    /// The last certificate accepted from `server_name` (a DNS name, or an IP address without brackets).
    pub(crate) fn of(&self, server_name: &str) -> Option<CertificateDer<'static>> {
        self.lock().get(server_name).cloned()
    }

    fn keep(&self, server_name: &ServerName<'_>, certificate: &CertificateDer<'_>) {
        self.lock().insert(
            server_name.to_str().into_owned(),
            certificate.clone().into_owned(),
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CertificateDer<'static>>> {
        // A panic while the map was held left it whole: every write is one insert.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `inner`'s verdicts, keeping each certificate it accepts in `seen`.
#[derive(Debug)]
pub(crate) struct Seeing {
    pub(crate) inner: Arc<dyn ServerCertVerifier>,
    pub(crate) seen: Arc<SeenCertificates>,
}

impl ServerCertVerifier for Seeing {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        self.seen.keep(server_name, end_entity);
        Ok(verdict)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}
