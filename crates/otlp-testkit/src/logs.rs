//! Log generation: application log lines of the shop's services, mostly correlated with a
//! trace, with the severity mix of a healthy production system.

use crate::catalog::{
    AD, API_GATEWAY, CART, CHECKOUT, CURRENCY, Catalog, EMAIL, FRAUD_DETECTION, FRONTEND, PAYMENT,
    PRODUCT_CATALOG, RECOMMENDATION, SCHEMA_URL, SHIPPING, ScopeKind, ServiceId,
};
use crate::util::{Latency, kv, kv_double, kv_int, kv_str, kv_string, kvlist, random_id};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy)]
enum Body {
    Text(&'static str),
    /// The text followed by the trace's user id.
    TextWithUser(&'static str),
    /// The text followed by a product id.
    TextWithProduct(&'static str),
    OrderPlaced,
    AccessLog,
    Charge,
}

struct LogTemplate {
    weight: u32,
    service: ServiceId,
    severity: SeverityNumber,
    body: Body,
    event_name: &'static str,
    attributes: &'static [(&'static str, &'static str)],
}

const fn template(
    weight: u32,
    service: ServiceId,
    severity: SeverityNumber,
    body: Body,
) -> LogTemplate {
    LogTemplate {
        weight,
        service,
        severity,
        body,
        event_name: "",
        attributes: &[],
    }
}

const TEMPLATES: [LogTemplate; 18] = [
    LogTemplate {
        attributes: &[("code.function.name", "GetCartAsync")],
        ..template(
            14,
            CART,
            SeverityNumber::Info,
            Body::TextWithUser("GetCartAsync called with userId="),
        )
    },
    LogTemplate {
        attributes: &[("code.function.name", "AddItemAsync")],
        ..template(
            8,
            CART,
            SeverityNumber::Info,
            Body::TextWithUser("AddItemAsync called with userId="),
        )
    },
    LogTemplate {
        event_name: "app.order.placed",
        ..template(5, CHECKOUT, SeverityNumber::Info, Body::OrderPlaced)
    },
    template(
        5,
        CHECKOUT,
        SeverityNumber::Info,
        Body::Text("payment went through"),
    ),
    LogTemplate {
        event_name: "app.payment.charged",
        ..template(5, PAYMENT, SeverityNumber::Info, Body::Charge)
    },
    template(
        1,
        PAYMENT,
        SeverityNumber::Error,
        Body::Text("Payment request failed. Invalid token. app.loyalty.level=gold"),
    ),
    template(
        2,
        PAYMENT,
        SeverityNumber::Warn,
        Body::Text("Charge took longer than 2s; card processor is slow"),
    ),
    template(
        12,
        CURRENCY,
        SeverityNumber::Info,
        Body::Text("Conversion request successful"),
    ),
    template(
        4,
        EMAIL,
        SeverityNumber::Info,
        Body::Text("Order confirmation email sent"),
    ),
    template(
        6,
        RECOMMENDATION,
        SeverityNumber::Info,
        Body::TextWithProduct("Receive ListRecommendations for product ids:"),
    ),
    LogTemplate {
        attributes: &[("app.ads.category", "accessories")],
        ..template(
            5,
            AD,
            SeverityNumber::Info,
            Body::Text("Targeted ad request received for [accessories]"),
        )
    },
    template(
        1,
        AD,
        SeverityNumber::Warn,
        Body::Text("Ad cache is 90% full; evicting least recently used entries"),
    ),
    template(
        3,
        FRAUD_DETECTION,
        SeverityNumber::Info,
        Body::TextWithUser("Consumed record from topic orders for user "),
    ),
    template(
        6,
        SHIPPING,
        SeverityNumber::Info,
        Body::Text("Receiving quote request"),
    ),
    template(
        1,
        PRODUCT_CATALOG,
        SeverityNumber::Error,
        Body::TextWithProduct("Error: failed to load product "),
    ),
    template(
        2,
        PRODUCT_CATALOG,
        SeverityNumber::Debug,
        Body::TextWithProduct("cache refreshed for product "),
    ),
    template(14, API_GATEWAY, SeverityNumber::Info, Body::AccessLog),
    LogTemplate {
        attributes: &[("log.logger", "next.js")],
        ..template(
            6,
            FRONTEND,
            SeverityNumber::Warn,
            Body::Text("Slow server-side render of /api/products/{id}"),
        )
    },
];

fn severity_text(severity: SeverityNumber) -> &'static str {
    match severity {
        SeverityNumber::Debug => "DEBUG",
        SeverityNumber::Warn => "WARN",
        SeverityNumber::Error => "ERROR",
        _ => "INFO",
    }
}

fn string_value(value: String) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(value)),
    }
}

/// The log signal's state inside a `Generator`.
#[derive(Debug, Clone)]
pub(crate) struct LogState {
    rng: ChaCha8Rng,
    clock_ns: u64,
    interval: Latency,
    ingest_delay: Latency,
}

impl LogState {
    pub(crate) fn new(rng: ChaCha8Rng, start_ns: u64) -> Self {
        Self {
            rng,
            clock_ns: start_ns,
            interval: Latency::new(1_000_000.0, 1.0),
            ingest_delay: Latency::new(3_000_000.0, 0.6),
        }
    }

    pub(crate) fn set_start(&mut self, start_ns: u64) {
        self.clock_ns = start_ns;
    }

    /// Exactly `records` log records, grouped by service.
    pub(crate) fn request(
        &mut self,
        catalog: &Catalog,
        records: usize,
    ) -> ExportLogsServiceRequest {
        let total_weight: u32 = TEMPLATES.iter().map(|t| t.weight).sum();
        let mut by_service: Vec<Vec<LogRecord>> = vec![Vec::new(); catalog.services.len()];
        for _ in 0..records {
            let mut ticket = self.rng.random_range(0..total_weight);
            let mut chosen = None;
            for template in &TEMPLATES {
                if ticket < template.weight {
                    chosen = Some(template);
                    break;
                }
                ticket -= template.weight;
            }
            let Some(template) = chosen else {
                continue;
            };
            let record = self.record(catalog, template);
            if let Some(bucket) = by_service.get_mut(template.service) {
                bucket.push(record);
            }
        }
        let resource_logs = by_service
            .into_iter()
            .enumerate()
            .filter(|(_, records)| !records.is_empty())
            .filter_map(|(service, log_records)| {
                let runtime = catalog.services.get(service)?;
                Some(ResourceLogs {
                    resource: Some(runtime.resource.clone()),
                    scope_logs: vec![ScopeLogs {
                        scope: catalog.scope(service, ScopeKind::App).cloned(),
                        log_records,
                        schema_url: String::new(),
                    }],
                    schema_url: SCHEMA_URL.to_owned(),
                })
            })
            .collect();
        ExportLogsServiceRequest { resource_logs }
    }

    fn record(&mut self, catalog: &Catalog, template: &LogTemplate) -> LogRecord {
        let time = self.clock_ns;
        self.clock_ns = self
            .clock_ns
            .saturating_add(self.interval.sample_ns(&mut self.rng));
        let observed = time.saturating_add(self.ingest_delay.sample_ns(&mut self.rng));
        let rng = &mut self.rng;
        let user = catalog
            .user_ids
            .get(rng.random_range(0..catalog.user_ids.len().max(1)));
        let product = catalog
            .product_ids
            .get(rng.random_range(0..catalog.product_ids.len().max(1)));
        let as_str = |value: Option<&AnyValue>| match value.and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => s.clone(),
            _ => String::new(),
        };
        let mut attributes: Vec<KeyValue> = template
            .attributes
            .iter()
            .map(|(k, v)| kv_str(k, v))
            .collect();
        let body = match template.body {
            Body::Text(text) => string_value(text.to_owned()),
            Body::TextWithUser(text) => {
                let user = as_str(user);
                attributes.push(kv_string("app.user.id", user.clone()));
                string_value([text, user.as_str()].concat())
            }
            Body::TextWithProduct(text) => {
                let product = as_str(product);
                attributes.push(kv_string("app.product.id", product.clone()));
                string_value([text, product.as_str()].concat())
            }
            Body::OrderPlaced => {
                let order_id = uuid_order_id(rng);
                kvlist(vec![
                    kv_str("message", "order placed"),
                    kv_string("app.order.id", order_id),
                    kv_double(
                        "app.order.amount",
                        (rng.random_range(5.0..900.0) * 100.0_f64).round() / 100.0,
                    ),
                    kv_int("app.order.items", rng.random_range(1..9)),
                    kv("app.user.id", user.cloned().unwrap_or_default()),
                ])
            }
            Body::AccessLog => {
                let status = if rng.random_bool(0.97) { 200 } else { 503 };
                kvlist(vec![
                    kv_str("http.request.method", "GET"),
                    kv_str("url.path", "/api/v2/products"),
                    kv_int("http.response.status_code", status),
                    kv_double(
                        "duration_ms",
                        (rng.random_range(2.0..400.0) * 10.0_f64).round() / 10.0,
                    ),
                    kv_int("http.response.body.size", rng.random_range(800..64_000)),
                ])
            }
            Body::Charge => kvlist(vec![
                kv_str("message", "Charge request received."),
                kv_str(
                    "app.payment.card_type",
                    if rng.random_bool(0.6) {
                        "visa"
                    } else {
                        "mastercard"
                    },
                ),
                kv_double(
                    "app.payment.amount",
                    (rng.random_range(5.0..900.0) * 100.0_f64).round() / 100.0,
                ),
                kv_str("app.payment.currency", "USD"),
            ]),
        };
        // Most records are written inside a request and carry its trace context.
        let (trace_id, span_id, flags) = if rng.random_bool(0.85) {
            (
                random_id::<16>(rng).to_vec(),
                random_id::<8>(rng).to_vec(),
                1,
            )
        } else {
            (Vec::new(), Vec::new(), 0)
        };
        LogRecord {
            time_unix_nano: time,
            observed_time_unix_nano: observed,
            severity_number: template.severity as i32,
            severity_text: severity_text(template.severity).to_owned(),
            body: Some(body),
            attributes,
            dropped_attributes_count: 0,
            flags,
            trace_id,
            span_id,
            event_name: template.event_name.to_owned(),
        }
    }
}

fn uuid_order_id(rng: &mut ChaCha8Rng) -> String {
    let mut id = String::with_capacity(36);
    crate::util::push_hex(&mut id, rng.random::<u64>(), 16);
    crate::util::push_hex(&mut id, rng.random::<u64>(), 16);
    id
}
