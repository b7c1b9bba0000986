//! nginx's `stub_status` page read into otelcol's nginx metrics.
//!
//! ```text
//! Active connections: 291
//! server accepts handled requests
//!  16630948 16630948 31070465
//! Reading: 6 Writing: 179 Waiting: 106
//! ```

use crate::receiver::scraper::metric::{Builder, Kind, Spec};

/// What the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StubStatus {
    pub(super) active: i64,
    pub(super) accepted: i64,
    pub(super) handled: i64,
    pub(super) requests: i64,
    pub(super) reading: i64,
    pub(super) writing: i64,
    pub(super) waiting: i64,
}

impl StubStatus {
    /// Reads the page; an error says what was not where nginx puts it (a page other than `stub_status`'s).
    pub(super) fn parse(page: &str) -> Result<StubStatus, String> {
        let mut lines = page.lines().map(str::trim).filter(|line| !line.is_empty());
        let mut line = |what: &str| {
            lines
                .next()
                .ok_or_else(|| format!("the page ends before its {what} line"))
        };
        let active = line("`Active connections:`")?;
        let active = active
            .strip_prefix("Active connections:")
            .ok_or_else(|| format!("`{}` is not `Active connections: N`", clip(active)))
            .and_then(|n| number(n, "active connections"))?;
        let heading = line("`server accepts handled requests`")?;
        if heading != "server accepts handled requests" {
            return Err(format!(
                "`{}` is not `server accepts handled requests`",
                clip(heading)
            ));
        }
        let counts = line("counts")?;
        let counts: Vec<&str> = counts.split_whitespace().collect();
        let [accepted, handled, requests] = counts[..] else {
            return Err(format!(
                "{} numbers where accepts, handled and requests should be",
                counts.len()
            ));
        };
        let states = line("`Reading: … Writing: … Waiting: …`")?;
        let states: Vec<&str> = states.split_whitespace().collect();
        let [
            "Reading:",
            reading,
            "Writing:",
            writing,
            "Waiting:",
            waiting,
        ] = states[..]
        else {
            return Err(format!(
                "`{}` is not `Reading: N Writing: N Waiting: N`",
                clip(&states.join(" "))
            ));
        };
        Ok(StubStatus {
            active,
            accepted: number(accepted, "accepts")?,
            handled: number(handled, "handled")?,
            requests: number(requests, "requests")?,
            reading: number(reading, "reading")?,
            writing: number(writing, "writing")?,
            waiting: number(waiting, "waiting")?,
        })
    }

    /// Whether this reading is of a server that restarted since `earlier`: a counter went back.
    pub(super) fn restarted_since(&self, earlier: &StubStatus) -> bool {
        self.accepted < earlier.accepted
            || self.handled < earlier.handled
            || self.requests < earlier.requests
    }

    pub(super) fn record(&self, out: &mut Builder<'_>) {
        out.int("nginx.requests", self.requests, &[]);
        out.int("nginx.connections_accepted", self.accepted, &[]);
        out.int("nginx.connections_handled", self.handled, &[]);
        for (state, value) in [
            ("active", self.active),
            ("reading", self.reading),
            ("writing", self.writing),
            ("waiting", self.waiting),
        ] {
            out.int("nginx.connections_current", value, &[("state", state)]);
        }
    }
}

fn number(text: &str, what: &str) -> Result<i64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what}: `{}` is not a number", clip(text.trim())))
}

/// At most 60 characters of `text`, for an error message about a page that may be anything.
fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

use Kind::{Counter, UpDown};

/// otelcol's nginx metrics (its `metadata.yaml`), in its order; all are on by default.
pub(super) const SPECS: &[Spec] = &[
    Spec::on(
        "nginx.requests",
        "Total number of requests made to the server since it started",
        "requests",
        Counter,
    ),
    Spec::on(
        "nginx.connections_accepted",
        "The total number of accepted client connections",
        "connections",
        Counter,
    ),
    Spec::on(
        "nginx.connections_handled",
        "The total number of handled connections. Generally, the parameter value is the same as \
                      nginx.connections_accepted unless some resource limits have been reached (for example, the \
                      worker_connections limit).",
        "connections",
        Counter,
    ),
    Spec::on(
        "nginx.connections_current",
        "The current number of nginx connections by state",
        "connections",
        UpDown,
    ),
];
