//! A tower [`Layer`] that propagates trace context and records mesh facts on HTTP/gRPC spans.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Method, Request, Response, Version};
use opentelemetry::{
    Context, KeyValue,
    context::{FutureExt, WithContext},
    propagation::TextMapPropagator,
    trace::{SpanKind, Status, TraceContextExt, Tracer},
};
use tower::{Layer, Service};

use crate::PeerIdentity;
use crate::attributes::{
    MeshLabels, context_attributes, header_attributes, label_attributes, peer_attributes,
};
use crate::flagged_span;
use crate::headers::{HeaderExtractor, HeaderInjector};

/// Resolves the route template (`/users/{id}`) of a request, for the span name and `http.route`.
pub type RouteResolver = Arc<dyn Fn(&http::request::Parts) -> Option<String> + Send + Sync>;

/// The route template of a request, for routers that can put it in the request extensions before
/// the layer runs. Used when no [`RouteResolver`] is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshRoute(pub String);

/// Wraps a service so each request gets a span named `{METHOD} {route}` (HTTP semantic
/// conventions; gRPC calls are named `{package.Service}/{Method}` with `rpc.*` attributes) with
/// mesh facts as attributes.
///
/// * [`MeshTraceLayer::server`] extracts the caller's context from the request headers, starts a
///   server span, puts the span's [`Context`] in the request extensions, and attaches it while the
///   inner service is polled.
/// * [`MeshTraceLayer::client`] starts a client span under the [`Context`] found in the request
///   extensions (or the current one) and injects it into the outgoing headers.
///
/// A [`PeerIdentity`] in the request extensions becomes `tls.client.*` / `tls.server.*` and
/// `mesh.peer.*` attributes.
///
/// The span's context carries W3C Trace Context Level 2's `random-trace-id` flag as the
/// specification requires: the caller's flag when the span continues a trace (also when the
/// sampler drops the span, which in `opentelemetry_sdk` would otherwise clear every flag), and the
/// flag set on new root spans unless [`MeshTraceLayer::with_random_trace_ids`] says the ID
/// generator is not random.
pub struct MeshTraceLayer<T> {
    tracer: Arc<T>,
    propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    kind: SpanKind,
    route: Option<RouteResolver>,
    labels: Arc<MeshLabels>,
    random_trace_ids: bool,
}

impl<T> Clone for MeshTraceLayer<T> {
    fn clone(&self) -> Self {
        Self {
            tracer: Arc::clone(&self.tracer),
            propagator: Arc::clone(&self.propagator),
            kind: self.kind.clone(),
            route: self.route.clone(),
            labels: Arc::clone(&self.labels),
            random_trace_ids: self.random_trace_ids,
        }
    }
}

impl<T> fmt::Debug for MeshTraceLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshTraceLayer")
            .field("kind", &self.kind)
            .field("propagator", &self.propagator)
            .field("labels", &self.labels)
            .field("random_trace_ids", &self.random_trace_ids)
            .finish_non_exhaustive()
    }
}

impl<T> MeshTraceLayer<T> {
    fn new(
        tracer: T,
        propagator: impl TextMapPropagator + Send + Sync + 'static,
        kind: SpanKind,
    ) -> Self {
        Self {
            tracer: Arc::new(tracer),
            propagator: Arc::new(propagator),
            kind,
            route: None,
            labels: Arc::new(MeshLabels::default()),
            random_trace_ids: true,
        }
    }

    /// A layer for servers: extract, then start a [`SpanKind::Server`] span.
    pub fn server(tracer: T, propagator: impl TextMapPropagator + Send + Sync + 'static) -> Self {
        Self::new(tracer, propagator, SpanKind::Server)
    }

    /// A layer for clients: start a [`SpanKind::Client`] span, then inject.
    pub fn client(tracer: T, propagator: impl TextMapPropagator + Send + Sync + 'static) -> Self {
        Self::new(tracer, propagator, SpanKind::Client)
    }

    /// Sets how the route template is found (default: a [`MeshRoute`] request extension).
    pub fn with_route_resolver(
        mut self,
        resolver: impl Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.route = Some(Arc::new(resolver));
        self
    }

    /// Sets where canary, version and A/B-group labels are read from.
    pub fn with_labels(mut self, labels: MeshLabels) -> Self {
        self.labels = Arc::new(labels);
        self
    }

    /// Whether the trace IDs of new root spans are random in their right-most 7 bytes, so the
    /// layer marks those spans with W3C Level 2's `random-trace-id` flag (default: yes).
    ///
    /// The layer cannot see the tracer provider's ID generator. `opentelemetry_sdk`'s default
    /// `RandomIdGenerator` qualifies, and so does X-Ray's (random after its 4-byte timestamp); turn
    /// this off with a generator that is not random there. Spans that continue a trace always carry
    /// the flag they received, whatever this says.
    pub fn with_random_trace_ids(mut self, random: bool) -> Self {
        self.random_trace_ids = random;
        self
    }
}

impl<S, T> Layer<S> for MeshTraceLayer<T> {
    type Service = MeshTraceService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        MeshTraceService {
            inner,
            config: self.clone(),
        }
    }
}

/// The service produced by [`MeshTraceLayer`].
pub struct MeshTraceService<S, T> {
    inner: S,
    config: MeshTraceLayer<T>,
}

impl<S: Clone, T> Clone for MeshTraceService<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for MeshTraceService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshTraceService")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

/// The span-name form of a method: semantic conventions allow the known methods and map anything
/// else to `HTTP` (with `_OTHER` as the attribute value).
fn known_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => return None,
    })
}

/// `(service, method)` of a gRPC call: `content-type: application/grpc*` and a `/pkg.Service/Method`
/// path.
fn grpc_method(parts: &http::request::Parts) -> Option<(String, String)> {
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    if !content_type.starts_with("application/grpc") {
        return None;
    }
    let (service, method) = parts.uri.path().strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then(|| (service.to_owned(), method.to_owned()))
}

/// Semantic conventions: servers mark only UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
/// UNAVAILABLE and DATA_LOSS as errors (the others are the caller's doing); clients mark every
/// non-OK code.
fn grpc_failed(code: i64, server: bool) -> bool {
    if server {
        matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
    } else {
        code != 0
    }
}

fn protocol_version(version: Version) -> Option<&'static str> {
    match version {
        Version::HTTP_09 => Some("0.9"),
        Version::HTTP_10 => Some("1.0"),
        Version::HTTP_11 => Some("1.1"),
        Version::HTTP_2 => Some("2"),
        Version::HTTP_3 => Some("3"),
        _ => None,
    }
}

impl<T> MeshTraceLayer<T> {
    fn route(&self, parts: &http::request::Parts) -> Option<String> {
        match &self.route {
            Some(resolver) => resolver(parts),
            None => parts
                .extensions
                .get::<MeshRoute>()
                .map(|route| route.0.clone()),
        }
    }

    fn request_attributes(
        &self,
        parts: &http::request::Parts,
        route: Option<&str>,
        parent: &Context,
    ) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(16);
        match known_method(&parts.method) {
            Some(method) => attributes.push(KeyValue::new("http.request.method", method)),
            None => {
                attributes.push(KeyValue::new("http.request.method", "_OTHER"));
                attributes.push(KeyValue::new(
                    "http.request.method_original",
                    parts.method.as_str().to_owned(),
                ));
            }
        }
        if let Some(route) = route {
            attributes.push(KeyValue::new("http.route", route.to_owned()));
        }
        if let Some(version) = protocol_version(parts.version) {
            attributes.push(KeyValue::new("network.protocol.version", version));
        }
        if self.kind == SpanKind::Client {
            attributes.push(KeyValue::new("url.full", parts.uri.to_string()));
            if let Some(host) = parts.uri.host() {
                attributes.push(KeyValue::new("server.address", host.to_owned()));
            }
            if let Some(port) = parts.uri.port_u16() {
                attributes.push(KeyValue::new("server.port", i64::from(port)));
            }
        } else {
            attributes.push(KeyValue::new("url.path", parts.uri.path().to_owned()));
            if let Some(scheme) = parts.uri.scheme_str() {
                attributes.push(KeyValue::new("url.scheme", scheme.to_owned()));
            }
            let host = parts
                .headers
                .get(http::header::HOST)
                .and_then(|value| value.to_str().ok())
                .and_then(|host| host.parse::<http::uri::Authority>().ok());
            if let Some(authority) = host {
                attributes.push(KeyValue::new("server.address", authority.host().to_owned()));
                if let Some(port) = authority.port_u16() {
                    attributes.push(KeyValue::new("server.port", i64::from(port)));
                }
            }
        }
        if let Some(agent) = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
        {
            attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
        }
        header_attributes(&parts.headers, &mut attributes);
        label_attributes(&self.labels, &parts.headers, parent, &mut attributes);
        context_attributes(parent, &mut attributes);
        if let Some(peer) = parts.extensions.get::<PeerIdentity>() {
            peer_attributes(peer, self.kind == SpanKind::Server, &mut attributes);
        }
        attributes
    }
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for MeshTraceService<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    T: Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = MeshTraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let (mut parts, body) = request.into_parts();
        let parent = match config.kind {
            SpanKind::Server => config
                .propagator
                .extract_with_context(&Context::new(), &HeaderExtractor(&parts.headers)),
            _ => parts
                .extensions
                .get::<Context>()
                .cloned()
                .unwrap_or_else(Context::current),
        };
        let route = config.route(&parts);
        let grpc = grpc_method(&parts);
        let name = match (&grpc, known_method(&parts.method), &route) {
            (Some((service, method)), _, _) => format!("{service}/{method}"),
            (None, Some(method), Some(route)) => format!("{method} {route}"),
            (None, Some(method), None) => method.to_owned(),
            (None, None, Some(route)) => format!("HTTP {route}"),
            (None, None, None) => "HTTP".to_owned(),
        };
        let mut attributes = config.request_attributes(&parts, route.as_deref(), &parent);
        if let Some((service, method)) = &grpc {
            attributes.push(KeyValue::new("rpc.system", "grpc"));
            attributes.push(KeyValue::new("rpc.service", service.clone()));
            attributes.push(KeyValue::new("rpc.method", method.clone()));
        }
        let builder = config
            .tracer
            .span_builder(name)
            .with_kind(config.kind.clone())
            .with_attributes(attributes);
        let span = config.tracer.build_with_context(builder, &parent);
        let cx = flagged_span::with_span(&parent, span, config.random_trace_ids);
        if config.kind == SpanKind::Client {
            config
                .propagator
                .inject_context(&cx, &mut HeaderInjector(&mut parts.headers));
        }
        parts.extensions.insert(cx.clone());
        let future = self
            .inner
            .call(Request::from_parts(parts, body))
            .with_context(cx.clone());
        MeshTraceFuture {
            inner: future,
            cx,
            server: config.kind == SpanKind::Server,
            grpc: grpc.is_some(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`MeshTraceService`]: ends the span with the response status.
    pub struct MeshTraceFuture<F> {
        #[pin]
        inner: WithContext<F>,
        cx: Context,
        server: bool,
        grpc: bool,
    }
}

impl<F: fmt::Debug> fmt::Debug for MeshTraceFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshTraceFuture")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for MeshTraceFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.inner.poll(task) {
            Poll::Ready(result) => result,
            Poll::Pending => return Poll::Pending,
        };
        let span = this.cx.span();
        match &result {
            Ok(response) => {
                let status = response.status();
                let mut attributes = vec![KeyValue::new(
                    "http.response.status_code",
                    i64::from(status.as_u16()),
                )];
                header_attributes(response.headers(), &mut attributes);
                // Servers own 5xx; for clients every 4xx/5xx is a failed call.
                let http_failed =
                    status.is_server_error() || (!*this.server && status.is_client_error());
                // gRPC puts its status in trailers, except for "trailers-only" responses (most
                // errors), where it is a header; only that case is visible without buffering.
                let grpc_status = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.parse::<i64>().ok())
                    .filter(|_| *this.grpc);
                let grpc_failed = grpc_status.is_some_and(|code| grpc_failed(code, *this.server));
                if let Some(code) = grpc_status {
                    attributes.push(KeyValue::new("rpc.grpc.status_code", code));
                }
                if http_failed {
                    attributes.push(KeyValue::new("error.type", status.as_str().to_owned()));
                } else if let (true, Some(code)) = (grpc_failed, grpc_status) {
                    attributes.push(KeyValue::new("error.type", code.to_string()));
                }
                if http_failed || grpc_failed {
                    span.set_status(Status::error(""));
                }
                span.set_attributes(attributes);
            }
            Err(_) => {
                span.set_attribute(KeyValue::new("error.type", std::any::type_name::<E>()));
                span.set_status(Status::error("the inner service failed"));
            }
        }
        span.end();
        Poll::Ready(result)
    }
}
