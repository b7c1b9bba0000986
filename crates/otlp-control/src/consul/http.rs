//! A small HTTP/1 client for the Consul API on hyper-util, with no TLS crates (a workspace-wide
//! rustls feature of reqwest once made every `reqwest::Client::new()` panic). Consul agents are
//! normally reached on localhost or through a local sidecar.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::{Error, Result};

/// A response: status, the `X-Consul-Index` header, and the body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) index: Option<u64>,
    pub(crate) body: Bytes,
}

#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    token: Option<String>,
}

impl Http {
    pub(crate) fn new(base: &str, token: Option<String>) -> Result<Self> {
        if !base.starts_with("http://") {
            return Err(Error::Config(format!(
                "consul address {base:?} must be an http:// URL (no TLS client is built in)"
            )));
        }
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: Vec<u8>) -> Result<Answer> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("X-Consul-Token", token);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| Error::Consul(format!("bad request {path}: {error}")))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| Error::Consul(format!("{path}: {error}")))?;
        let status = response.status();
        let index = response
            .headers()
            .get("X-Consul-Index")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| Error::Consul(format!("{path}: reading the body: {error}")))?
            .to_bytes();
        Ok(Answer {
            status,
            index,
            body,
        })
    }

    /// A call that must succeed (2xx).
    pub(crate) async fn ok(&self, method: Method, path: &str, body: Vec<u8>) -> Result<Answer> {
        let answer = self.call(method, path, body).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(Error::Consul(format!(
                "{path}: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body).trim()
            )))
        }
    }
}
