//! HAProxy's statistics (`show stat` on its socket, `;csv` on its stats page) read into otelcol's haproxy
//! metrics: one row per frontend, backend, server and listener, each its own resource.
//!
//! ```text
//! # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,...
//! web,FRONTEND,,,0,1,9985,4,335,292,...
//! app,s1,0,0,0,1,,4,335,292,...
//! ```

use crate::receiver::scraper::metric::{Builder, FieldPoint, Kind, Spec};
use std::collections::BTreeMap;

/// The table HAProxy answers with: its header's field names, and each row's values by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stats {
    pub(super) rows: Vec<Row>,
}

/// One proxy or server: its non-empty fields by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Row(BTreeMap<String, String>);

impl Row {
    pub(super) fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// The row's proxy and service (`FRONTEND`, `BACKEND` or a server's name): what tells rows apart.
    pub(super) fn key(&self) -> (&str, &str) {
        (
            self.get("pxname").unwrap_or(""),
            self.get("svname").unwrap_or(""),
        )
    }
}

impl Stats {
    /// Reads the CSV; an error says what is not HAProxy's statistics (a page other than the stats page's CSV).
    pub(super) fn parse(text: &str) -> Result<Stats, String> {
        let mut lines = text.lines().filter(|line| !line.trim().is_empty());
        let header = lines
            .next()
            .ok_or("the answer is empty, where HAProxy's statistics should be")?;
        let header = header.strip_prefix("# ").ok_or_else(|| {
            format!(
                "`{}` is not the header of HAProxy's statistics (`# pxname,svname,...`)",
                clip(header)
            )
        })?;
        let names = fields(header);
        if names.first().map(String::as_str) != Some("pxname") {
            return Err(format!(
                "`{}` is not the header of HAProxy's statistics (`# pxname,svname,...`)",
                clip(header)
            ));
        }
        let rows = lines
            .map(|line| {
                Row(names
                    .iter()
                    .zip(fields(line))
                    .filter(|(_, value)| !value.is_empty())
                    .map(|(name, value)| (name.clone(), value))
                    .collect())
            })
            .collect();
        Ok(Stats { rows })
    }

    /// Whether this reading is of an HAProxy that restarted since `earlier`: a counter of a row both have went
    /// back.
    pub(super) fn restarted_since(&self, earlier: &Stats) -> bool {
        let before: BTreeMap<(&str, &str), &Row> =
            earlier.rows.iter().map(|row| (row.key(), row)).collect();
        self.rows.iter().any(|row| {
            before.get(&row.key()).is_some_and(|old| {
                ["stot", "bin", "bout", "lbtot", "req_tot"]
                    .iter()
                    .any(|field| count(row, field) < count(old, field))
            })
        })
    }
}

fn count(row: &Row, field: &str) -> i64 {
    row.get(field).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The fields of a CSV line: HAProxy quotes a field holding a comma or a quote, doubling the quotes inside.
fn fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            other => field.push(other),
        }
    }
    fields.push(field);
    fields
}

/// At most 60 characters of `text`, for an error message about an answer that may be anything.
fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Whole-number fields and the metric each becomes.
const INTS: &[FieldPoint] = &[
    ("bin", "haproxy.bytes.input", &[]),
    ("bout", "haproxy.bytes.output", &[]),
    ("econ", "haproxy.connections.errors", &[]),
    ("conn_rate", "haproxy.connections.rate", &[]),
    ("wretr", "haproxy.connections.retries", &[]),
    ("dreq", "haproxy.requests.denied", &[]),
    ("ereq", "haproxy.requests.errors", &[]),
    ("qcur", "haproxy.requests.queued", &[]),
    ("wredis", "haproxy.requests.redispatched", &[]),
    (
        "hrsp_1xx",
        "haproxy.requests.total",
        &[("status_code", "1xx")],
    ),
    (
        "hrsp_2xx",
        "haproxy.requests.total",
        &[("status_code", "2xx")],
    ),
    (
        "hrsp_3xx",
        "haproxy.requests.total",
        &[("status_code", "3xx")],
    ),
    (
        "hrsp_4xx",
        "haproxy.requests.total",
        &[("status_code", "4xx")],
    ),
    (
        "hrsp_5xx",
        "haproxy.requests.total",
        &[("status_code", "5xx")],
    ),
    (
        "hrsp_other",
        "haproxy.requests.total",
        &[("status_code", "other")],
    ),
    ("dresp", "haproxy.responses.denied", &[]),
    ("lbtot", "haproxy.server_selected.total", &[]),
    ("scur", "haproxy.sessions.count", &[]),
    ("act", "haproxy.active", &[]),
    ("bck", "haproxy.backup", &[]),
    ("cli_abrt", "haproxy.clients.canceled", &[]),
    ("comp_byp", "haproxy.compression.bypass", &[]),
    ("comp_rsp", "haproxy.compression.count", &[]),
    ("comp_in", "haproxy.compression.input", &[]),
    ("comp_out", "haproxy.compression.output", &[]),
    ("conn_tot", "haproxy.connections.total", &[]),
    ("downtime", "haproxy.downtime", &[]),
    ("chkfail", "haproxy.failed_checks", &[]),
    ("slim", "haproxy.sessions.limit", &[]),
    ("stot", "haproxy.sessions.total", &[]),
    ("weight", "haproxy.weight", &[]),
];

/// Decimal fields and the metric each becomes.
const DOUBLES: &[FieldPoint] = &[
    ("req_rate", "haproxy.requests.rate", &[]),
    ("ttime", "haproxy.sessions.average", &[]),
    ("rate", "haproxy.sessions.rate", &[]),
    ("ctime", "haproxy.connections.average_time", &[]),
    ("qtime", "haproxy.requests.average_time", &[]),
    ("rtime", "haproxy.responses.average_time", &[]),
];

/// Records `row`'s points; the fields that are not numbers are named in `unreadable`.
pub(super) fn record(row: &Row, out: &mut Builder<'_>, unreadable: &mut Vec<String>) {
    let fields: BTreeMap<&str, &str> = row
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    out.ints(&fields, INTS, unreadable);
    out.doubles(&fields, DOUBLES, unreadable);
    // Server aborts count as response errors, as otelcol counts them.
    if let (Some(eresp), Some(aborts)) = (row.get("eresp"), row.get("srv_abrt")) {
        match (eresp.parse::<i64>(), aborts.parse::<i64>()) {
            (Ok(eresp), Ok(aborts)) => out.int("haproxy.responses.errors", eresp + aborts, &[]),
            _ => unreadable.push(format!("eresp: {eresp}, srv_abrt: {aborts}")),
        }
    }
}

use Kind::{Counter, Gauge, UpDown};

/// otelcol's haproxy metrics (its generated `documentation.md`): the defaults first, then the optional ones, each
/// in its order.
pub(super) const SPECS: &[Spec] = &[
    Spec::on(
        "haproxy.bytes.input",
        "Bytes in. Corresponds to HAProxy's `bin` metric.",
        "By",
        Counter,
    ),
    Spec::on(
        "haproxy.bytes.output",
        "Bytes out. Corresponds to HAProxy's `bout` metric.",
        "By",
        Counter,
    ),
    Spec::on(
        "haproxy.connections.errors",
        "Number of requests that encountered an error trying to connect to a backend server. The backend stat is \
         the sum of the stat. Corresponds to HAProxy's `econ` metric",
        "{errors}",
        Counter,
    ),
    Spec::on(
        "haproxy.connections.rate",
        "Number of connections over the last elapsed second (frontend). Corresponds to HAProxy's `conn_rate` \
         metric.",
        "{connections}",
        Gauge,
    ),
    Spec::on(
        "haproxy.connections.retries",
        "Number of times a connection to a server was retried. Corresponds to HAProxy's `wretr` metric.",
        "{retries}",
        Counter,
    ),
    Spec::on(
        "haproxy.requests.denied",
        "Requests denied because of security concerns. Corresponds to HAProxy's `dreq` metric",
        "{requests}",
        Counter,
    ),
    Spec::on(
        "haproxy.requests.errors",
        "Cumulative number of request errors. Corresponds to HAProxy's `ereq` metric.",
        "{errors}",
        Counter,
    ),
    Spec::on(
        "haproxy.requests.queued",
        "Current queued requests. For the backend this reports the number queued without a server assigned. \
         Corresponds to HAProxy's `qcur` metric.",
        "{requests}",
        UpDown,
    ),
    Spec::on(
        "haproxy.requests.rate",
        "HTTP requests per second over last elapsed second. Corresponds to HAProxy's `req_rate` metric.",
        "{requests}",
        Gauge,
    ),
    Spec::on(
        "haproxy.requests.redispatched",
        "Number of times a request was redispatched to another server. Corresponds to HAProxy's `wredis` metric.",
        "{requests}",
        Counter,
    ),
    Spec::on(
        "haproxy.requests.total",
        "Total number of HTTP requests received. Corresponds to HAProxy's `req_tot`, `hrsp_1xx`, `hrsp_2xx`, \
         `hrsp_3xx`, `hrsp_4xx`, `hrsp_5xx` and `hrsp_other` metrics.",
        "{requests}",
        Counter,
    ),
    Spec::on(
        "haproxy.responses.denied",
        "Responses denied because of security concerns. Corresponds to HAProxy's `dresp` metric",
        "{responses}",
        Counter,
    ),
    Spec::on(
        "haproxy.responses.errors",
        "Cumulative number of response errors. Corresponds to HAProxy's `eresp` metric, `srv_abrt` will be \
         counted here also.",
        "{errors}",
        Counter,
    ),
    Spec::on(
        "haproxy.server_selected.total",
        "Number of times a server was selected, either for new sessions or when re-dispatching. Corresponds to \
         HAProxy's `lbtot` metric.",
        "{selections}",
        Counter,
    ),
    Spec::on(
        "haproxy.sessions.average",
        "Average total session time in ms over the last 1024 requests. Corresponds to HAProxy's `ttime` metric.",
        "ms",
        Gauge,
    ),
    Spec::on(
        "haproxy.sessions.count",
        "Current sessions. Corresponds to HAProxy's `scur` metric.",
        "{sessions}",
        Gauge,
    ),
    Spec::on(
        "haproxy.sessions.rate",
        "Number of sessions per second over last elapsed second. Corresponds to HAProxy's `rate` metric.",
        "{sessions}",
        Gauge,
    ),
    Spec::new(
        "haproxy.active",
        "Number of active servers (backend) or server is active (server). Corresponds to HAProxy's `act` metric.",
        "{servers}",
        Gauge,
        false,
    ),
    Spec::new(
        "haproxy.backup",
        "Number of backup servers (backend) or server is backup (server). Corresponds to HAProxy's `bck` metric.",
        "{servers}",
        Gauge,
        false,
    ),
    Spec::new(
        "haproxy.clients.canceled",
        "Number of data transfers aborted by the client. Corresponds to HAProxy's `cli_abrt` metric",
        "{cancellations}",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.compression.bypass",
        "Number of bytes that bypassed the HTTP compressor (CPU/BW limit). Corresponds to HAProxy's `comp_byp` \
         metric.",
        "By",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.compression.count",
        "Number of HTTP responses that were compressed. Corresponds to HAProxy's `comp_rsp` metric.",
        "{responses}",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.compression.input",
        "Number of HTTP response bytes fed to the compressor. Corresponds to HAProxy's `comp_in` metric.",
        "By",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.compression.output",
        "Number of HTTP response bytes emitted by the compressor. Corresponds to HAProxy's `comp_out` metric.",
        "By",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.connections.average_time",
        "Average connect time in ms over the 1024 last requests. Corresponds to HAProxy's `ctime` metric.",
        "ms",
        Gauge,
        false,
    ),
    Spec::new(
        "haproxy.connections.total",
        "Cumulative number of connections (frontend). Corresponds to HAProxy's `conn_tot` metric.",
        "{connections}",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.downtime",
        "Total downtime (in seconds). The value for the backend is the downtime for the whole backend, not the \
         sum of the server downtime. Corresponds to HAProxy's `downtime` metric",
        "s",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.failed_checks",
        "Number of failed checks. (Only counts checks failed when the server is up). Corresponds to HAProxy's \
         `chkfail` metric.",
        "{checks}",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.requests.average_time",
        "Average queue time in ms over the 1024 last requests. Corresponds to HAProxy's `qtime` metric.",
        "ms",
        Gauge,
        false,
    ),
    Spec::new(
        "haproxy.responses.average_time",
        "Average response time in ms over the 1024 last requests. Corresponds to HAProxy's `rtime` metric.",
        "ms",
        Gauge,
        false,
    ),
    Spec::new(
        "haproxy.sessions.limit",
        "Configured session limit. Corresponds to HAProxy's `slim` metric.",
        "{sessions}",
        Gauge,
        false,
    ),
    Spec::new(
        "haproxy.sessions.total",
        "Cumulative number of sessions. Corresponds to HAProxy's `stot` metric.",
        "{sessions}",
        Counter,
        false,
    ),
    Spec::new(
        "haproxy.weight",
        "Total effective weight (backend) or effective weight (server). Corresponds to HAProxy's `weight` metric.",
        "1",
        Gauge,
        false,
    ),
];
