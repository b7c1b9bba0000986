//! What a run achieved, as a sentence or as JSON.

use std::fmt;
use std::time::Duration;

/// What a load generator run achieved.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadgenReport {
    /// Spans in the requests the server accepted (partially rejected spans excluded).
    pub spans_sent: u64,
    /// Spans the server reported as rejected in a partial success.
    pub spans_rejected: u64,
    /// Requests answered with success.
    pub requests_ok: u64,
    /// Requests refused with a retryable answer (gRPC `UNAVAILABLE`/`RESOURCE_EXHAUSTED`,
    /// HTTP 429/503); they were not resent.
    pub requests_refused: u64,
    /// Requests that failed otherwise (transport errors, timeouts, other status codes).
    pub requests_failed: u64,
    /// Why the first of the failed requests failed (of one worker; they usually fail alike).
    pub first_failure: Option<String>,
    /// From the first request to the end of the duration asked for, or to the last answer if that came later.
    pub elapsed: Duration,
    /// Median latency of the answered requests.
    pub latency_p50: Duration,
    /// 99th percentile latency of the answered requests.
    pub latency_p99: Duration,
    /// Highest latency of the answered requests.
    pub latency_max: Duration,
}

impl LoadgenReport {
    /// The report as one JSON object, durations in seconds.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "spans_sent": self.spans_sent,
            "spans_rejected": self.spans_rejected,
            "requests_ok": self.requests_ok,
            "requests_refused": self.requests_refused,
            "requests_failed": self.requests_failed,
            "first_failure": self.first_failure,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "spans_per_second": self.spans_per_second(),
            "latency_p50_seconds": self.latency_p50.as_secs_f64(),
            "latency_p99_seconds": self.latency_p99.as_secs_f64(),
            "latency_max_seconds": self.latency_max.as_secs_f64(),
        })
    }

    /// Accepted spans per second over the whole run.
    pub fn spans_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.spans_sent as f64 / seconds
        } else {
            0.0
        }
    }
}

/// Formats a latency with a unit that keeps three significant digits readable.
fn human_duration(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.0}µs")
    } else if micros < 1_000_000.0 {
        format!("{:.2}ms", micros / 1e3)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

impl fmt::Display for LoadgenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sent {} spans in {:.1}s: {:.0} spans/s, requests ok={}, refused={}, failed={}",
            self.spans_sent,
            self.elapsed.as_secs_f64(),
            self.spans_per_second(),
            self.requests_ok,
            self.requests_refused,
            self.requests_failed,
        )?;
        if self.spans_rejected > 0 {
            write!(f, ", spans rejected={}", self.spans_rejected)?;
        }
        write!(
            f,
            ", latency p50={} p99={} max={}",
            human_duration(self.latency_p50),
            human_duration(self.latency_p99),
            human_duration(self.latency_max),
        )?;
        if let Some(reason) = &self.first_failure {
            write!(f, "; first failure: {reason}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_summary_reads_naturally() {
        let report = LoadgenReport {
            spans_sent: 1_000_000,
            spans_rejected: 0,
            requests_ok: 10_000,
            requests_refused: 3,
            requests_failed: 1,
            first_failure: Some("Unimplemented: unknown service".into()),
            elapsed: Duration::from_secs(8),
            latency_p50: Duration::from_micros(850),
            latency_p99: Duration::from_micros(4_200),
            latency_max: Duration::from_millis(1_500),
        };
        assert_eq!(
            report.to_string(),
            "sent 1000000 spans in 8.0s: 125000 spans/s, requests ok=10000, refused=3, failed=1, \
             latency p50=850µs p99=4.20ms max=1.50s; first failure: Unimplemented: unknown service"
        );
    }
}
