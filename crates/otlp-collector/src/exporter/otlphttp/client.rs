//! The `otlphttp` exporter's HTTP client: hyper over rustls, `http://` and `https://` alike, HTTP/2 where the
//! server offers it by ALPN. Its TLS config names ring as the crypto provider itself, so no process-wide default
//! has to be installed first (reqwest's rustls features assume one, and would make every other reqwest client in
//! the process depend on it).

use super::config::HttpConnections;
use crate::ClientTlsSettings;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Configured `headers` (a `headers:` map of otelcol's HTTP clients) as a header map; an invalid name or value is
/// an error saying which.
pub(crate) fn header_map(
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<http::HeaderMap, String> {
    let mut map = http::HeaderMap::new();
    for (key, value) in headers {
        let name = http::HeaderName::try_from(key.as_str())
            .map_err(|e| format!("headers: `{key}`: {e}"))?;
        let value = http::HeaderValue::try_from(value.as_str())
            .map_err(|e| format!("headers: the value of `{key}`: {e}"))?;
        map.insert(name, value);
    }
    Ok(map)
}

/// `url` as a URI, if it is an absolute `http` or `https` URL with a host (a scraping receiver's endpoint).
pub(crate) fn http_url(url: &str) -> Result<http::Uri, String> {
    let form = "<scheme>://<hostname>[:<port>], with scheme http or https";
    match url.parse::<http::Uri>() {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
            Ok(uri)
        }
        Ok(_) => Err(format!("`{url}` must be in the form {form}")),
        Err(e) => Err(format!(
            "`{url}` is not a URL ({e}); it must be in the form {form}"
        )),
    }
}

/// What came back.
pub(crate) struct Answer {
    pub(crate) status: http::StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

/// A pooled HTTP(S) client with the exporter's TLS settings and timeout.
pub(crate) struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client with `tls`'s settings ([`ClientTlsSettings::rustls_config`]).
    pub(crate) fn new(
        tls: &ClientTlsSettings,
        connections: &HttpConnections,
        timeout: Duration,
    ) -> Result<Self, String> {
        Self::with_config(tls.rustls_config()?, tls, connections, timeout)
    }

    /// A client with the rustls `config` made of `tls` (one that keeps the certificates it sees, say).
    pub(crate) fn with_config(
        config: rustls::ClientConfig,
        tls: &ClientTlsSettings,
        connections: &HttpConnections,
        timeout: Duration,
    ) -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http();
        let connector = match &tls.server_name_override {
            Some(name) => {
                let name = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| format!("tls.server_name_override `{name}`: {e}"))?;
                connector
                    .with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
            }
            None => connector,
        };
        let connector = connector.enable_http1().enable_http2().build();
        let mut builder = Client::builder(TokioExecutor::new());
        if let Some(idle) = connections.idle_timeout {
            builder.pool_idle_timeout(idle);
        }
        if let Some(max) = connections.max_idle_per_host {
            builder.pool_max_idle_per_host(max);
        }
        if let Some(interval) = connections.http2_ping_interval {
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .http2_keep_alive_interval(interval)
                .http2_keep_alive_while_idle(true);
            if let Some(timeout) = connections.http2_ping_timeout {
                builder.http2_keep_alive_timeout(timeout);
            }
        }
        Ok(HttpClient {
            inner: builder.build(connector),
            timeout,
        })
    }

    /// POSTs `body` to `url` with `headers`, within the timeout.
    pub(crate) async fn post(
        &self,
        url: &http::Uri,
        headers: &http::HeaderMap,
        body: Bytes,
    ) -> Result<Answer, String> {
        let mut request = http::Request::post(url.clone())
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        request.headers_mut().extend(headers.clone());
        self.exchange(request).await
    }

    /// GETs `url` with `headers` (the `prometheus` receiver's scrapes), within the timeout.
    pub(crate) async fn get(
        &self,
        url: &http::Uri,
        headers: &http::HeaderMap,
    ) -> Result<Answer, String> {
        self.send(http::Method::GET, url, headers).await
    }

    /// Sends a `method` request without a body to `url` with `headers` (the `httpcheck` receiver's checks),
    /// within the timeout.
    pub(crate) async fn send(
        &self,
        method: http::Method,
        url: &http::Uri,
        headers: &http::HeaderMap,
    ) -> Result<Answer, String> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(url.clone())
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        request.headers_mut().extend(headers.clone());
        self.exchange(request).await
    }

    async fn exchange(&self, request: http::Request<Full<Bytes>>) -> Result<Answer, String> {
        let exchange = async {
            let response = self.inner.request(request).await.map_err(|e| {
                // The connector's errors say which step failed (DNS, connect, TLS) and why; hyper's own only
                // "client error".
                crate::error::with_causes(e.to_string(), std::error::Error::source(&e))
            })?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))?
    }
}
