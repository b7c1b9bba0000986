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
    EtcdFleet::connect_with(endpoints, Some(options), prefix)
        .await
        .map_err(|error| explain(error.into(), endpoints, tls))
}

/// Turns a failure to reach etcd at all (a refused or closed connection, a failed TLS handshake) into
/// [`FleetError::Unreachable`] with a hint at the usual cause: transport errors say only "broken pipe" or
/// "connection closed", which does not tell an operator that etcd wanted TLS or a client certificate.
/// Anything else (etcd's own answers, such as a wrong password) is returned as it is.
pub fn explain(error: FleetError, endpoints: &[String], tls: Option<&EtcdTlsConfig>) -> FleetError {
    let FleetError::Control(otlp_control::Error::Etcd(etcd)) = &error else {
        return error;
    };
    let transport = match etcd {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(status) => std::error::Error::source(status).is_some(),
        _ => false,
    };
    if !transport {
        return error;
    }
    if refused(etcd) {
        // A TLS hint would send the operator the wrong way, and the transport's own message is a
        // page of nested debug output.
        return FleetError::Refused {
            endpoints: endpoints.join(","),
            source: Box::new(error),
        };
    }
    let plaintext = endpoints.iter().any(|e| !e.starts_with("https://"));
    let hint = match tls {
        _ if plaintext => {
            "if etcd serves TLS, use https:// endpoints with its CA (tls.ca_file, or --cacert)"
        }
        None => "give etcd's CA (tls.ca_file, or --cacert) for https:// endpoints",
        Some(tls) if tls.cert_file.is_none() => {
            "if etcd demands client certificates (--client-cert-auth), give one signed by its trusted CA \
             (tls.cert_file and tls.key_file, or --cert and --key)"
        }
        Some(_) => {
            "check that etcd trusts the client certificate's CA (its --trusted-ca-file) and that the CA \
             file signs etcd's certificate for the endpoint's host"
        }
    };
    FleetError::Unreachable {
        endpoints: endpoints.join(","),
        hint,
        source: Box::new(error),
    }
}

/// Whether the connection was refused: nothing listens at the address.
fn refused(error: &etcd_client::Error) -> bool {
    // etcd-client's error does not expose its cause as a `source`.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = match error {
        etcd_client::Error::TransportError(transport) => Some(transport),
        etcd_client::Error::IoError(io) => Some(io),
        etcd_client::Error::GRpcStatus(status) => Some(status),
        _ => None,
    };
    while let Some(current) = cause {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        cause = current.source();
    }
    false
}
