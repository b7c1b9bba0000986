//! Splitting a request by route: each resource, or each item under it, moved to the part of the first route
//! whose condition it meets, keeping its resource and scope around it.

use super::RouteContext;
use crate::Batch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_model::OtlpRequest;
use otlp_ottl::{Condition, ErrorMode, ResourceParts, ScopeParts, TransformContext};

/// A request split by destination: one part per route, in table order, then the default pipelines' part;
/// `None` where nothing went.
pub(super) type Split = Vec<Option<Batch>>;

/// An item in pieces, each with the destination it goes to; `None` when the item goes whole.
pub(super) type Pieces<I> = Option<Vec<(usize, I)>>;

/// The routes' conditions, compiled, with how a failing condition is handled.
pub(super) struct Router {
    routes: Vec<(RouteContext, Condition)>,
    error_mode: ErrorMode,
}

/// One signal's request tree, as far as routing walks it.
trait Tree: Sized {
    type Resource: Clone;
    type Scope: Clone;
    type Item;

    fn resources(self) -> Vec<Self::Resource>;
    fn from_resources(resources: Vec<Self::Resource>) -> Self;
    fn scopes(resource: &mut Self::Resource) -> &mut Vec<Self::Scope>;
    fn items(scope: &mut Self::Scope) -> &mut Vec<Self::Item>;
    /// The resource's parts a condition reads, and its scopes.
    fn split_resource(resource: &mut Self::Resource) -> (ResourceParts<'_>, &mut Vec<Self::Scope>);
    /// The scope's parts a condition reads, and its items.
    fn split_scope(scope: &mut Self::Scope) -> (ScopeParts<'_>, &mut Vec<Self::Item>);
    /// The item context this signal's item routes use.
    fn item_context(context: RouteContext) -> bool;
    /// Whether routes of `context` look inside this signal's items (`datapoint` routes, at a metric's points).
    fn inner_context(context: RouteContext) -> bool;
    /// `item` in pieces by where each goes, when a route looks inside it; `None` when it goes whole.
    fn pieces(
        router: &Router,
        item: &mut Self::Item,
        resource: &mut ResourceParts<'_>,
        scope: &mut ScopeParts<'_>,
        resource_verdicts: &mut [Option<Option<bool>>],
        cache: &mut Vec<KeyValue>,
        id: &str,
    ) -> Result<Pieces<Self::Item>, otlp_ottl::Error>;
    fn context<'a>(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        item: &'a mut Self::Item,
        cache: &'a mut Vec<KeyValue>,
    ) -> TransformContext<'a>;
}

macro_rules! tree {
    ($request:ty, $resource:ty, $scope:ty, $item:ty, $resources:ident, $scopes:ident, $items:ident,
     $context:path, $for_item:ident, $inner:pat, $pieces:path) => {
        impl Tree for $request {
            type Resource = $resource;
            type Scope = $scope;
            type Item = $item;

            fn resources(self) -> Vec<$resource> {
                self.$resources
            }

            fn from_resources(resources: Vec<$resource>) -> Self {
                Self {
                    $resources: resources,
                }
            }

            fn scopes(resource: &mut $resource) -> &mut Vec<$scope> {
                &mut resource.$scopes
            }

            fn items(scope: &mut $scope) -> &mut Vec<$item> {
                &mut scope.$items
            }

            fn split_resource(resource: &mut $resource) -> (ResourceParts<'_>, &mut Vec<$scope>) {
                (
                    ResourceParts {
                        resource: &mut resource.resource,
                        schema_url: &mut resource.schema_url,
                    },
                    &mut resource.$scopes,
                )
            }

            fn split_scope(scope: &mut $scope) -> (ScopeParts<'_>, &mut Vec<$item>) {
                (
                    ScopeParts {
                        scope: &mut scope.scope,
                        schema_url: &mut scope.schema_url,
                    },
                    &mut scope.$items,
                )
            }

            fn item_context(context: RouteContext) -> bool {
                context == $context
            }

            fn inner_context(context: RouteContext) -> bool {
                matches!(context, $inner)
            }

            fn pieces(
                router: &Router,
                item: &mut $item,
                resource: &mut ResourceParts<'_>,
                scope: &mut ScopeParts<'_>,
                resource_verdicts: &mut [Option<Option<bool>>],
                cache: &mut Vec<KeyValue>,
                id: &str,
            ) -> Result<Pieces<$item>, otlp_ottl::Error> {
                $pieces(router, item, resource, scope, resource_verdicts, cache, id)
            }

            fn context<'a>(
                resource: ResourceParts<'a>,
                scope: ScopeParts<'a>,
                item: &'a mut $item,
                cache: &'a mut Vec<KeyValue>,
            ) -> TransformContext<'a> {
                TransformContext::$for_item(resource, scope, item, cache)
            }
        }
    };
}

tree!(
    ExportTraceServiceRequest,
    ResourceSpans,
    ScopeSpans,
    Span,
    resource_spans,
    scope_spans,
    spans,
    RouteContext::Span,
    for_span,
    RouteContext::Datapoint,
    whole
);
tree!(
    ExportMetricsServiceRequest,
    ResourceMetrics,
    ScopeMetrics,
    Metric,
    resource_metrics,
    scope_metrics,
    metrics,
    RouteContext::Metric,
    for_metric,
    RouteContext::Datapoint,
    super::points::pieces
);
tree!(
    ExportLogsServiceRequest,
    ResourceLogs,
    ScopeLogs,
    LogRecord,
    resource_logs,
    scope_logs,
    log_records,
    RouteContext::Log,
    for_log,
    RouteContext::Datapoint,
    whole
);

/// An item no route looks inside: it goes whole.
fn whole<I>(
    _: &Router,
    _: &mut I,
    _: &mut ResourceParts<'_>,
    _: &mut ScopeParts<'_>,
    _: &mut [Option<Option<bool>>],
    _: &mut Vec<KeyValue>,
    _: &str,
) -> Result<Pieces<I>, otlp_ottl::Error> {
    Ok(None)
}

/// The resources of each destination being gathered, and for the resource being split item by item, where its
/// copy and its scopes' copies sit in each.
struct Parts<T: Tree> {
    resources: Vec<Vec<T::Resource>>,
    /// Per destination, where the input resource being split has its copy, once an item of it went there.
    current: Vec<Option<Copied>>,
}

/// Where the copies of one input resource and its scopes sit among a destination's resources.
#[derive(Clone)]
struct Copied {
    /// The index of the resource's copy.
    at: usize,
    /// (input scope index, index of its copy in the resource's copy).
    scopes: Vec<(usize, usize)>,
}

impl<T: Tree> Parts<T> {
    fn new(destinations: usize) -> Self {
        Parts {
            resources: (0..destinations).map(|_| Vec::new()).collect(),
            current: vec![None; destinations],
        }
    }

    /// Starts a new input resource: its items go under new copies of it.
    fn next_resource(&mut self) {
        self.current.iter_mut().for_each(|current| *current = None);
    }

    /// Moves the whole of `resource` to `destination`, without the scopes left with no items.
    fn take_resource(&mut self, destination: usize, mut resource: T::Resource) {
        T::scopes(&mut resource).retain_mut(|scope| !T::items(scope).is_empty());
        if T::scopes(&mut resource).is_empty() {
            return;
        }
        if let Some(resources) = self.resources.get_mut(destination) {
            resources.push(resource);
        }
    }

    /// Moves `items` of scope `scope_index` (`scope`, without its items) of `resource` (without its scopes) to
    /// `destination`.
    fn take_items(
        &mut self,
        destination: usize,
        resource: &T::Resource,
        (scope_index, scope): (usize, &T::Scope),
        items: Vec<T::Item>,
    ) {
        let (Some(resources), Some(current)) = (
            self.resources.get_mut(destination),
            self.current.get_mut(destination),
        ) else {
            return;
        };
        let Copied { at, scopes } = current.get_or_insert_with(|| {
            resources.push(resource.clone());
            Copied {
                at: resources.len() - 1,
                scopes: Vec::new(),
            }
        });
        let Some(copy) = resources.get_mut(*at) else {
            return;
        };
        match scopes.iter().find(|(input, _)| *input == scope_index) {
            Some((_, position)) => {
                if let Some(existing) = T::scopes(copy).get_mut(*position) {
                    T::items(existing).extend(items);
                }
            }
            None => {
                let mut scope = scope.clone();
                *T::items(&mut scope) = items;
                T::scopes(copy).push(scope);
                scopes.push((scope_index, T::scopes(copy).len() - 1));
            }
        }
    }

    fn into_split(self) -> Split
    where
        T: OtlpRequest,
    {
        self.resources
            .into_iter()
            .map(|resources| {
                let batch = Batch::new(T::from_resources(resources));
                (!batch.is_empty()).then_some(batch)
            })
            .collect()
    }
}

impl Router {
    pub(super) fn new(routes: Vec<(RouteContext, Condition)>, error_mode: ErrorMode) -> Self {
        Router { routes, error_mode }
    }

    /// The routes and the default: how many parts a split has.
    pub(super) fn destinations(&self) -> usize {
        self.routes.len() + 1
    }

    /// The routes, in table order.
    pub(super) fn routes(&self) -> &[(RouteContext, Condition)] {
        &self.routes
    }

    /// True when a route looks at data points.
    pub(super) fn routes_points(&self) -> bool {
        self.routes
            .iter()
            .any(|(context, _)| *context == RouteContext::Datapoint)
    }

    /// True when every route is a `resource` route: resources go whole, and can go as they were received.
    pub(super) fn resource_only(&self) -> bool {
        self.routes
            .iter()
            .all(|(context, _)| *context == RouteContext::Resource)
    }

    /// Where a whole resource goes by the `resource` routes: the first that takes it, else the default (also
    /// when a condition fails and errors are ignored).
    pub(super) fn route_resource(
        &self,
        resource: &mut Option<opentelemetry_proto::tonic::resource::v1::Resource>,
        schema_url: &mut String,
        cache: &mut Vec<KeyValue>,
        id: &str,
    ) -> Result<usize, otlp_ottl::Error> {
        let default = self.routes.len();
        for (route, (context, condition)) in self.routes.iter().enumerate() {
            if *context != RouteContext::Resource {
                continue;
            }
            cache.clear();
            let parts = ResourceParts {
                resource: &mut *resource,
                schema_url: &mut *schema_url,
            };
            let ctx = TransformContext::for_resource(parts, cache);
            match self.judge(condition.eval(&ctx), id)? {
                Some(false) => continue,
                Some(true) => return Ok(route),
                None => return Ok(default),
            }
        }
        Ok(default)
    }

    pub(super) fn split_traces(
        &self,
        request: ExportTraceServiceRequest,
        id: &str,
    ) -> Result<Split, otlp_ottl::Error> {
        self.split(request, id)
    }

    pub(super) fn split_metrics(
        &self,
        request: ExportMetricsServiceRequest,
        id: &str,
    ) -> Result<Split, otlp_ottl::Error> {
        self.split(request, id)
    }

    pub(super) fn split_logs(
        &self,
        request: ExportLogsServiceRequest,
        id: &str,
    ) -> Result<Split, otlp_ottl::Error> {
        self.split(request, id)
    }

    /// What a condition's outcome on one resource or item means: `Some(true)` it goes to the route,
    /// `Some(false)` it stays for the next routes, `None` it goes to the default pipelines (an error, ignored).
    pub(super) fn judge(
        &self,
        outcome: otlp_ottl::Result<bool>,
        id: &str,
    ) -> otlp_ottl::Result<Option<bool>> {
        match outcome {
            Ok(holds) => Ok(Some(holds)),
            Err(error) => match self.error_mode {
                ErrorMode::Propagate => Err(error),
                ErrorMode::Ignore => {
                    tracing::warn!(connector = %id, %error, "routing condition failed; sent to the default pipelines");
                    Ok(None)
                }
                ErrorMode::Silent => Ok(None),
            },
        }
    }

    fn split<T: Tree + OtlpRequest>(
        &self,
        request: T,
        id: &str,
    ) -> Result<Split, otlp_ottl::Error> {
        let default = self.routes.len();
        let mut parts = Parts::<T>::new(default + 1);
        let mut cache = Vec::new();
        for mut resource in request.resources() {
            parts.next_resource();
            // The resource routes' verdicts on this resource, worked out when first needed.
            let mut verdicts: Vec<Option<Option<bool>>> = vec![None; self.routes.len()];
            if let Some(destination) =
                self.whole_resource::<T>(&mut resource, &mut verdicts, &mut cache, id)?
            {
                parts.take_resource(destination, resource);
                continue;
            }
            // An item route comes before any resource route that takes the resource: item by item, each to the
            // first route it (or its resource) matches, in the order they came.
            let resource_header = header(&mut resource, T::scopes);
            let (mut resource_parts, scopes) = T::split_resource(&mut resource);
            for (scope_index, scope) in scopes.iter_mut().enumerate() {
                let scope_header = header(scope, T::items);
                let (mut scope_parts, items) = T::split_scope(scope);
                let mut by_destination: Vec<Vec<T::Item>> =
                    (0..=default).map(|_| Vec::new()).collect();
                for mut item in std::mem::take(items) {
                    if let Some(pieces) = T::pieces(
                        self,
                        &mut item,
                        &mut resource_parts,
                        &mut scope_parts,
                        &mut verdicts,
                        &mut cache,
                        id,
                    )? {
                        for (destination, piece) in pieces {
                            if let Some(items) = by_destination.get_mut(destination) {
                                items.push(piece);
                            }
                        }
                        continue;
                    }
                    let mut destination = default;
                    for (route, (context, condition)) in self.routes.iter().enumerate() {
                        let verdict = if *context == RouteContext::Resource {
                            self.resource_verdict(
                                route,
                                condition,
                                (&mut resource_parts, &mut verdicts),
                                &mut cache,
                                id,
                            )?
                        } else if T::item_context(*context) {
                            cache.clear();
                            let ctx = T::context(
                                resource_parts.reborrow(),
                                scope_parts.reborrow(),
                                &mut item,
                                &mut cache,
                            );
                            self.judge(condition.eval(&ctx), id)?
                        } else {
                            continue;
                        };
                        match verdict {
                            Some(false) => continue,
                            Some(true) => destination = route,
                            None => destination = default,
                        }
                        break;
                    }
                    if let Some(items) = by_destination.get_mut(destination) {
                        items.push(item);
                    }
                }
                for (destination, items) in by_destination.into_iter().enumerate() {
                    if !items.is_empty() {
                        parts.take_items(
                            destination,
                            &resource_header,
                            (scope_index, &scope_header),
                            items,
                        );
                    }
                }
            }
        }
        Ok(parts.into_split())
    }

    /// Where the whole resource goes when a resource route decides it before any item route of the signal
    /// comes: the route that takes it, or the default pipelines when none does or its condition fails (ignored).
    /// `None` when items must be routed one by one.
    fn whole_resource<T: Tree>(
        &self,
        resource: &mut T::Resource,
        verdicts: &mut [Option<Option<bool>>],
        cache: &mut Vec<KeyValue>,
        id: &str,
    ) -> Result<Option<usize>, otlp_ottl::Error> {
        let (mut resource_parts, _) = T::split_resource(resource);
        for (route, (context, condition)) in self.routes.iter().enumerate() {
            if T::item_context(*context) || T::inner_context(*context) {
                return Ok(None);
            }
            if *context != RouteContext::Resource {
                continue;
            }
            match self.resource_verdict(
                route,
                condition,
                (&mut resource_parts, verdicts),
                cache,
                id,
            )? {
                Some(false) => continue,
                Some(true) => return Ok(Some(route)),
                None => return Ok(Some(self.routes.len())),
            }
        }
        Ok(Some(self.routes.len()))
    }

    /// Resource route `route`'s verdict on the resource, evaluated once.
    pub(super) fn resource_verdict(
        &self,
        route: usize,
        condition: &Condition,
        (resource, verdicts): (&mut ResourceParts<'_>, &mut [Option<Option<bool>>]),
        cache: &mut Vec<KeyValue>,
        id: &str,
    ) -> Result<Option<bool>, otlp_ottl::Error> {
        if let Some(Some(verdict)) = verdicts.get(route) {
            return Ok(*verdict);
        }
        cache.clear();
        let ctx = TransformContext::for_resource(resource.reborrow(), cache);
        let verdict = self.judge(condition.eval(&ctx), id)?;
        if let Some(slot) = verdicts.get_mut(route) {
            *slot = Some(verdict);
        }
        Ok(verdict)
    }
}

/// A copy of `parent` without its children (a resource without its scopes, a scope without its items).
fn header<P: Clone, C>(parent: &mut P, children: fn(&mut P) -> &mut Vec<C>) -> P {
    let held = std::mem::take(children(parent));
    let copy = parent.clone();
    *children(parent) = held;
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use otlp_ottl::{ContextKind, parse_condition};

    fn tenant(name: &str) -> Option<Resource> {
        Some(Resource {
            attributes: vec![KeyValue {
                key: "tenant".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(name.into())),
                }),
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    fn record(body: &str, severity: &str) -> LogRecord {
        LogRecord {
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(body.into())),
            }),
            severity_text: severity.into(),
            ..Default::default()
        }
    }

    /// Two scopes of records under one tenant's resource.
    fn resource(name: &str) -> ResourceLogs {
        let scope = |scope: &str, records: Vec<LogRecord>| ScopeLogs {
            scope: Some(InstrumentationScope {
                name: scope.into(),
                ..Default::default()
            }),
            log_records: records,
            ..Default::default()
        };
        ResourceLogs {
            resource: tenant(name),
            scope_logs: vec![
                scope(
                    "http",
                    vec![
                        record("1", "INFO"),
                        record("2", "ERROR"),
                        record("3", "INFO"),
                    ],
                ),
                scope("db", vec![record("4", "ERROR"), record("5", "INFO")]),
            ],
            ..Default::default()
        }
    }

    /// (tenant, scope, body) of every record of a part.
    fn placed(part: &Option<Batch>) -> Vec<(String, String, String)> {
        let Some(part) = part else { return Vec::new() };
        let Some(request) = part.get::<ExportLogsServiceRequest>() else {
            panic!("not logs");
        };
        let text = |value: &Option<AnyValue>| match value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            _ => String::new(),
        };
        let mut out = Vec::new();
        for rl in &request.resource_logs {
            let tenant = rl
                .resource
                .as_ref()
                .map(|r| text(&r.attributes[0].value))
                .unwrap_or_default();
            for sl in &rl.scope_logs {
                let scope = sl
                    .scope
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                for record in &sl.log_records {
                    out.push((tenant.clone(), scope.clone(), text(&record.body)));
                }
            }
        }
        out
    }

    fn place(tenant: &str, scope: &str, body: &str) -> (String, String, String) {
        (tenant.into(), scope.into(), body.into())
    }

    #[test]
    fn a_resource_route_first_takes_whole_resources_and_an_item_route_after_it_the_rest_in_order() {
        let router = Router::new(
            vec![
                (
                    RouteContext::Resource,
                    parse_condition(ContextKind::Resource, r#"attributes["tenant"] == "a""#)
                        .unwrap(),
                ),
                (
                    RouteContext::Log,
                    parse_condition(ContextKind::Log, r#"severity_text == "ERROR""#).unwrap(),
                ),
                // Another signal's route never matches logs.
                (
                    RouteContext::Span,
                    parse_condition(ContextKind::Span, "true").unwrap(),
                ),
            ],
            ErrorMode::Propagate,
        );
        let request = ExportLogsServiceRequest {
            resource_logs: vec![resource("a"), resource("b")],
        };
        let parts = router.split_logs(request, "routing").unwrap();
        assert_eq!(parts.len(), 4);
        assert_eq!(
            placed(&parts[0]),
            ["1", "2", "3"]
                .map(|b| place("a", "http", b))
                .into_iter()
                .chain(["4", "5"].map(|b| place("a", "db", b)))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            placed(&parts[1]),
            [place("b", "http", "2"), place("b", "db", "4")]
        );
        assert!(parts[2].is_none());
        assert_eq!(
            placed(&parts[3]),
            [
                place("b", "http", "1"),
                place("b", "http", "3"),
                place("b", "db", "5")
            ]
        );
    }

    #[test]
    fn a_resource_route_after_an_item_route_takes_what_the_item_route_left() {
        let router = Router::new(
            vec![
                (
                    RouteContext::Log,
                    parse_condition(ContextKind::Log, r#"severity_text == "ERROR""#).unwrap(),
                ),
                (
                    RouteContext::Resource,
                    parse_condition(ContextKind::Resource, r#"attributes["tenant"] == "a""#)
                        .unwrap(),
                ),
            ],
            ErrorMode::Propagate,
        );
        let request = ExportLogsServiceRequest {
            resource_logs: vec![resource("a"), resource("b")],
        };
        let parts = router.split_logs(request, "routing").unwrap();
        assert_eq!(
            placed(&parts[0]),
            [
                place("a", "http", "2"),
                place("a", "db", "4"),
                place("b", "http", "2"),
                place("b", "db", "4")
            ]
        );
        assert_eq!(
            placed(&parts[1]),
            [
                place("a", "http", "1"),
                place("a", "http", "3"),
                place("a", "db", "5")
            ]
        );
        assert_eq!(
            placed(&parts[2]),
            [
                place("b", "http", "1"),
                place("b", "http", "3"),
                place("b", "db", "5")
            ]
        );
    }
}
