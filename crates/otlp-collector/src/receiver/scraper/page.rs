//! A status page a scraper reads over HTTP(S) (nginx's `stub_status`, Apache's `server-status`): the client, URL
//! and headers of the receiver's settings, and the page as text when the server answers 200.

use crate::ClientTlsSettings;
use crate::exporter::otlphttp::client::{HttpClient, header_map, http_url};
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) struct Page {
    client: HttpClient,
    pub(crate) url: http::Uri,
    headers: http::HeaderMap,
}

impl Page {
    /// The page at `endpoint`, asked for with `headers` and within `timeout`; an error says which setting is wrong.
    pub(crate) fn new(
        endpoint: &str,
        tls: &ClientTlsSettings,
        headers: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<Self, String> {
        Ok(Page {
            client: HttpClient::new(tls, &Default::default(), timeout)?,
            url: http_url(endpoint)?,
            headers: header_map(headers)?,
        })
    }

    /// The page, if the server answers 200 with UTF-8 text.
    pub(crate) async fn read(&self) -> Result<String, String> {
        let answer = self.client.get(&self.url, &self.headers).await?;
        if answer.status != http::StatusCode::OK {
            return Err(format!("expected a 200 answer, got {}", answer.status));
        }
        String::from_utf8(answer.body.to_vec()).map_err(|_| "the page is not UTF-8".to_owned())
    }
}
