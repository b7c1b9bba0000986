//! One line of a file: an OTLP/JSON export request (what the `file` exporter writes with `format: json`, and
//! otelcol's too), of whichever signal its top-level key names.

use crate::receiver::otlp::http::json_problem;
use crate::{Batch, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_model::{OtlpRequest, Rejected};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// What a line held, for one signal.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) batch: Batch,
    /// The items left out as invalid (a span without its ids), as the OTLP receivers leave them out.
    pub(crate) rejected: Option<Rejected>,
}

/// The signals whose top-level key a line has; the values are skipped, not built.
#[derive(Deserialize)]
struct TopLevel {
    #[serde(rename = "resourceSpans")]
    spans: Option<IgnoredAny>,
    #[serde(rename = "resourceMetrics")]
    metrics: Option<IgnoredAny>,
    #[serde(rename = "resourceLogs")]
    logs: Option<IgnoredAny>,
}

/// The requests of `line` for the signals `wanted` accepts, one per signal the line has (a line of otelcol's
/// file exporter has one). A line of no signal (`{}`, a profile) decodes to none.
pub(crate) fn decode(line: &str, wanted: impl Fn(Signal) -> bool) -> Result<Vec<Decoded>, String> {
    let top: TopLevel =
        serde_json::from_str(line).map_err(|e| format!("not an OTLP/JSON export request: {e}"))?;
    let mut decoded = Vec::new();
    if top.spans.is_some() && wanted(Signal::Traces) {
        decoded.push(request::<ExportTraceServiceRequest>(line)?);
    }
    if top.metrics.is_some() && wanted(Signal::Metrics) {
        decoded.push(request::<ExportMetricsServiceRequest>(line)?);
    }
    if top.logs.is_some() && wanted(Signal::Logs) {
        decoded.push(request::<ExportLogsServiceRequest>(line)?);
    }
    Ok(decoded)
}

fn request<R: OtlpRequest + for<'de> Deserialize<'de>>(line: &str) -> Result<Decoded, String> {
    let mut request: R =
        serde_json::from_str(line).map_err(|_| json_problem::<R>(line.as_bytes()))?;
    let rejected = request.remove_invalid();
    Ok(Decoded {
        batch: Batch::new(request),
        rejected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /cart","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"}]}]}]}"#;

    #[test]
    fn a_line_is_decoded_as_the_signal_its_key_names() {
        let decoded = decode(SPAN, |_| true).unwrap();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].batch.signal(), Signal::Traces);
        assert_eq!(decoded[0].batch.item_count(), 1);
        assert!(decoded[0].rejected.is_none());
        let metrics = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"up","gauge":{"dataPoints":[{"asInt":"1"}]}}]}]}]}"#;
        assert_eq!(
            decode(metrics, |_| true).unwrap()[0].batch.signal(),
            Signal::Metrics
        );
        let logs =
            r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hi"}}]}]}]}"#;
        assert_eq!(
            decode(logs, |_| true).unwrap()[0].batch.signal(),
            Signal::Logs
        );
    }

    #[test]
    fn a_signal_without_a_pipeline_and_a_line_of_none_are_skipped() {
        assert!(decode(SPAN, |s| s != Signal::Traces).unwrap().is_empty());
        assert!(decode("{}", |_| true).unwrap().is_empty());
        assert!(
            decode(r#"{"resourceProfiles":[]}"#, |_| true)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_bad_line_says_what_is_wrong_and_where() {
        let truncated = &SPAN[..SPAN.len() / 2];
        let error = decode(truncated, |_| true).unwrap_err();
        assert!(
            error.starts_with("not an OTLP/JSON export request"),
            "{error}"
        );
        let bad_id = SPAN.replace("eee19b7ec3c1b174", "xyz");
        let error = decode(&bad_id, |_| true).unwrap_err();
        assert!(
            error.contains("ExportTraceServiceRequest") && error.contains("spanId"),
            "{error}"
        );
    }

    #[test]
    fn invalid_items_are_left_out_and_counted() {
        let without_trace_id = SPAN.replace(r#""traceId":"5b8efff798038103d269b633813fc60c","#, "");
        let decoded = decode(&without_trace_id, |_| true).unwrap();
        assert_eq!(decoded[0].batch.item_count(), 0);
        assert_eq!(decoded[0].rejected.as_ref().map(|r| r.items), Some(1));
    }
}
