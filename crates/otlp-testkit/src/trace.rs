//! Trace generation: whole traces from the catalogue's flows, cut into requests of an exact
//! span count.

use crate::catalog::{Catalog, Extra, Node, SCHEMA_URL, SCOPE_KINDS, ScopeKind, ServiceId};
use crate::util::{kv, kv_bool, kv_int, kv_str, kv_string, push_hex, random_id};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// W3C trace flags: sampled, and the level-2 "random" bit (the trace id is random).
const TRACE_FLAGS: u32 = 0x01 | 0x02;
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// A finished span together with where it belongs (resource and scope).
#[derive(Debug, Clone)]
pub(crate) struct TaggedSpan {
    service: ServiceId,
    scope: ScopeKind,
    template: usize,
    span: Span,
}

/// Values shared by every span of one trace, so a trace tells one consistent story
/// (one user, one product, one order).
struct TraceContext {
    trace_id: Vec<u8>,
    trace_state: String,
    product: usize,
    user: usize,
    user_agent: usize,
    client_address: usize,
    cart_items: i64,
    order_amount: f64,
    feature_flags: usize,
    kafka_offset: i64,
}

/// The trace signal's state inside a `Generator`.
#[derive(Debug, Clone)]
pub(crate) struct TraceState {
    rng: ChaCha8Rng,
    clock_ns: u64,
    error_rate: f64,
    kafka_offset: i64,
    pending: VecDeque<TaggedSpan>,
    // The trace being built is appended to `pending` directly (no extra copy of every span);
    // it starts at `trace_base`, and the indexes below are relative to it.
    trace_base: usize,
    parents: Vec<Option<usize>>,
    has_children: Vec<bool>,
}

impl TraceState {
    pub(crate) fn new(rng: ChaCha8Rng, start_ns: u64, error_rate: f64) -> Self {
        Self {
            rng,
            clock_ns: start_ns,
            error_rate,
            kafka_offset: 1_048_576,
            pending: VecDeque::new(),
            trace_base: 0,
            parents: Vec::new(),
            has_children: Vec::new(),
        }
    }

    pub(crate) fn set_start(&mut self, start_ns: u64) {
        self.clock_ns = start_ns;
    }

    pub(crate) fn set_error_rate(&mut self, error_rate: f64) {
        self.error_rate = error_rate;
    }

    /// Exactly `spans` spans: whatever is left of the previous call's last trace first, then
    /// whole traces; the last trace may be cut and its rest waits for the next call.
    pub(crate) fn request(&mut self, catalog: &Catalog, spans: usize) -> ExportTraceServiceRequest {
        while self.pending.len() < spans {
            if !self.generate_trace(catalog) {
                break;
            }
        }
        let spans = spans.min(self.pending.len());
        let slots = catalog.services.len() * SCOPE_KINDS;
        // Sizing every group up front saves the chain of reallocations (and copies of whole
        // spans) that growing them one push at a time would cost.
        let mut sizes = vec![0usize; slots];
        for tagged in self.pending.range(..spans) {
            if let Some(size) = sizes.get_mut(tagged.service * SCOPE_KINDS + tagged.scope as usize)
            {
                *size += 1;
            }
        }
        let mut groups: Vec<Vec<Span>> = sizes.into_iter().map(Vec::with_capacity).collect();
        for tagged in self.pending.drain(..spans) {
            let slot = tagged.service * SCOPE_KINDS + tagged.scope as usize;
            if let Some(group) = groups.get_mut(slot) {
                group.push(tagged.span);
            }
        }
        let mut resource_spans = Vec::new();
        for (service, runtime) in catalog.services.iter().enumerate() {
            let mut scope_spans = Vec::new();
            for (kind, scope) in runtime.scopes.iter().enumerate() {
                let Some(group) = groups.get_mut(service * SCOPE_KINDS + kind) else {
                    continue;
                };
                if group.is_empty() {
                    continue;
                }
                scope_spans.push(ScopeSpans {
                    scope: Some(scope.clone()),
                    spans: std::mem::take(group),
                    schema_url: String::new(),
                });
            }
            if !scope_spans.is_empty() {
                resource_spans.push(ResourceSpans {
                    resource: Some(runtime.resource.clone()),
                    scope_spans,
                    schema_url: SCHEMA_URL.to_owned(),
                });
            }
        }
        ExportTraceServiceRequest { resource_spans }
    }

    /// Whatever was carried over plus whole traces until there are at least `min_spans`
    /// spans, so that no trace is cut.
    pub(crate) fn whole_traces(
        &mut self,
        catalog: &Catalog,
        min_spans: usize,
    ) -> ExportTraceServiceRequest {
        while self.pending.len() < min_spans {
            if !self.generate_trace(catalog) {
                break;
            }
        }
        self.request(catalog, self.pending.len())
    }

    pub(crate) fn carried_over(&self) -> usize {
        self.pending.len()
    }

    fn pick_flow<'c>(&mut self, catalog: &'c Catalog) -> Option<&'c Node> {
        let mut ticket = self.rng.random_range(0..catalog.total_weight.max(1));
        for flow in &catalog.flows {
            if ticket < flow.weight {
                return Some(&flow.root);
            }
            ticket -= flow.weight;
        }
        catalog.flows.first().map(|f| &f.root)
    }

    fn new_context(&mut self, catalog: &Catalog) -> TraceContext {
        let rng = &mut self.rng;
        let trace_id = random_id::<16>(rng).to_vec();
        let roll: f64 = rng.random();
        let trace_state = if roll < 0.25 {
            // OpenTelemetry's consistent-probability sampling: threshold 0 (keep all) with an
            // explicit 56-bit randomness value.
            let mut s = String::with_capacity(22);
            s.push_str("ot=th:0;rv:");
            push_hex(&mut s, rng.random::<u64>(), 14);
            s
        } else if roll < 0.35 {
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE".to_owned()
        } else {
            String::new()
        };
        let cart_items = rng.random_range(1..=8);
        let order_amount =
            (rng.random_range(4.99..120.0) * cart_items as f64 * 100.0).round() / 100.0;
        self.kafka_offset += 1;
        TraceContext {
            trace_id,
            trace_state,
            product: rng.random_range(0..catalog.product_ids.len().max(1)),
            user: rng.random_range(0..catalog.user_ids.len().max(1)),
            user_agent: rng.random_range(0..catalog.user_agents.len().max(1)),
            client_address: rng.random_range(0..catalog.client_addresses.len().max(1)),
            cart_items,
            order_amount,
            feature_flags: rng.random_range(0..catalog.feature_flags.len().max(1)),
            kafka_offset: self.kafka_offset,
        }
    }

    /// Appends one whole trace to `pending`; `false` if the catalogue could not produce one
    /// (it always can; the callers' loops must not spin forever if that ever changed).
    fn generate_trace(&mut self, catalog: &Catalog) -> bool {
        let Some(root) = self.pick_flow(catalog) else {
            return false;
        };
        let context = self.new_context(catalog);
        let start = self.clock_ns;
        self.clock_ns = self
            .clock_ns
            .saturating_add(catalog.trace_interval.sample_ns(&mut self.rng));
        self.trace_base = self.pending.len();
        self.parents.clear();
        self.has_children.clear();
        self.emit(catalog, &context, root, None, start);
        if self.error_rate > 0.0 && self.rng.random_bool(self.error_rate) {
            self.inject_failure(catalog);
        }
        self.pending.len() > self.trace_base
    }

    /// Appends the span of `node` and its subtree; returns the span's end time.
    fn emit(
        &mut self,
        catalog: &Catalog,
        context: &TraceContext,
        node: &Node,
        parent: Option<usize>,
        start: u64,
    ) -> u64 {
        let Some(template) = catalog.templates.get(node.template) else {
            return start;
        };
        let index = self.parents.len();
        let parent_span_id = parent
            .and_then(|p| self.pending.get(self.trace_base + p))
            .map(|p| p.span.span_id.clone())
            .unwrap_or_default();
        let mut flags = TRACE_FLAGS | HAS_IS_REMOTE;
        if template.remote_parent && parent.is_some() {
            flags |= IS_REMOTE;
        }
        // Room for the dynamic attributes (two at most per extra) and the error attributes,
        // so that adding them never reallocates.
        let mut attributes =
            Vec::with_capacity(template.attributes.len() + 2 * template.extras.len() + 1);
        attributes.extend_from_slice(&template.attributes);
        let mut events = Vec::new();
        for extra in &template.extras {
            self.apply_extra(
                catalog,
                context,
                *extra,
                start,
                &mut attributes,
                &mut events,
            );
        }
        let links = if template.link_to_parent && !parent_span_id.is_empty() {
            vec![Link {
                trace_id: context.trace_id.clone(),
                span_id: parent_span_id.clone(),
                trace_state: context.trace_state.clone(),
                attributes: vec![kv_str("messaging.operation.type", "send")],
                dropped_attributes_count: 0,
                flags: TRACE_FLAGS | HAS_IS_REMOTE | IS_REMOTE,
            }]
        } else {
            Vec::new()
        };
        let span = Span {
            trace_id: context.trace_id.clone(),
            span_id: random_id::<8>(&mut self.rng).to_vec(),
            trace_state: context.trace_state.clone(),
            parent_span_id,
            flags,
            name: template.name.clone(),
            kind: template.kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start,
            attributes,
            dropped_attributes_count: 0,
            events,
            dropped_events_count: 0,
            links,
            dropped_links_count: 0,
            status: None,
        };
        self.pending.push_back(TaggedSpan {
            service: template.service,
            scope: template.scope,
            template: node.template,
            span,
        });
        self.parents.push(parent);
        self.has_children.push(false);

        let mut cursor = start;
        let mut parallel_end = start;
        let mut last_child_remote = false;
        for call in &node.calls {
            if call.probability < 1.0 && !self.rng.random_bool(call.probability) {
                continue;
            }
            let count = if call.max > call.min {
                self.rng.random_range(call.min..=call.max)
            } else {
                call.min
            };
            let Some(child_template) = catalog.templates.get(call.node.template) else {
                continue;
            };
            let delay = if child_template.remote_parent {
                catalog.network
            } else {
                catalog.gap
            };
            last_child_remote = child_template.remote_parent;
            for _ in 0..count {
                if let Some(flag) = self.has_children.get_mut(index) {
                    *flag = true;
                }
                let child_start = cursor.saturating_add(delay.sample_ns(&mut self.rng));
                let child_end = self.emit(catalog, context, &call.node, Some(index), child_start);
                if node.parallel {
                    parallel_end = parallel_end.max(child_end);
                } else {
                    cursor = child_end;
                }
            }
        }
        cursor = cursor.max(parallel_end);
        let tail = if last_child_remote {
            catalog.network
        } else {
            template.self_time
        };
        let end = cursor.saturating_add(tail.sample_ns(&mut self.rng));
        if let Some(tagged) = self.pending.get_mut(self.trace_base + index) {
            tagged.span.end_time_unix_nano = end;
            // Events were stamped relative to the start; keep them inside very short spans.
            for event in &mut tagged.span.events {
                event.time_unix_nano = event.time_unix_nano.min(end);
            }
        }
        end
    }

    fn apply_extra(
        &mut self,
        catalog: &Catalog,
        context: &TraceContext,
        extra: Extra,
        start: u64,
        attributes: &mut Vec<KeyValue>,
        events: &mut Vec<Event>,
    ) {
        let pooled = |pool: &[AnyValue], index: usize| pool.get(index).cloned().unwrap_or_default();
        match extra {
            Extra::ProductPath => {
                attributes.push(kv(
                    "url.path",
                    pooled(&catalog.product_paths, context.product),
                ));
                attributes.push(kv(
                    "app.product.id",
                    pooled(&catalog.product_ids, context.product),
                ));
            }
            Extra::UserId => {
                attributes.push(kv("app.user.id", pooled(&catalog.user_ids, context.user)))
            }
            Extra::UserAgent => {
                attributes.push(kv(
                    "user_agent.original",
                    pooled(&catalog.user_agents, context.user_agent),
                ));
            }
            Extra::ClientAddress => {
                attributes.push(kv(
                    "client.address",
                    pooled(&catalog.client_addresses, context.client_address),
                ));
            }
            Extra::CartItems => attributes.push(kv_int("app.cart.items", context.cart_items)),
            Extra::OrderAmount => {
                attributes.push(kv(
                    "app.order.amount",
                    AnyValue {
                        value: Some(Value::DoubleValue(context.order_amount)),
                    },
                ));
            }
            Extra::FeatureFlags => {
                attributes.push(kv(
                    "app.feature_flags",
                    pooled(&catalog.feature_flags, context.feature_flags),
                ));
            }
            Extra::CacheLookup => {
                let hit = self.rng.random_bool(0.8);
                attributes.push(kv_bool("app.cache.hit", hit));
                if !hit {
                    events.push(Event {
                        time_unix_nano: start.saturating_add(2_000),
                        name: "cache miss".to_owned(),
                        attributes: vec![kv(
                            "app.cache.key",
                            pooled(&catalog.product_ids, context.product),
                        )],
                        dropped_attributes_count: 0,
                    });
                }
            }
            Extra::Retry => {
                if self.rng.random_bool(0.02) {
                    events.push(Event {
                        time_unix_nano: start.saturating_add(1_000),
                        name: "retry".to_owned(),
                        attributes: vec![
                            kv_int("app.retry.attempt", 1),
                            kv_str("app.retry.reason", "UNAVAILABLE"),
                        ],
                        dropped_attributes_count: 0,
                    });
                }
            }
            Extra::RequestBodySize => {
                attributes.push(kv_int(
                    "http.request.body.size",
                    self.rng.random_range(60..4_000),
                ));
            }
            Extra::ResponseBodySize => {
                attributes.push(kv_int(
                    "http.response.body.size",
                    self.rng.random_range(200..60_000),
                ));
            }
            Extra::ReturnedRows => {
                attributes.push(kv_int(
                    "db.response.returned_rows",
                    self.rng.random_range(1..=10),
                ));
            }
            Extra::RpcMessages => {
                for (id, kind) in [(1, "SENT"), (1, "RECEIVED")] {
                    events.push(Event {
                        time_unix_nano: start.saturating_add(3_000),
                        name: "message".to_owned(),
                        attributes: vec![
                            kv_str("rpc.message.type", kind),
                            kv_int("rpc.message.id", id),
                            kv_int(
                                "rpc.message.uncompressed_size",
                                self.rng.random_range(12..2_048),
                            ),
                        ],
                        dropped_attributes_count: 0,
                    });
                }
            }
            Extra::KafkaOffset => {
                attributes.push(kv_int("messaging.kafka.offset", context.kafka_offset))
            }
        }
    }

    /// Fails one leaf of the trace under construction and marks the synchronous chain of
    /// callers above it as failed too, the way instrumented services report an error.
    fn inject_failure(&mut self, catalog: &Catalog) {
        let leaves = self.has_children.iter().filter(|has| !**has).count();
        if leaves == 0 {
            return;
        }
        let nth = self.rng.random_range(0..leaves);
        let Some(origin) = self
            .has_children
            .iter()
            .enumerate()
            .filter(|(_, has)| !**has)
            .nth(nth)
            .map(|(i, _)| i)
        else {
            return;
        };
        let Some(tagged) = self.pending.get_mut(self.trace_base + origin) else {
            return;
        };
        let Some(failure) = catalog.templates.get(tagged.template).map(|t| t.failure) else {
            return;
        };
        let span = &mut tagged.span;
        span.status = Some(Status {
            message: failure.message.to_owned(),
            code: StatusCode::Error as i32,
        });
        span.attributes
            .push(kv_str("error.type", failure.exception_type));
        mark_status_codes(span);
        span.events.push(Event {
            time_unix_nano: span.end_time_unix_nano,
            name: "exception".to_owned(),
            attributes: vec![
                kv_str("exception.type", failure.exception_type),
                kv_str("exception.message", failure.message),
                kv_str("exception.stacktrace", failure.stacktrace),
            ],
            dropped_attributes_count: 0,
        });

        let mut child = origin;
        while let Some(Some(parent)) = self.parents.get(child).copied() {
            // A consumer runs asynchronously: its failure does not fail the producer.
            if self
                .pending
                .get(self.trace_base + child)
                .is_some_and(|c| c.span.kind == SpanKind::Consumer as i32)
            {
                break;
            }
            let Some(tagged) = self.pending.get_mut(self.trace_base + parent) else {
                break;
            };
            let span = &mut tagged.span;
            let is_http = span
                .attributes
                .iter()
                .any(|a| a.key == "http.response.status_code");
            // HTTP spans leave the description empty: the status code says it all.
            let message = if is_http {
                String::new()
            } else {
                failure.message.to_owned()
            };
            span.status = Some(Status {
                message,
                code: StatusCode::Error as i32,
            });
            let error_type = if is_http {
                "500"
            } else {
                failure.exception_type
            };
            span.attributes
                .push(kv_string("error.type", error_type.to_owned()));
            mark_status_codes(span);
            child = parent;
        }
    }
}

/// Rewrites the protocol status attributes of a failed span.
fn mark_status_codes(span: &mut Span) {
    for attribute in &mut span.attributes {
        let code = match attribute.key.as_str() {
            "http.response.status_code" => 500,
            // INTERNAL
            "rpc.grpc.status_code" => 13,
            _ => continue,
        };
        attribute.value = Some(AnyValue {
            value: Some(Value::IntValue(code)),
        });
    }
}
