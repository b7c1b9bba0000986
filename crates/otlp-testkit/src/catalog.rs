//! The simulated shop: services, their resources and instrumentation scopes, the span
//! templates of every operation and the request flows that combine them into traces.
//!
//! Everything here is built once per [`crate::Generator`] so that the hot loop only clones
//! prepared attribute vectors and fills in ids, times and a few dynamic values.

use crate::util::{Latency, array_of_str, kv_int, kv_str, kv_string, push_hex};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub(crate) const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.37.0";

/// Index of a service in [`SERVICES`].
pub(crate) type ServiceId = usize;

pub(crate) const FRONTEND: ServiceId = 0;
pub(crate) const API_GATEWAY: ServiceId = 1;
pub(crate) const CART: ServiceId = 2;
pub(crate) const CHECKOUT: ServiceId = 3;
pub(crate) const PAYMENT: ServiceId = 4;
pub(crate) const SHIPPING: ServiceId = 5;
pub(crate) const CURRENCY: ServiceId = 6;
pub(crate) const PRODUCT_CATALOG: ServiceId = 7;
pub(crate) const RECOMMENDATION: ServiceId = 8;
pub(crate) const EMAIL: ServiceId = 9;
pub(crate) const AD: ServiceId = 10;
pub(crate) const FRAUD_DETECTION: ServiceId = 11;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    NodeJs,
    Go,
    DotNet,
    Rust,
    Cpp,
    Python,
    Ruby,
    Java,
}

impl Language {
    fn sdk(self) -> (&'static str, &'static str) {
        match self {
            Language::NodeJs => ("nodejs", "2.2.0"),
            Language::Go => ("go", "1.38.0"),
            Language::DotNet => ("dotnet", "1.13.1"),
            Language::Rust => ("rust", "0.31.0"),
            Language::Cpp => ("cpp", "1.23.0"),
            Language::Python => ("python", "1.38.0"),
            Language::Ruby => ("ruby", "1.10.0"),
            Language::Java => ("java", "1.55.0"),
        }
    }

    /// Instrumentation library names per scope kind, as the real auto-instrumentations
    /// report them; `None` means the service's own tracer (named after the service).
    fn library(self, kind: ScopeKind) -> Option<(&'static str, &'static str)> {
        use ScopeKind::{Db, Grpc, Http, Messaging};
        let go_contrib = "0.63.0";
        let java_agent = "2.21.0-alpha";
        match (self, kind) {
            (Language::NodeJs, Http) => Some(("@opentelemetry/instrumentation-http", "0.208.0")),
            (Language::NodeJs, Grpc) => Some(("@opentelemetry/instrumentation-grpc", "0.208.0")),
            (Language::Go, Http) => Some((
                "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
                go_contrib,
            )),
            (Language::Go, Grpc) => Some((
                "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
                go_contrib,
            )),
            (Language::Go, Db) => Some(("github.com/XSAM/otelsql", "0.40.0")),
            (Language::Go, Messaging) => Some((
                "go.opentelemetry.io/contrib/instrumentation/github.com/IBM/sarama/otelsarama",
                "0.43.0",
            )),
            (Language::DotNet, Http) => Some(("Microsoft.AspNetCore", "10.0.0")),
            (Language::DotNet, Grpc) => Some(("Grpc.Net.Client", "2.71.0")),
            (Language::DotNet, Db) => Some((
                "OpenTelemetry.Instrumentation.StackExchangeRedis",
                "1.13.0-beta.1",
            )),
            (Language::Rust, Http) => Some(("opentelemetry-instrumentation-actix-web", "0.23.0")),
            (Language::Python, Grpc) => Some(("opentelemetry.instrumentation.grpc", "0.59b0")),
            (Language::Python, Db) => Some(("opentelemetry.instrumentation.psycopg2", "0.59b0")),
            (Language::Ruby, Http) => Some(("OpenTelemetry::Instrumentation::Sinatra", "0.26.0")),
            (Language::Java, Http) => Some(("io.opentelemetry.java-http-client", java_agent)),
            (Language::Java, Grpc) => Some(("io.opentelemetry.grpc-1.6", java_agent)),
            (Language::Java, Db) => Some(("io.opentelemetry.jdbc", java_agent)),
            (Language::Java, Messaging) => {
                Some(("io.opentelemetry.kafka-clients-0.11", java_agent))
            }
            _ => None,
        }
    }
}

/// Which instrumentation produced a span, metric or log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Http = 0,
    Grpc = 1,
    Db = 2,
    Messaging = 3,
    App = 4,
}

pub(crate) const SCOPE_KINDS: usize = 5;

pub(crate) struct ServiceDef {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) language: Language,
    pub(crate) port: i64,
}

pub(crate) const SERVICES: [ServiceDef; 12] = [
    ServiceDef {
        name: "frontend",
        version: "2.1.3",
        language: Language::NodeJs,
        port: 8080,
    },
    ServiceDef {
        name: "api-gateway",
        version: "1.14.0",
        language: Language::Go,
        port: 8081,
    },
    ServiceDef {
        name: "cart",
        version: "2.1.3",
        language: Language::DotNet,
        port: 7070,
    },
    ServiceDef {
        name: "checkout",
        version: "2.1.3",
        language: Language::Go,
        port: 5050,
    },
    ServiceDef {
        name: "payment",
        version: "2.1.3",
        language: Language::NodeJs,
        port: 50051,
    },
    ServiceDef {
        name: "shipping",
        version: "2.1.3",
        language: Language::Rust,
        port: 50050,
    },
    ServiceDef {
        name: "currency",
        version: "2.1.3",
        language: Language::Cpp,
        port: 7001,
    },
    ServiceDef {
        name: "product-catalog",
        version: "2.1.3",
        language: Language::Go,
        port: 3550,
    },
    ServiceDef {
        name: "recommendation",
        version: "2.1.3",
        language: Language::Python,
        port: 9001,
    },
    ServiceDef {
        name: "email",
        version: "2.1.3",
        language: Language::Ruby,
        port: 6060,
    },
    ServiceDef {
        name: "ad",
        version: "2.1.3",
        language: Language::Java,
        port: 9555,
    },
    ServiceDef {
        name: "fraud-detection",
        version: "2.1.3",
        language: Language::Java,
        port: 0,
    },
];

/// Product ids of the OpenTelemetry demo's catalogue.
pub(crate) const PRODUCT_IDS: [&str; 10] = [
    "OLJCESPC7Z",
    "66VCHSJNUP",
    "1YMWWN1N4O",
    "L9ECAV7KIM",
    "2ZYFJ3GM2N",
    "0PUK6V6EV0",
    "LS4PSXUNUM",
    "9SIQT8TOJO",
    "6E92ZMYYFZ",
    "HQTGWGPNH4",
];

const USER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0",
    "shop-mobile/4.12.0 (Android 15; Pixel 8)",
];

const FEATURE_FLAG_SETS: [&[&str]; 4] = [
    &["new-checkout"],
    &["new-checkout", "recommendation-cache"],
    &["dark-mode"],
    &["recommendation-cache", "free-shipping-banner", "dark-mode"],
];

/// Dynamic attributes that a span template asks for; their values vary per span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extra {
    /// `url.path` with a product id and `app.product.id`.
    ProductPath,
    UserId,
    UserAgent,
    ClientAddress,
    CartItems,
    OrderAmount,
    FeatureFlags,
    /// `app.cache.hit`, with a "cache miss" event when false.
    CacheLookup,
    /// Occasionally a "retry" event.
    Retry,
    /// `messaging.kafka.offset`.
    KafkaOffset,
    /// `http.request.body.size`.
    RequestBodySize,
    /// `http.response.body.size`.
    ResponseBodySize,
    /// The "message" events that Go's otelgrpc records for the request and the response.
    RpcMessages,
    /// `db.response.returned_rows`.
    ReturnedRows,
}

/// What a failure that starts at this span looks like.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) exception_type: &'static str,
    pub(crate) message: &'static str,
    pub(crate) stacktrace: &'static str,
}

pub(crate) struct SpanTemplate {
    pub(crate) service: ServiceId,
    pub(crate) scope: ScopeKind,
    pub(crate) name: String,
    pub(crate) kind: SpanKind,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) extras: Vec<Extra>,
    /// Time the span spends on its own work, after its children.
    pub(crate) self_time: Latency,
    /// The parent lives in another process (server and consumer spans).
    pub(crate) remote_parent: bool,
    /// Messaging consumers link to the producer span as well as being its child.
    pub(crate) link_to_parent: bool,
    pub(crate) failure: &'static Failure,
}

pub(crate) struct Node {
    pub(crate) template: usize,
    pub(crate) calls: Vec<Call>,
    /// Children run concurrently (fan-out) instead of one after the other.
    pub(crate) parallel: bool,
}

pub(crate) struct Call {
    pub(crate) node: Node,
    pub(crate) probability: f64,
    pub(crate) min: u32,
    pub(crate) max: u32,
}

pub(crate) struct Flow {
    pub(crate) weight: u32,
    pub(crate) root: Node,
}

pub(crate) struct ServiceRuntime {
    pub(crate) resource: Resource,
    pub(crate) scopes: [InstrumentationScope; SCOPE_KINDS],
}

pub(crate) struct Catalog {
    pub(crate) services: Vec<ServiceRuntime>,
    pub(crate) templates: Vec<SpanTemplate>,
    pub(crate) flows: Vec<Flow>,
    pub(crate) total_weight: u32,
    pub(crate) series: Vec<crate::metrics::Series>,
    pub(crate) user_ids: Vec<AnyValue>,
    pub(crate) product_ids: Vec<AnyValue>,
    pub(crate) product_paths: Vec<AnyValue>,
    pub(crate) user_agents: Vec<AnyValue>,
    pub(crate) client_addresses: Vec<AnyValue>,
    pub(crate) feature_flags: Vec<AnyValue>,
    /// Small latencies: the gap before a child starts, the network hop of a call.
    pub(crate) gap: Latency,
    pub(crate) network: Latency,
    pub(crate) trace_interval: Latency,
}

static DB_FAILURE: Failure = Failure {
    exception_type: "*pgconn.PgError",
    message: "ERROR: canceling statement due to statement timeout (SQLSTATE 57014)",
    stacktrace: "goroutine 2147 [running]:\ngithub.com/jackc/pgx/v5/pgconn.(*PgConn).receiveMessage(0xc0004a2000)\n\t/go/pkg/mod/github.com/jackc/pgx/v5@v5.7.5/pgconn/pgconn.go:540 +0x1c5\nmain.(*productCatalog).GetProduct(0xc000136000, {0x1a2b3c0, 0xc0003f2a80}, 0xc0002e8140)\n\t/usr/src/app/main.go:312 +0x2a5",
};

static REDIS_FAILURE: Failure = Failure {
    exception_type: "StackExchange.Redis.RedisConnectionException",
    message: "No connection is active/available to service this operation: HGETALL; UnableToConnect on valkey-cart:6379/Interactive",
    stacktrace: "StackExchange.Redis.RedisConnectionException: No connection is active/available to service this operation: HGETALL\n   at StackExchange.Redis.ConnectionMultiplexer.ExecuteSyncImpl[T](Message message, ResultProcessor`1 processor, ServerEndPoint server)\n   at cart.cartstore.ValkeyCartStore.GetCartAsync(String userId) in /usr/src/app/src/cartstore/ValkeyCartStore.cs:line 221",
};

static PAYMENT_FAILURE: Failure = Failure {
    exception_type: "Error",
    message: "Payment request failed. Invalid token. app.loyalty.level=gold",
    stacktrace: "Error: Payment request failed. Invalid token. app.loyalty.level=gold\n    at module.exports.charge (/usr/src/app/charge.js:37:13)\n    at async Object.chargeServiceHandler [as charge] (/usr/src/app/index.js:21:22)",
};

static JAVA_FAILURE: Failure = Failure {
    exception_type: "io.grpc.StatusRuntimeException",
    message: "RESOURCE_EXHAUSTED: ad service cache full",
    stacktrace: "io.grpc.StatusRuntimeException: RESOURCE_EXHAUSTED: ad service cache full\n\tat io.grpc.Status.asRuntimeException(Status.java:532)\n\tat oteldemo.AdService$AdServiceImpl.getAds(AdService.java:176)\n\tat oteldemo.AdServiceGrpc$MethodHandlers.invoke(AdServiceGrpc.java:310)",
};

static RUST_FAILURE: Failure = Failure {
    exception_type: "reqwest::Error",
    message: "error sending request for url (http://quote:8090/getquote): operation timed out",
    stacktrace: "reqwest::Error { kind: Request, url: \"http://quote:8090/getquote\", source: TimedOut }\n   0: shipping::quote::request_quote\n             at ./src/quote.rs:41:14\n   1: shipping::shipping_service::get_quote\n             at ./src/shipping_service.rs:27:21",
};

static PYTHON_FAILURE: Failure = Failure {
    exception_type: "grpc._channel._InactiveRpcError",
    message: "<_InactiveRpcError of RPC that terminated with: status = StatusCode.UNAVAILABLE details = \"failed to connect to all addresses\">",
    stacktrace: "Traceback (most recent call last):\n  File \"/app/recommendation_server.py\", line 58, in ListRecommendations\n    prod_list = get_product_list(request.product_ids)\n  File \"/app/recommendation_server.py\", line 97, in get_product_list\n    cat_response = product_catalog_stub.ListProducts(demo_pb2.Empty())\ngrpc._channel._InactiveRpcError: StatusCode.UNAVAILABLE",
};

static GENERIC_FAILURE: Failure = Failure {
    exception_type: "std::runtime_error",
    message: "internal error: upstream connect error or disconnect/reset before headers",
    stacktrace: "std::runtime_error: internal error: upstream connect error or disconnect/reset before headers\n    at CurrencyService::Convert(grpc::ServerContext*, oteldemo::CurrencyConversionRequest const*, oteldemo::Money*) (/currency/src/server.cpp:160)",
};

fn failure_for(service: ServiceId, scope: ScopeKind) -> &'static Failure {
    match (SERVICES.get(service).map(|s| s.language), scope) {
        (_, ScopeKind::Db) if service == CART => &REDIS_FAILURE,
        (_, ScopeKind::Db) => &DB_FAILURE,
        (Some(Language::NodeJs), _) => &PAYMENT_FAILURE,
        (Some(Language::Java), _) => &JAVA_FAILURE,
        (Some(Language::Rust), _) => &RUST_FAILURE,
        (Some(Language::Python), _) => &PYTHON_FAILURE,
        _ => &GENERIC_FAILURE,
    }
}

fn service_name(service: ServiceId) -> &'static str {
    SERVICES.get(service).map_or("unknown", |s| s.name)
}

fn service_port(service: ServiceId) -> i64 {
    SERVICES.get(service).map_or(80, |s| s.port)
}

fn is_go(service: ServiceId) -> bool {
    SERVICES
        .get(service)
        .is_some_and(|s| s.language == Language::Go)
}

/// The pod address of a service inside the cluster network.
fn pod_ip(service: ServiceId) -> String {
    format!("10.42.{}.{}", service % 4, 20 + service * 9)
}

/// The ephemeral port a service's outgoing connections come from.
fn ephemeral_port(service: ServiceId) -> i64 {
    40_000 + 131 * service as i64
}

const LOAD_BALANCER_IP: &str = "10.0.12.7";
const POSTGRES_IP: &str = "10.42.9.14";
const VALKEY_IP: &str = "10.42.9.31";

fn call(node: Node) -> Call {
    Call {
        node,
        probability: 1.0,
        min: 1,
        max: 1,
    }
}

fn maybe(node: Node, probability: f64) -> Call {
    Call {
        node,
        probability,
        min: 1,
        max: 1,
    }
}

fn repeat(node: Node, min: u32, max: u32) -> Call {
    Call {
        node,
        probability: 1.0,
        min,
        max,
    }
}

fn leaf(template: usize) -> Node {
    Node {
        template,
        calls: Vec::new(),
        parallel: false,
    }
}

fn node(template: usize, calls: Vec<Call>) -> Node {
    Node {
        template,
        calls,
        parallel: false,
    }
}

fn fan_out(template: usize, calls: Vec<Call>) -> Node {
    Node {
        template,
        calls,
        parallel: true,
    }
}

/// Collects span templates while the flows are described.
struct Builder {
    templates: Vec<SpanTemplate>,
    fast: Latency,
    internal: Latency,
    postgres: Latency,
    redis: Latency,
    slow: Latency,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        service: ServiceId,
        scope: ScopeKind,
        name: String,
        kind: SpanKind,
        attributes: Vec<KeyValue>,
        extras: Vec<Extra>,
        self_time: Latency,
    ) -> usize {
        let remote_parent = matches!(kind, SpanKind::Server | SpanKind::Consumer);
        self.templates.push(SpanTemplate {
            service,
            scope,
            name,
            kind,
            attributes,
            extras,
            self_time,
            remote_parent,
            link_to_parent: kind == SpanKind::Consumer,
            failure: failure_for(service, scope),
        });
        self.templates.len() - 1
    }

    fn http_server(
        &mut self,
        service: ServiceId,
        method: &str,
        route: &str,
        edge: bool,
        extras: Vec<Extra>,
    ) -> usize {
        let mut attributes = vec![
            kv_str("http.request.method", method),
            kv_str("http.route", route),
            kv_int("http.response.status_code", 200),
            kv_str("network.protocol.version", if edge { "2" } else { "1.1" }),
        ];
        if edge {
            attributes.push(kv_str("url.scheme", "https"));
            attributes.push(kv_str("server.address", "shop.example.com"));
            attributes.push(kv_int("server.port", 443));
        } else {
            attributes.push(kv_str("url.scheme", "http"));
            attributes.push(kv_str("server.address", service_name(service)));
            attributes.push(kv_int("server.port", service_port(service)));
        }
        if !extras.contains(&Extra::ProductPath) {
            attributes.push(kv_str("url.path", route));
        }
        if edge {
            attributes.push(kv_str("network.peer.address", LOAD_BALANCER_IP));
            attributes.push(kv_int("network.peer.port", 51_234));
        }
        let mut extras = extras;
        extras.push(Extra::ResponseBodySize);
        if method == "POST" {
            extras.push(Extra::RequestBodySize);
        }
        let name = [method, " ", route].concat();
        let fast = self.fast;
        self.push(
            service,
            ScopeKind::Http,
            name,
            SpanKind::Server,
            attributes,
            extras,
            fast,
        )
    }

    fn http_client(&mut self, from: ServiceId, to: ServiceId, method: &str, path: &str) -> usize {
        let peer = service_name(to);
        let port = service_port(to);
        let mut url = String::with_capacity(64);
        url.push_str("http://");
        url.push_str(peer);
        url.push(':');
        url.push_str(&port.to_string());
        url.push_str(path);
        let attributes = vec![
            kv_str("http.request.method", method),
            kv_string("url.full", url),
            kv_str("server.address", peer),
            kv_int("server.port", port),
            kv_str("network.protocol.version", "1.1"),
            kv_int("http.response.status_code", 200),
            kv_string("network.peer.address", pod_ip(to)),
            kv_int("network.peer.port", port),
        ];
        let name = [method, " ", path].concat();
        let fast = self.fast;
        self.push(
            from,
            ScopeKind::Http,
            name,
            SpanKind::Client,
            attributes,
            vec![Extra::Retry],
            fast,
        )
    }

    fn grpc(
        &mut self,
        service: ServiceId,
        peer: ServiceId,
        rpc_service: &str,
        method: &str,
        kind: SpanKind,
    ) -> usize {
        let mut attributes = vec![
            kv_str("rpc.system", "grpc"),
            kv_str("rpc.service", rpc_service),
            kv_str("rpc.method", method),
            kv_int("rpc.grpc.status_code", 0),
        ];
        let mut extras = Vec::new();
        if kind == SpanKind::Client {
            attributes.push(kv_str("server.address", service_name(peer)));
            attributes.push(kv_int("server.port", service_port(peer)));
            attributes.push(kv_str("network.protocol.version", "2"));
            attributes.push(kv_string("network.peer.address", pod_ip(peer)));
            attributes.push(kv_int("network.peer.port", service_port(peer)));
            extras.push(Extra::Retry);
        } else {
            // For a server span `peer` is the caller.
            attributes.push(kv_str("server.address", service_name(service)));
            attributes.push(kv_int("server.port", service_port(service)));
            attributes.push(kv_string("network.peer.address", pod_ip(peer)));
            attributes.push(kv_int("network.peer.port", ephemeral_port(peer)));
        }
        attributes.push(kv_str("network.transport", "tcp"));
        attributes.push(kv_str("network.type", "ipv4"));
        if is_go(service) {
            extras.push(Extra::RpcMessages);
        }
        let name = [rpc_service, "/", method].concat();
        let fast = self.fast;
        self.push(
            service,
            ScopeKind::Grpc,
            name,
            kind,
            attributes,
            extras,
            fast,
        )
    }

    fn postgres(&mut self, service: ServiceId, operation: &str, table: &str, query: &str) -> usize {
        let attributes = vec![
            kv_str("db.system.name", "postgresql"),
            kv_str("db.namespace", "shop"),
            kv_str("db.operation.name", operation),
            kv_str("db.collection.name", table),
            kv_str("db.query.text", query),
            kv_str("server.address", "postgres"),
            kv_int("server.port", 5432),
            kv_str("network.peer.address", POSTGRES_IP),
            kv_int("network.peer.port", 5432),
        ];
        let name = [operation, " ", table].concat();
        let latency = self.postgres;
        self.push(
            service,
            ScopeKind::Db,
            name,
            SpanKind::Client,
            attributes,
            vec![Extra::ReturnedRows],
            latency,
        )
    }

    fn redis(&mut self, service: ServiceId, operation: &str, cached: bool) -> usize {
        let mut query = String::with_capacity(24);
        query.push_str(operation);
        query.push_str(" ?");
        let attributes = vec![
            kv_str("db.system.name", "redis"),
            kv_str("db.namespace", "0"),
            kv_str("db.operation.name", operation),
            kv_string("db.query.text", query),
            kv_str("server.address", "valkey-cart"),
            kv_int("server.port", 6379),
            kv_str("network.peer.address", VALKEY_IP),
            kv_int("network.peer.port", 6379),
        ];
        let extras = if cached {
            vec![Extra::CacheLookup]
        } else {
            Vec::new()
        };
        let latency = self.redis;
        self.push(
            service,
            ScopeKind::Db,
            operation.to_owned(),
            SpanKind::Client,
            attributes,
            extras,
            latency,
        )
    }

    /// Marks a template as waiting on something slow outside the shop (card processor, SMTP).
    fn make_slow(&mut self, template: usize) {
        let slow = self.slow;
        if let Some(t) = self.templates.get_mut(template) {
            t.self_time = slow;
        }
    }

    fn internal(
        &mut self,
        service: ServiceId,
        name: &str,
        function: &str,
        file: &str,
        line: i64,
        extras: Vec<Extra>,
    ) -> usize {
        let attributes = vec![
            kv_str("code.function.name", function),
            kv_str("code.file.path", file),
            kv_int("code.line.number", line),
        ];
        let latency = self.internal;
        self.push(
            service,
            ScopeKind::App,
            name.to_owned(),
            SpanKind::Internal,
            attributes,
            extras,
            latency,
        )
    }

    fn messaging(&mut self, service: ServiceId, topic: &str, kind: SpanKind) -> usize {
        let (operation, op_type) = if kind == SpanKind::Producer {
            ("publish", "send")
        } else {
            ("process", "process")
        };
        let mut attributes = vec![
            kv_str("messaging.system", "kafka"),
            kv_str("messaging.destination.name", topic),
            kv_str("messaging.operation.type", op_type),
            kv_str("messaging.operation.name", operation),
            kv_str("messaging.destination.partition.id", "0"),
            kv_str("server.address", "kafka"),
            kv_int("server.port", 9092),
        ];
        let mut extras = vec![Extra::KafkaOffset];
        if kind == SpanKind::Consumer {
            attributes.push(kv_str(
                "messaging.consumer.group.name",
                service_name(service),
            ));
        } else {
            extras.push(Extra::OrderAmount);
        }
        let name = [operation, " ", topic].concat();
        let fast = self.fast;
        self.push(
            service,
            ScopeKind::Messaging,
            name,
            kind,
            attributes,
            extras,
            fast,
        )
    }

    /// A gRPC call: the client span in `from` and the server span in `to` under it.
    fn grpc_call(
        &mut self,
        from: ServiceId,
        to: ServiceId,
        rpc_service: &str,
        method: &str,
        server_calls: Vec<Call>,
    ) -> Node {
        let client = self.grpc(from, to, rpc_service, method, SpanKind::Client);
        let server = self.grpc(to, from, rpc_service, method, SpanKind::Server);
        node(client, vec![call(node(server, server_calls))])
    }

    fn http_call(
        &mut self,
        from: ServiceId,
        to: ServiceId,
        method: &str,
        path: &str,
        server_calls: Vec<Call>,
    ) -> Node {
        let client = self.http_client(from, to, method, path);
        let server = self.http_server(to, method, path, false, Vec::new());
        if let Some(template) = self.templates.get_mut(server) {
            template
                .attributes
                .push(kv_string("network.peer.address", pod_ip(from)));
            template
                .attributes
                .push(kv_int("network.peer.port", ephemeral_port(from)));
        }
        node(client, vec![call(node(server, server_calls))])
    }

    fn get_product(&mut self, from: ServiceId) -> Node {
        let select = self.postgres(
            PRODUCT_CATALOG,
            "SELECT",
            "products",
            "SELECT id, name, description, picture, price_currency_code, price_units, price_nanos, categories FROM catalog.products WHERE id = $1",
        );
        self.grpc_call(
            from,
            PRODUCT_CATALOG,
            "oteldemo.ProductCatalogService",
            "GetProduct",
            vec![call(leaf(select))],
        )
    }

    fn list_products(&mut self, from: ServiceId) -> Node {
        let select = self.postgres(
            PRODUCT_CATALOG,
            "SELECT",
            "products",
            "SELECT id, name, description, picture, price_currency_code, price_units, price_nanos, categories FROM catalog.products",
        );
        self.grpc_call(
            from,
            PRODUCT_CATALOG,
            "oteldemo.ProductCatalogService",
            "ListProducts",
            vec![call(leaf(select))],
        )
    }

    fn convert(&mut self, from: ServiceId) -> Node {
        let work = self.internal(
            CURRENCY,
            "convert",
            "CurrencyService::Convert",
            "/currency/src/server.cpp",
            142,
            Vec::new(),
        );
        self.grpc_call(
            from,
            CURRENCY,
            "oteldemo.CurrencyService",
            "Convert",
            vec![call(leaf(work))],
        )
    }

    fn recommendations(&mut self, from: ServiceId) -> Node {
        let products = self.list_products(RECOMMENDATION);
        let work = self.internal(
            RECOMMENDATION,
            "get_product_list",
            "get_product_list",
            "/app/recommendation_server.py",
            91,
            vec![Extra::FeatureFlags],
        );
        self.grpc_call(
            from,
            RECOMMENDATION,
            "oteldemo.RecommendationService",
            "ListRecommendations",
            vec![call(node(work, vec![call(products)]))],
        )
    }

    fn ads(&mut self, from: ServiceId) -> Node {
        let work = self.internal(
            AD,
            "getAdsByCategory",
            "oteldemo.AdService$AdServiceImpl.getAdsByCategory",
            "oteldemo/AdService.java",
            221,
            Vec::new(),
        );
        self.grpc_call(
            from,
            AD,
            "oteldemo.AdService",
            "GetAds",
            vec![call(leaf(work))],
        )
    }

    fn get_cart(&mut self, from: ServiceId) -> Node {
        let read = self.redis(CART, "HGETALL", false);
        let expire = self.redis(CART, "EXPIRE", false);
        self.grpc_call(
            from,
            CART,
            "oteldemo.CartService",
            "GetCart",
            vec![call(leaf(read)), maybe(leaf(expire), 0.3)],
        )
    }

    fn flows(&mut self) -> Vec<Flow> {
        use Extra::{
            CartItems, ClientAddress, FeatureFlags, OrderAmount, ProductPath, UserAgent, UserId,
        };
        let mut flows = Vec::new();

        // Product page: the frontend fans out to the catalogue, prices, recommendations and ads.
        let root = self.http_server(
            FRONTEND,
            "GET",
            "/api/products/{id}",
            true,
            vec![ProductPath, UserAgent, ClientAddress, UserId],
        );
        let product = self.get_product(FRONTEND);
        let convert = self.convert(FRONTEND);
        let recommend = self.recommendations(FRONTEND);
        let ads = self.ads(FRONTEND);
        flows.push(Flow {
            weight: 30,
            root: fan_out(
                root,
                vec![
                    call(product),
                    repeat(convert, 1, 2),
                    call(recommend),
                    maybe(ads, 0.7),
                ],
            ),
        });

        // Cart page.
        let root = self.http_server(
            FRONTEND,
            "GET",
            "/api/cart",
            true,
            vec![UserAgent, ClientAddress, UserId, CartItems],
        );
        let cart = self.get_cart(FRONTEND);
        let convert = self.convert(FRONTEND);
        let recommend = self.recommendations(FRONTEND);
        flows.push(Flow {
            weight: 20,
            root: node(
                root,
                vec![call(cart), repeat(convert, 1, 3), maybe(recommend, 0.5)],
            ),
        });

        // Add to cart.
        let root = self.http_server(
            FRONTEND,
            "POST",
            "/api/cart",
            true,
            vec![UserAgent, ClientAddress, UserId, CartItems],
        );
        let product = self.get_product(FRONTEND);
        let read = self.redis(CART, "HGET", false);
        let write = self.redis(CART, "HSET", false);
        let expire = self.redis(CART, "EXPIRE", false);
        let add = self.grpc_call(
            FRONTEND,
            CART,
            "oteldemo.CartService",
            "AddItem",
            vec![call(leaf(read)), call(leaf(write)), call(leaf(expire))],
        );
        flows.push(Flow {
            weight: 15,
            root: node(root, vec![call(product), call(add)]),
        });

        // Checkout: the longest trace, with a Kafka hop to fraud detection.
        let root = self.http_server(
            FRONTEND,
            "POST",
            "/api/checkout",
            true,
            vec![UserAgent, ClientAddress, UserId, CartItems, FeatureFlags],
        );
        let cart = self.get_cart(CHECKOUT);
        let product = self.get_product(CHECKOUT);
        let convert = self.convert(CHECKOUT);
        let quote_work = self.internal(
            SHIPPING,
            "calculate_quote",
            "shipping::quote::create_quote_from_count",
            "src/shipping_service/quote.rs",
            28,
            vec![CartItems],
        );
        let quote = self.http_call(
            CHECKOUT,
            SHIPPING,
            "POST",
            "/get-quote",
            vec![call(leaf(quote_work))],
        );
        let charge_work = self.internal(
            PAYMENT,
            "charge",
            "chargeServiceHandler",
            "/usr/src/app/charge.js",
            18,
            vec![OrderAmount],
        );
        self.make_slow(charge_work);
        let charge = self.grpc_call(
            CHECKOUT,
            PAYMENT,
            "oteldemo.PaymentService",
            "Charge",
            vec![call(leaf(charge_work))],
        );
        let ship_work = self.internal(
            SHIPPING,
            "create_tracking_id",
            "shipping::tracking::create_tracking_id",
            "src/shipping_service/tracking.rs",
            12,
            Vec::new(),
        );
        let ship = self.http_call(
            CHECKOUT,
            SHIPPING,
            "POST",
            "/ship-order",
            vec![call(leaf(ship_work))],
        );
        let delete = self.redis(CART, "DEL", false);
        let empty = self.grpc_call(
            CHECKOUT,
            CART,
            "oteldemo.CartService",
            "EmptyCart",
            vec![call(leaf(delete))],
        );
        let email_work = self.internal(
            EMAIL,
            "send_email",
            "send_email",
            "/email_server/email_server.rb",
            57,
            Vec::new(),
        );
        self.make_slow(email_work);
        let email = self.http_call(
            CHECKOUT,
            EMAIL,
            "POST",
            "/send_order_confirmation",
            vec![call(leaf(email_work))],
        );
        let score = self.internal(
            FRAUD_DETECTION,
            "score order",
            "frauddetection.FraudDetectionKt.scoreOrder",
            "frauddetection/main.kt",
            74,
            vec![OrderAmount],
        );
        let insert = self.postgres(FRAUD_DETECTION, "INSERT", "orders", "INSERT INTO fraud.orders (order_id, user_id, amount, score, created_at) VALUES ($1, $2, $3, $4, now())");
        let consume = self.messaging(FRAUD_DETECTION, "orders", SpanKind::Consumer);
        let produce = self.messaging(CHECKOUT, "orders", SpanKind::Producer);
        let publish = node(
            produce,
            vec![call(node(
                consume,
                vec![call(leaf(score)), call(leaf(insert))],
            ))],
        );
        let place_order = self.grpc(
            FRONTEND,
            CHECKOUT,
            "oteldemo.CheckoutService",
            "PlaceOrder",
            SpanKind::Client,
        );
        let place_order_server = self.grpc(
            CHECKOUT,
            FRONTEND,
            "oteldemo.CheckoutService",
            "PlaceOrder",
            SpanKind::Server,
        );
        let prepare = self.internal(
            CHECKOUT,
            "prepareOrderItemsAndShippingQuoteFromCart",
            "main.(*checkout).prepareOrderItemsAndShippingQuoteFromCart",
            "/usr/src/app/main.go",
            372,
            vec![CartItems],
        );
        let order = node(
            place_order_server,
            vec![
                call(node(
                    prepare,
                    vec![
                        call(cart),
                        repeat(product, 1, 4),
                        repeat(convert, 1, 3),
                        call(quote),
                    ],
                )),
                call(charge),
                call(ship),
                call(empty),
                call(email),
                call(publish),
            ],
        );
        let place_order = node(place_order, vec![call(order)]);
        flows.push(Flow {
            weight: 10,
            root: node(root, vec![call(place_order)]),
        });

        // Mobile API through the gateway, with a read-through cache in front of the catalogue.
        let root = self.http_server(
            API_GATEWAY,
            "GET",
            "/api/v2/products",
            true,
            vec![UserAgent, ClientAddress, UserId],
        );
        let cache = self.redis(API_GATEWAY, "GET", true);
        let products = self.list_products(API_GATEWAY);
        let convert = self.convert(API_GATEWAY);
        flows.push(Flow {
            weight: 15,
            root: node(
                root,
                vec![
                    call(leaf(cache)),
                    maybe(products, 0.3),
                    repeat(convert, 1, 2),
                ],
            ),
        });

        // Home page: ads, the product list and many price conversions in parallel.
        let root = self.http_server(
            FRONTEND,
            "GET",
            "/",
            true,
            vec![UserAgent, ClientAddress, FeatureFlags],
        );
        let ads = self.ads(FRONTEND);
        let products = self.list_products(FRONTEND);
        let convert = self.convert(FRONTEND);
        let render = self.internal(
            FRONTEND,
            "render home",
            "Home.getServerSideProps",
            "pages/index.tsx",
            44,
            Vec::new(),
        );
        flows.push(Flow {
            weight: 10,
            root: fan_out(
                root,
                vec![
                    call(ads),
                    call(products),
                    repeat(convert, 2, 5),
                    call(leaf(render)),
                ],
            ),
        });

        flows
    }
}

fn uuid_like(rng: &mut ChaCha8Rng) -> String {
    let high: u64 = rng.random();
    let low: u64 = rng.random();
    let mut s = String::with_capacity(36);
    push_hex(&mut s, high >> 32, 8);
    s.push('-');
    push_hex(&mut s, (high >> 16) & 0xffff, 4);
    s.push('-');
    // Version 4, variant 1, as a real SDK's random instance id would be.
    push_hex(&mut s, 0x4000 | (high & 0x0fff), 4);
    s.push('-');
    push_hex(&mut s, 0x8000 | (low >> 48 & 0x3fff), 4);
    s.push('-');
    push_hex(&mut s, low, 12);
    s
}

fn service_runtime(index: ServiceId, def: &ServiceDef, rng: &mut ChaCha8Rng) -> ServiceRuntime {
    let (sdk_language, sdk_version) = def.language.sdk();
    let zone = ["eu-west-1a", "eu-west-1b", "eu-west-1c"][index % 3];
    let subnet = index % 3;
    let host_octet: u8 = rng.random_range(10..250);
    let host = format!("ip-10-0-{subnet}-{host_octet}.eu-west-1.compute.internal");
    let mut pod_hash = String::new();
    push_hex(&mut pod_hash, rng.random::<u64>(), 10);
    let mut pod_suffix = String::new();
    push_hex(&mut pod_suffix, rng.random::<u64>(), 5);
    let pod = format!("{}-{pod_hash}-{pod_suffix}", def.name);
    let attributes = vec![
        kv_str("service.name", def.name),
        kv_str("service.version", def.version),
        kv_str("service.namespace", "shop"),
        kv_string("service.instance.id", uuid_like(rng)),
        kv_str("deployment.environment.name", "production"),
        kv_string("host.name", host),
        kv_str("host.arch", "amd64"),
        kv_str("os.type", "linux"),
        kv_string("k8s.pod.name", pod),
        kv_str("k8s.namespace.name", "shop"),
        kv_str("k8s.deployment.name", def.name),
        kv_str("k8s.cluster.name", "shop-prod-eu"),
        kv_str("telemetry.sdk.name", "opentelemetry"),
        kv_str("telemetry.sdk.language", sdk_language),
        kv_str("telemetry.sdk.version", sdk_version),
        kv_str("cloud.provider", "aws"),
        kv_str("cloud.platform", "aws_eks"),
        kv_str("cloud.region", "eu-west-1"),
        kv_str("cloud.availability_zone", zone),
        kv_str("cloud.account.id", "123456789012"),
    ];
    let scope = |kind: ScopeKind| {
        let (name, version) = def
            .language
            .library(kind)
            .unwrap_or((def.name, def.version));
        InstrumentationScope {
            name: name.to_owned(),
            version: version.to_owned(),
            ..Default::default()
        }
    };
    ServiceRuntime {
        resource: Resource {
            attributes,
            ..Default::default()
        },
        scopes: [
            scope(ScopeKind::Http),
            scope(ScopeKind::Grpc),
            scope(ScopeKind::Db),
            scope(ScopeKind::Messaging),
            scope(ScopeKind::App),
        ],
    }
}

impl Catalog {
    /// Builds the catalogue; `rng` only decides per-instance values (instance ids, pods, hosts).
    pub(crate) fn new(rng: &mut ChaCha8Rng) -> Self {
        let services = SERVICES
            .iter()
            .enumerate()
            .map(|(index, def)| service_runtime(index, def, rng))
            .collect();
        let mut builder = Builder {
            templates: Vec::new(),
            fast: Latency::new(40_000.0, 0.6),
            internal: Latency::new(400_000.0, 0.9),
            postgres: Latency::new(1_500_000.0, 0.8),
            redis: Latency::new(250_000.0, 0.6),
            slow: Latency::new(20_000_000.0, 0.7),
        };
        let flows = builder.flows();
        let total_weight = flows.iter().map(|f| f.weight).sum();
        let user_ids = (0..512)
            .map(|_| {
                let mut id = String::with_capacity(20);
                id.push_str("user-");
                push_hex(&mut id, rng.random::<u64>(), 12);
                crate::util::any_str(&id)
            })
            .collect();
        let client_addresses = (0..256)
            .map(|_| {
                let ip: [u8; 4] = rng.random();
                let address = format!(
                    "{}.{}.{}.{}",
                    ip[0] % 223 + 1,
                    ip[1],
                    ip[2],
                    ip[3] % 254 + 1
                );
                crate::util::any_str(&address)
            })
            .collect();
        Self {
            services,
            templates: builder.templates,
            flows,
            total_weight,
            series: crate::metrics::build_series(),
            user_ids,
            product_ids: PRODUCT_IDS
                .iter()
                .map(|id| crate::util::any_str(id))
                .collect(),
            product_paths: PRODUCT_IDS
                .iter()
                .map(|id| crate::util::any_str(&["/api/products/", id].concat()))
                .collect(),
            user_agents: USER_AGENTS
                .iter()
                .map(|ua| crate::util::any_str(ua))
                .collect(),
            client_addresses,
            feature_flags: FEATURE_FLAG_SETS
                .iter()
                .map(|set| array_of_str(set))
                .collect(),
            gap: Latency::new(15_000.0, 0.7),
            network: Latency::new(180_000.0, 0.5),
            trace_interval: Latency::new(800_000.0, 1.0),
        }
    }

    #[cfg(test)]
    pub(crate) fn latencies_are_valid(&self) -> bool {
        self.templates.iter().all(|t| t.self_time.is_valid())
            && self
                .series
                .iter()
                .all(crate::metrics::Series::latency_is_valid)
            && self.gap.is_valid()
            && self.network.is_valid()
            && self.trace_interval.is_valid()
    }

    pub(crate) fn scope(
        &self,
        service: ServiceId,
        scope: ScopeKind,
    ) -> Option<&InstrumentationScope> {
        self.services
            .get(service)
            .and_then(|s| s.scopes.get(scope as usize))
    }
}
