//! The `splunk_hec` exporter's settings, with otelcol-contrib's keys and defaults.

use crate::ClientTlsSettings;
use crate::de;
use crate::exporter::{CircuitBreakerConfig, HelperSettings, QueueConfig, RetryConfig};
use crate::receiver::splunk_hec::HecMetadataAttributes;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The most bytes of events in one request, otelcol's default for each signal.
const TWO_MIB: usize = 2 * 1024 * 1024;

/// The `splunk_hec` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplunkHecExporterConfig {
    /// The HEC URL events are posted to, path included: `https://splunk:8088/services/collector`.
    pub endpoint: String,
    /// The HEC token (`Authorization: Splunk <token>`); a resource's `com.splunk.hec.access_token` (the
    /// receiver's `access_token_passthrough`) is used for its events instead.
    pub token: String,
    /// Each event's `source`, unless its attributes name one.
    pub source: String,
    /// Each event's `sourcetype`, unless its attributes name one.
    pub sourcetype: String,
    /// Each event's `index`, unless its attributes name one.
    pub index: String,
    /// Send bodies as they are rather than gzip'd.
    pub disable_compression: bool,
    /// The most bytes of log events in one request, before compression (0: no limit).
    pub max_content_length_logs: usize,
    /// The most bytes of metric events in one request, before compression (0: no limit).
    pub max_content_length_metrics: usize,
    /// The most bytes of span events in one request, before compression (0: no limit).
    pub max_content_length_traces: usize,
    /// A larger event is not sent (HEC refuses it) and is counted as refused.
    pub max_event_size: usize,
    /// Log records' bodies alone, one per line, for HEC's raw endpoint (`/services/collector/raw`).
    pub export_raw: bool,
    /// Points of the same time, resource and attributes as one event with a field per metric.
    pub use_multi_metric_format: bool,
    /// Send logs at all.
    pub log_data_enabled: bool,
    /// Which attributes become each event's `source`, `sourcetype`, `index` and `host`.
    pub otel_attrs_to_hec_metadata: HecMetadataAttributes,
    /// otelcol's former name of `otel_attrs_to_hec_metadata`, used where that is left at its defaults.
    pub hec_metadata_to_otel_attrs: HecMetadataAttributes,
    /// The fields a log record's severity goes to.
    pub otel_to_hec_fields: SeverityFields,
    /// Sent as `__splunk_app_name`, for Splunk's usage reports.
    pub splunk_app_name: String,
    /// Sent as `__splunk_app_version`.
    pub splunk_app_version: String,
    /// TLS for an `https://` endpoint.
    pub tls: ClientTlsSettings,
    /// Extra HTTP headers on every request.
    pub headers: BTreeMap<String, String>,
    /// Time allowed for one request.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// The sending queue.
    pub sending_queue: QueueConfig,
    /// Retries: a batch sent in several requests is taken up from the first request not written.
    pub retry_on_failure: RetryConfig,
    /// Stop calling a failing server for a while (not in otelcol).
    pub circuit_breaker: CircuitBreakerConfig,
}

/// `otel_to_hec_fields`: the fields a log record's severity is written to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityFields {
    /// The severity text's field (`otel.log.severity.text`).
    pub severity_text: String,
    /// The severity number's field (`otel.log.severity.number`).
    pub severity_number: String,
}

impl Default for SeverityFields {
    fn default() -> Self {
        SeverityFields {
            severity_text: "otel.log.severity.text".to_owned(),
            severity_number: "otel.log.severity.number".to_owned(),
        }
    }
}

impl Default for SplunkHecExporterConfig {
    fn default() -> Self {
        SplunkHecExporterConfig {
            endpoint: String::new(),
            token: String::new(),
            source: String::new(),
            sourcetype: String::new(),
            index: String::new(),
            disable_compression: false,
            max_content_length_logs: TWO_MIB,
            max_content_length_metrics: TWO_MIB,
            max_content_length_traces: TWO_MIB,
            max_event_size: 5 * 1024 * 1024,
            export_raw: false,
            use_multi_metric_format: false,
            log_data_enabled: true,
            otel_attrs_to_hec_metadata: HecMetadataAttributes::default(),
            hec_metadata_to_otel_attrs: HecMetadataAttributes::default(),
            otel_to_hec_fields: SeverityFields::default(),
            splunk_app_name: "OpenTelemetry Collector Contrib".to_owned(),
            splunk_app_version: String::new(),
            tls: ClientTlsSettings::default(),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(15),
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
        }
    }
}

impl SplunkHecExporterConfig {
    /// Each problem of the settings, with the key it is about.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.endpoint.is_empty() {
            problems.push((
                "endpoint",
                "is required: the HEC URL, such as https://splunk:8088/services/collector"
                    .to_owned(),
            ));
        } else if let Err(e) = crate::exporter::otlphttp::client::http_url(&self.endpoint) {
            problems.push(("endpoint", e));
        }
        if self.token.is_empty() {
            problems.push((
                "token",
                "is required: the HEC token events are sent with".to_owned(),
            ));
        }
        if self.max_event_size == 0 {
            problems.push(("max_event_size", "must be at least 1".to_owned()));
        }
        problems.extend(self.helper().problems());
        problems
    }

    /// The attributes that become HEC metadata: `otel_attrs_to_hec_metadata`, each key left at its default taken
    /// from the former `hec_metadata_to_otel_attrs`, as otelcol reads the two.
    pub(super) fn metadata_attributes(&self) -> HecMetadataAttributes {
        let default = HecMetadataAttributes::default();
        let (new, old) = (
            &self.otel_attrs_to_hec_metadata,
            &self.hec_metadata_to_otel_attrs,
        );
        let pick = |new: &String, old: &String, default: &String| {
            if new == default {
                old.clone()
            } else {
                new.clone()
            }
        };
        HecMetadataAttributes {
            source: pick(&new.source, &old.source, &default.source),
            sourcetype: pick(&new.sourcetype, &old.sourcetype, &default.sourcetype),
            index: pick(&new.index, &old.index, &default.index),
            host: pick(&new.host, &old.host, &default.host),
        }
    }

    pub(super) fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }
}
