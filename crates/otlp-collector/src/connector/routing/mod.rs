//! The `routing` connector: otelcol-contrib's, sending each resource, span, metric or log record to the
//! pipelines of the first route of its `table` whose OTTL condition it meets, and what meets none to
//! `default_pipelines`.
//!
//! As in otelcol since v0.120 (when `match_once` was removed), routes are tried in order and an item goes to the
//! first that matches; a `resource` route takes the whole resource with what is left of its items, an item route
//! (`span`, `metric`, `log`) only the items it matches, a `datapoint` route only the data points it matches, under
//! a copy of their metric (`points.rs`). A condition that fails on an item refuses the batch with
//! `error_mode: propagate` (the default) and sends the item to the default pipelines with `ignore` (logged) or
//! `silent`. What no route takes and no default pipeline receives is dropped and counted as
//! `otelcol_connector_dropped_*{reason="no_route"}`.
//!
//! A `request` route (`request["X-Tenant"] == "acme"`) reads the client's request metadata, which the receiver
//! kept (`include_metadata`): when a batch's client meets it, the route takes everything the routes before it did
//! not, as otelcol's does.

mod encoded;
mod points;
mod request;
mod split;

use super::{Connect, Targets};
use crate::Batch;
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused};
use crate::telemetry::DropCounter;
use crate::{AnyRequest, Signal};
use otlp_ottl::{Condition, ContextKind, ErrorMode, parse_condition};
use request::RequestCondition;
use serde::Deserialize;
use split::{Router, Split};
use std::sync::Arc;

/// The `routing` connector type.
pub struct Factory;

/// The `routing` connector's settings, otelcol-contrib's keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Routes, tried in order.
    pub table: Vec<RouteConfig>,
    /// Where items no route takes go; none means they are dropped.
    #[serde(default)]
    pub default_pipelines: Vec<String>,
    /// How a condition that fails on an item is handled; otelcol's default for this connector is `propagate`.
    #[serde(default = "propagate")]
    pub error_mode: ErrorMode,
    /// Removed from otelcol in v0.120.0; refused with what to write instead.
    #[serde(default, deserialize_with = "refuse_match_once")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    match_once: crate::de::Refused,
}

fn propagate() -> ErrorMode {
    ErrorMode::Propagate
}

fn refuse_match_once<'de, D: serde::Deserializer<'de>>(
    _: D,
) -> Result<crate::de::Refused, D::Error> {
    crate::de::refuse::<D>(
        "`match_once` was removed in otelcol v0.120.0: each item goes to the first route it matches; to send \
         one item down several routes, list several `routing` connectors in the feeding pipeline",
    )
}

/// One route of the table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// What the condition is evaluated on.
    #[serde(default)]
    pub context: RouteContext,
    /// The condition as an OTTL statement, `route() where <condition>`.
    #[serde(default)]
    pub statement: Option<String>,
    /// The condition as an OTTL condition.
    #[serde(default)]
    pub condition: Option<String>,
    /// The pipelines that receive what the route takes.
    pub pipelines: Vec<String>,
}

/// The OTTL context of a route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteContext {
    /// Each resource, with all its items.
    #[default]
    Resource,
    /// Each span (traces).
    Span,
    /// Each metric (metrics).
    Metric,
    /// Each data point (metrics): a copy of its metric takes the points that match.
    Datapoint,
    /// Each log record (logs).
    Log,
    /// The client's request metadata (`include_metadata` on the receiver): the whole batch, or what earlier
    /// routes left of it.
    Request,
}

impl RouteContext {
    fn ottl(self) -> Option<ContextKind> {
        match self {
            RouteContext::Resource => Some(ContextKind::Resource),
            RouteContext::Span => Some(ContextKind::Span),
            RouteContext::Metric => Some(ContextKind::Metric),
            RouteContext::Datapoint => Some(ContextKind::DataPoint),
            RouteContext::Log => Some(ContextKind::Log),
            RouteContext::Request => None,
        }
    }

    /// The signal an item context belongs to; `None` for `resource`, which every signal has.
    fn signal(self) -> Option<Signal> {
        match self {
            RouteContext::Span => Some(Signal::Traces),
            RouteContext::Metric | RouteContext::Datapoint => Some(Signal::Metrics),
            RouteContext::Log => Some(Signal::Logs),
            RouteContext::Resource | RouteContext::Request => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RouteContext::Resource => "resource",
            RouteContext::Span => "span",
            RouteContext::Metric => "metric",
            RouteContext::Datapoint => "datapoint",
            RouteContext::Log => "log",
            RouteContext::Request => "request",
        }
    }
}

/// A route's condition, compiled.
enum Compiled {
    /// OTTL, on each item of the route's context.
    Ottl(Condition),
    /// On the client of the whole batch.
    Request(RequestCondition),
}

impl RouteConfig {
    /// The route's condition, compiled; `Err` with the key it is about and why.
    fn compile(&self) -> Result<Compiled, (&'static str, String)> {
        let (key, text) = self.condition_text()?;
        let context = match self.context {
            RouteContext::Request => {
                return RequestCondition::parse(text)
                    .map(Compiled::Request)
                    .map_err(|message| (key, message));
            }
            other => other.ottl().unwrap_or(ContextKind::Resource),
        };
        parse_condition(context, text)
            .map(Compiled::Ottl)
            .map_err(|error| (key, crate::processor::ottl::describe(error)))
    }

    /// The condition's text and the key it was given under.
    fn condition_text(&self) -> Result<(&'static str, &str), (&'static str, String)> {
        match (&self.statement, &self.condition) {
            (Some(_), Some(_)) => Err((
                "statement",
                "give `statement` or `condition`, not both".to_string(),
            )),
            (None, None) => Err((
                "condition",
                "a route needs a `condition` (or a `statement`, `route() where <condition>`)"
                    .to_string(),
            )),
            (Some(statement), None) => Ok(("statement", condition_of_statement(statement)?)),
            (None, Some(condition)) => Ok(("condition", condition.as_str())),
        }
    }
}

/// The condition of a routing statement, `route() where <condition>`; `route()` alone always routes.
fn condition_of_statement(statement: &str) -> Result<&str, (&'static str, String)> {
    let invalid = || {
        (
            "statement",
            format!("a routing statement is `route() where <condition>`, found `{statement}`"),
        )
    };
    let rest = statement
        .trim()
        .strip_prefix("route")
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix('('))
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix(')'))
        .map(str::trim)
        .ok_or_else(invalid)?;
    if rest.is_empty() {
        return Ok("true");
    }
    match rest.strip_prefix("where") {
        Some(condition) if condition.starts_with(char::is_whitespace) => Ok(condition.trim()),
        _ => Err(invalid()),
    }
}

impl Component for Factory {
    type Config = RoutingConfig;
    const TYPE: &'static str = "routing";

    fn validate(&self, config: &RoutingConfig) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if config.table.is_empty() {
            problems.push(Invalid::at(
                "table",
                "the routing table needs at least one route",
            ));
        }
        for (i, route) in config.table.iter().enumerate() {
            if let Err((key, message)) = route.compile() {
                problems.push(Invalid::at(format!("table[{i}].{key}"), message));
            }
            if route.pipelines.is_empty() {
                problems.push(Invalid::at(
                    format!("table[{i}].pipelines"),
                    "a route needs at least one pipeline",
                ));
            }
        }
        Invalid::all(problems)
    }
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = super::SAME_SIGNAL;

    fn validate_for(&self, config: &RoutingConfig, from: Signal) -> Result<(), Invalid> {
        Invalid::all(config.table.iter().enumerate().filter_map(|(i, route)| {
            let signal = route.context.signal()?;
            (signal != from).then(|| {
                Invalid::at(
                    format!("table[{i}].context"),
                    format!(
                        "the `{}` context is for {signal}, and a {from} pipeline exports to this connector",
                        route.context.name()
                    ),
                )
            })
        }))
    }

    fn named_pipelines(&self, config: &RoutingConfig) -> Vec<(String, String)> {
        let routes = config.table.iter().enumerate().flat_map(|(i, route)| {
            route
                .pipelines
                .iter()
                .enumerate()
                .map(move |(j, pipeline)| (format!("table[{i}].pipelines[{j}]"), pipeline.clone()))
        });
        let defaults = config
            .default_pipelines
            .iter()
            .enumerate()
            .map(|(j, pipeline)| (format!("default_pipelines[{j}]"), pipeline.clone()));
        routes.chain(defaults).collect()
    }

    fn build(
        &self,
        config: &RoutingConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let mut conditions = Vec::new();
        let mut destinations = Vec::new();
        let mut request_routes = Vec::new();
        for route in &config.table {
            // A route whose context is another signal's never matches this signal's items.
            if route
                .context
                .signal()
                .is_some_and(|signal| signal != context.from)
            {
                continue;
            }
            let pipelines = targets.only(&route.pipelines)?;
            match route.compile().map_err(|(_, message)| message)? {
                Compiled::Ottl(condition) => {
                    conditions.push((route.context, condition));
                    destinations.push(pipelines);
                }
                Compiled::Request(condition) => {
                    request_routes.push(RequestRoute {
                        after: conditions.len(),
                        condition,
                        pipelines,
                    });
                }
            }
        }
        destinations.push(targets.only(&config.default_pipelines)?);
        Ok(super::stage(Routing {
            id: context.id.to_string(),
            router: Router::new(conditions, config.error_mode),
            destinations,
            request_routes,
            dropped: DropCounter::new(
                context.telemetry,
                "otelcol_connector_dropped",
                "connector",
                context.id,
            ),
        }))
    }
}

struct Routing {
    id: String,
    router: Router,
    /// Each item route's pipelines, in table order, then the default pipelines.
    destinations: Vec<Targets>,
    /// The `request` routes, in table order.
    request_routes: Vec<RequestRoute>,
    dropped: DropCounter,
}

/// A `request` route: the item routes before it in the table, its condition, its pipelines.
struct RequestRoute {
    /// How many item routes come before it: what they take is theirs, the rest is this route's.
    after: usize,
    condition: RequestCondition,
    pipelines: Targets,
}

impl Routing {
    /// Where each part of a split goes: its item route's pipelines, or, when the batch's client meets a `request`
    /// route, that route's pipelines for everything the item routes before it did not take (the default's part
    /// among it).
    fn destinations_of<'a>(
        &'a self,
        parts: Split,
        client: Option<&crate::client::ClientInfo>,
    ) -> Vec<(Option<Batch>, &'a Targets)> {
        let chosen = self
            .request_routes
            .iter()
            .find(|route| route.condition.matches(client));
        let Some(route) = chosen else {
            return parts.into_iter().zip(&self.destinations).collect();
        };
        let mut parts = parts.into_iter();
        let mut out: Vec<(Option<Batch>, &Targets)> = parts
            .by_ref()
            .take(route.after)
            .zip(&self.destinations)
            .collect();
        let rest = parts.flatten().reduce(|mut all, part| {
            // Parts of one batch are of one signal, so appending cannot fail.
            if let Err(part) = all.append(part) {
                self.dropped
                    .add(part.signal(), part.item_count(), "refused_downstream");
            }
            all
        });
        out.push((rest, &route.pipelines));
        out
    }
}

impl Routing {
    /// The batch split by destination, each part from the batch's client: in place when it is still encoded and
    /// only resources are routed, else decoded.
    fn split_batch(&self, batch: Batch) -> Result<Split, otlp_ottl::Error> {
        let client = batch.shared_client();
        let from_client = |parts: Split| -> Split {
            parts
                .into_iter()
                .map(|part| part.map(|part| part.with_client(client.clone())))
                .collect()
        };
        if self.router.resource_only()
            && let Some(requests) = batch.encoded()
        {
            match encoded::split_encoded(&self.router, batch.signal(), requests, &self.id) {
                Ok(parts) => return Ok(from_client(parts)),
                Err(encoded::NotInPlace::Condition(error)) => return Err(error),
                Err(encoded::NotInPlace::Wire) => {}
            }
        }
        self.split(batch.into_request()).map(from_client)
    }

    fn split(&self, request: AnyRequest) -> Result<Split, otlp_ottl::Error> {
        match request {
            AnyRequest::Traces(traces) => self.router.split_traces(traces, &self.id),
            AnyRequest::Metrics(metrics) => self.router.split_metrics(metrics, &self.id),
            AnyRequest::Logs(logs) => self.router.split_logs(logs, &self.id),
        }
    }
}

impl Connect for Routing {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            let signal = batch.signal();
            let client = batch.shared_client();
            let kept = batch.share();
            let parts = match self.split_batch(batch) {
                Ok(parts) => parts,
                Err(error) => {
                    // `propagate`: the batch goes back as it came, refused for good, as otelcol drops it.
                    return Err(Refused::returning(
                        Refusal::permanent(format!(
                            "connector {}: {}",
                            self.id,
                            crate::processor::ottl::describe(error)
                        )),
                        kept,
                    ));
                }
            };
            drop(kept);
            let mut parts = self
                .destinations_of(parts, client.as_deref())
                .into_iter()
                .peekable();
            while let Some((part, destination)) = parts.next() {
                let Some(part) = part else { continue };
                if destination.is_empty() {
                    self.dropped.add(signal, part.item_count(), "no_route");
                    continue;
                }
                if let Err(mut refused) = destination.consume(part).await {
                    // What the routes after this one would have been offered goes back with the refusal, so
                    // that offering it again loses none of it.
                    for (rest, _) in parts {
                        let Some(rest) = rest else { continue };
                        refused.batch = Some(match refused.batch.take() {
                            Some(mut back) => {
                                // Parts of one batch are of one signal, so appending cannot fail.
                                if let Err(rest) = back.append(rest) {
                                    self.dropped.add(
                                        signal,
                                        rest.item_count(),
                                        "refused_downstream",
                                    );
                                }
                                back
                            }
                            None => rest,
                        });
                    }
                    return Err(refused);
                }
            }
            Ok(())
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for destination in &self.destinations {
                destination.ready(items).await;
            }
            for route in &self.request_routes {
                route.pipelines.ready(items).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_route_where_a_condition() {
        assert_eq!(
            condition_of_statement(r#"route() where attributes["X-Tenant"] == "dev""#),
            Ok(r#"attributes["X-Tenant"] == "dev""#)
        );
        assert_eq!(condition_of_statement(" route ( ) "), Ok("true"));
        for wrong in [
            r#"set(attributes["x"], 1) where true"#,
            "route() whereattributes",
            "route() if true",
        ] {
            let Err((key, message)) = condition_of_statement(wrong) else {
                panic!("{wrong}");
            };
            assert_eq!(key, "statement");
            assert!(message.contains("`route() where <condition>`"), "{message}");
        }
    }
}
