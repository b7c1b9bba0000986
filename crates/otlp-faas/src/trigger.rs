//! What triggered an invocation, read from its event payload: the FaaS trigger kind, the trace
//! context carriers (headers, message attributes) and messaging attributes.

use std::collections::HashMap;

use opentelemetry::KeyValue;
use serde_json::Value;

/// `faas.trigger` values of the semantic conventions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TriggerKind {
    /// An HTTP request (API Gateway, ALB, function URL).
    Http,
    /// A message from a queue or topic (SQS, SNS, EventBridge events).
    PubSub,
    /// A change in a data store (S3, DynamoDB streams, Kinesis).
    Datasource,
    /// A schedule (EventBridge scheduled events).
    Timer,
    /// Anything else, including direct invocations.
    Other,
}

impl TriggerKind {
    /// The `faas.trigger` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::PubSub => "pubsub",
            Self::Datasource => "datasource",
            Self::Timer => "timer",
            Self::Other => "other",
        }
    }
}

/// The AWS service an event came from, as far as its shape tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventSource {
    /// API Gateway REST API (payload format 1.0).
    ApiGatewayRest,
    /// API Gateway HTTP API or function URL (payload format 2.0).
    ApiGatewayHttp,
    /// Application Load Balancer.
    Alb,
    /// SQS batch.
    Sqs,
    /// SNS notification.
    Sns,
    /// EventBridge event.
    EventBridge,
    /// S3, DynamoDB or Kinesis records.
    DataStore,
    /// Not recognised: a direct invocation or a custom event.
    Unknown,
}

/// Header-like string pairs a propagator reads; keys are lower-case.
pub type Carrier = HashMap<String, String>;

/// What an invocation's payload says about its trigger and the trace it continues.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerContext {
    /// `faas.trigger`.
    pub kind: TriggerKind,
    /// Where the event came from.
    pub source: EventSource,
    /// The carrier holding the invocation's parent context (HTTP headers, the single record's
    /// attributes), if the payload has one.
    pub parent: Option<Carrier>,
    /// One carrier per batched record; each valid context becomes a span link.
    pub records: Vec<Carrier>,
    /// A span name better than the function name (`GET /items/{id}`), when the trigger has one.
    pub span_name: Option<String>,
    /// Attributes describing the trigger (`http.request.method`, `messaging.system`, ...).
    pub attributes: Vec<KeyValue>,
}

impl TriggerContext {
    /// A trigger about which nothing is known.
    pub fn other() -> Self {
        Self {
            kind: TriggerKind::Other,
            source: EventSource::Unknown,
            parent: None,
            records: Vec::new(),
            span_name: None,
            attributes: Vec::new(),
        }
    }
}

/// An event payload the invocation layer can read trigger context from.
///
/// Implemented for [`serde_json::Value`], which recognises the AWS event shapes by their fields;
/// implement it for your own typed events to get the same spans.
pub trait InvocationEvent {
    /// Reads the trigger context; must not fail: unknown shapes give [`TriggerContext::other`].
    fn trigger_context(&self) -> TriggerContext;
}

impl InvocationEvent for Value {
    fn trigger_context(&self) -> TriggerContext {
        read_trigger(self)
    }
}

/// Name of the JSON object that carries propagation headers in a payload that is not an HTTP
/// event (direct invocations, EventBridge `detail`): the same place API Gateway puts headers, so
/// one reader serves both.
pub const PAYLOAD_HEADERS_FIELD: &str = "headers";

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// String-valued members of a JSON object, keys lower-cased; multi-value arrays give their first
/// string (ALB and REST API `multiValueHeaders`).
fn headers_of(value: Option<&Value>) -> Option<Carrier> {
    let object = value?.as_object()?;
    let carrier: Carrier = object
        .iter()
        .filter_map(|(key, value)| {
            let text = match value {
                Value::String(text) => Some(text.as_str()),
                Value::Array(items) => items.iter().find_map(Value::as_str),
                _ => None,
            }?;
            Some((key.to_ascii_lowercase(), text.to_owned()))
        })
        .collect();
    (!carrier.is_empty()).then_some(carrier)
}

fn read_trigger(event: &Value) -> TriggerContext {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        return read_records(records);
    }
    if let Some(request_context) = event.get("requestContext") {
        return read_http(event, request_context);
    }
    if event.get("detail-type").is_some() && event.get("source").is_some() {
        return read_eventbridge(event);
    }
    TriggerContext {
        parent: headers_of(event.get(PAYLOAD_HEADERS_FIELD)),
        ..TriggerContext::other()
    }
}

fn read_http(event: &Value, request_context: &Value) -> TriggerContext {
    let (source, method, path, route) = if request_context.get("elb").is_some() {
        (
            EventSource::Alb,
            str_at(event, "httpMethod"),
            str_at(event, "path"),
            None,
        )
    } else if let Some(http) = request_context.get("http") {
        let route = str_at(event, "routeKey")
            .filter(|key| *key != "$default")
            .map(str::to_owned);
        (
            EventSource::ApiGatewayHttp,
            str_at(http, "method"),
            str_at(http, "path").or_else(|| str_at(event, "rawPath")),
            route,
        )
    } else {
        let method = str_at(event, "httpMethod");
        let route = str_at(event, "resource")
            .zip(method)
            .map(|(resource, method)| format!("{method} {resource}"));
        (
            EventSource::ApiGatewayRest,
            method,
            str_at(event, "path"),
            route,
        )
    };
    let parent =
        headers_of(event.get("headers")).or_else(|| headers_of(event.get("multiValueHeaders")));
    let mut attributes = Vec::new();
    if let Some(method) = method {
        attributes.push(KeyValue::new("http.request.method", method.to_owned()));
    }
    if let Some(path) = path {
        attributes.push(KeyValue::new("url.path", path.to_owned()));
    }
    TriggerContext {
        kind: TriggerKind::Http,
        source,
        parent,
        records: Vec::new(),
        span_name: route,
        attributes,
    }
}

/// The resource name at the end of an ARN (`arn:aws:sqs:us-east-1:123456789012:orders` → `orders`).
fn arn_resource_name(arn: &str) -> Option<&str> {
    arn.starts_with("arn:")
        .then(|| arn.rsplit(':').next())
        .flatten()
        .filter(|name| !name.is_empty())
}

fn read_records(records: &[Value]) -> TriggerContext {
    let Some(first) = records.first() else {
        return TriggerContext::other();
    };
    let source_name = str_at(first, "eventSource").or_else(|| str_at(first, "EventSource"));
    let (source, kind, system) = match source_name {
        Some("aws:sqs") => (EventSource::Sqs, TriggerKind::PubSub, Some("aws_sqs")),
        Some("aws:sns") => (EventSource::Sns, TriggerKind::PubSub, Some("aws_sns")),
        Some("aws:s3" | "aws:dynamodb" | "aws:kinesis") => {
            (EventSource::DataStore, TriggerKind::Datasource, None)
        }
        _ => return TriggerContext::other(),
    };
    let carriers: Vec<Carrier> = records
        .iter()
        .map(|record| match source {
            EventSource::Sqs => sqs_carrier(record),
            EventSource::Sns => sns_carrier(record),
            _ => Carrier::new(),
        })
        .collect();
    let mut attributes = Vec::new();
    if let Some(system) = system {
        attributes.push(KeyValue::new("messaging.system", system));
        attributes.push(KeyValue::new("messaging.operation.type", "process"));
        let batch_size = i64::try_from(records.len()).unwrap_or(i64::MAX);
        attributes.push(KeyValue::new("messaging.batch.message_count", batch_size));
        let destination = match source {
            EventSource::Sqs => str_at(first, "eventSourceARN"),
            _ => first.get("Sns").and_then(|sns| str_at(sns, "TopicArn")),
        }
        .and_then(arn_resource_name);
        if let Some(destination) = destination {
            attributes.push(KeyValue::new(
                "messaging.destination.name",
                destination.to_owned(),
            ));
        }
    }
    // A single message is the invocation's cause, so it is also the parent; a batch has many
    // causes and only links to them.
    let parent = match carriers.as_slice() {
        [only] if !only.is_empty() => Some(only.clone()),
        _ => None,
    };
    TriggerContext {
        kind,
        source,
        parent,
        records: carriers.into_iter().filter(|c| !c.is_empty()).collect(),
        span_name: None,
        attributes,
    }
}

/// SQS: message attributes (`{"traceparent": {"stringValue": ..., "dataType": "String"}}`) and the
/// system attribute `AWSTraceHeader` that X-Ray sets, under the X-Ray header's name.
fn sqs_carrier(record: &Value) -> Carrier {
    let mut carrier = Carrier::new();
    if let Some(attributes) = record.get("messageAttributes").and_then(Value::as_object) {
        for (name, attribute) in attributes {
            if let Some(text) = str_at(attribute, "stringValue") {
                carrier.insert(name.to_ascii_lowercase(), text.to_owned());
            }
        }
    }
    if let Some(header) = record
        .get("attributes")
        .and_then(|attributes| str_at(attributes, "AWSTraceHeader"))
    {
        carrier.insert("x-amzn-trace-id".to_owned(), header.to_owned());
    }
    carrier
}

/// SNS: message attributes (`{"traceparent": {"Type": "String", "Value": ...}}`).
fn sns_carrier(record: &Value) -> Carrier {
    let mut carrier = Carrier::new();
    let attributes = record
        .get("Sns")
        .and_then(|sns| sns.get("MessageAttributes"))
        .and_then(Value::as_object);
    for (name, attribute) in attributes.into_iter().flatten() {
        if str_at(attribute, "Type") == Some("String")
            && let Some(text) = str_at(attribute, "Value")
        {
            carrier.insert(name.to_ascii_lowercase(), text.to_owned());
        }
    }
    carrier
}

fn read_eventbridge(event: &Value) -> TriggerContext {
    let source = str_at(event, "source");
    let detail_type = str_at(event, "detail-type");
    let kind = if source == Some("aws.events") && detail_type == Some("Scheduled Event") {
        TriggerKind::Timer
    } else {
        TriggerKind::PubSub
    };
    let mut attributes = Vec::new();
    if let Some(source) = source {
        attributes.push(KeyValue::new("aws.eventbridge.source", source.to_owned()));
    }
    if let Some(detail_type) = detail_type {
        attributes.push(KeyValue::new(
            "aws.eventbridge.detail_type",
            detail_type.to_owned(),
        ));
    }
    TriggerContext {
        kind,
        source: EventSource::EventBridge,
        parent: event
            .get("detail")
            .and_then(|detail| headers_of(detail.get(PAYLOAD_HEADERS_FIELD))),
        records: Vec::new(),
        span_name: None,
        attributes,
    }
}
