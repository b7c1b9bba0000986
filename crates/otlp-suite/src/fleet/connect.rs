//! Connecting to the fleet's etcd with the extension's endpoints, credentials and TLS settings.

use std::time::Duration;

use etcd_client::{Certificate, ConnectOptions, Identity, TlsOptions};
use otlp_control::etcd::EtcdFleet;

use super::{EtcdTlsConfig, FleetError};

fn read(path: &std::path::Path) -> Result<Vec<u8>, FleetError> {
    std::fs::read(path).map_err(|source| FleetError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

/// etcd-client's options for the given credentials and TLS settings.
///
/// # Errors
///
/// [`FleetError::ReadFile`] when a certificate or key file cannot be read.
pub fn connect_options(
    credentials: Option<(&str, &str)>,
    tls: Option<&EtcdTlsConfig>,
) -> Result<ConnectOptions, FleetError> {
    let mut options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
    if let Some((user, password)) = credentials {
        options = options.with_user(user, password);
    }
    if let Some(tls) = tls {
        let mut settings = TlsOptions::new();
        if let Some(ca) = &tls.ca_file {
            settings = settings.ca_certificate(Certificate::from_pem(read(ca)?));
        }
        if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
            settings = settings.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        if let Some(name) = &tls.server_name {
            settings = settings.domain_name(name.clone());
        }
        options = options.with_tls(settings);
    }
    Ok(options)
}

/// Connects to the fleet under `prefix`.
///
/// # Errors
///
/// [`FleetError::Control`] when no endpoint answers; [`FleetError::ReadFile`] for an unreadable TLS file.
pub async fn connect(
    endpoints: &[String],
    prefix: &str,
    credentials: Option<(&str, &str)>,
    tls: Option<&EtcdTlsConfig>,
) -> Result<EtcdFleet, FleetError> {
    let options = connect_options(credentials, tls)?;
    Ok(EtcdFleet::connect_with(endpoints, Some(options), prefix).await?)
}
