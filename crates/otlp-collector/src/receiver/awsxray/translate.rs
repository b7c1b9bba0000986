//! X-Ray segments as OTLP, as otelcol-contrib's awsxray receiver translates them (the inverse of its X-Ray
//! exporter's mapping):
//!
//! - A resource per datagram: `service.name` is the segment's name; `cloud.provider` `aws` with the account, EC2,
//!   ECS, Elastic Beanstalk and EKS fields (`host.id`, `container.id`, `k8s.cluster.name`, …), or `unknown`
//!   without an `aws` block; the SDK (`telemetry.sdk.name` `X-Ray for Python`, its version, and the language);
//!   `service.version`; `aws.xray.resource_arn`. Unlike otelcol, the SDK's language is written as the semantic
//!   conventions spell it (`python`, `nodejs`, `dotnet`), and the runtime is `process.runtime.name`/`version`.
//! - A span per segment and embedded subsegment, in document order, parented as nested. The trace id
//!   `1-5f84c7a1-e7d1852db8c4fd35d88bf49a` is its 32 hex digits. A segment is a server span; a subsegment a client
//!   span when it has a `namespace` (`aws` adds `aws.service`), a server span when its request names a client IP,
//!   else internal.
//! - `http` is `http.method`, `http.url`, `http.user_agent`, `http.client_ip`, `http.status_code`,
//!   `http.response_content_length`; a status of 400 and above is an error. `aws` is `aws.operation`,
//!   `aws.region`, `aws.request_id`, `aws.table_name`, …; `sql` is `db.system`, `db.statement`, `db.user`,
//!   `db.connection_string` and `db.name` (from its URL). Annotations are attributes of their own type, each
//!   metadata namespace `aws.xray.metadata.<namespace>` as JSON. `in_progress`, `traced` and `user` are
//!   `aws.xray.inprogress`, `aws.xray.traced` and `enduser.id`.
//! - A cause is an error status and an `exception` event per exception (`exception.type`, `exception.message`,
//!   `exception.stacktrace` from its frames); unlike otelcol, the first exception's message is the status
//!   message, and `fault: true` alone is an error too.

use super::segment::{Aws, BadSegment, Cause, Segment};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, status::StatusCode,
};
use otlp_ottl::{key_value, string_value};
use serde_json::Value;

/// Attributes in the order they are set, a key set twice keeping its last value.
#[derive(Default)]
struct Attributes(Vec<KeyValue>);

impl Attributes {
    fn put(&mut self, key: &str, value: AnyValue) {
        match self.0.iter_mut().find(|kv| kv.key == key) {
            Some(kv) => kv.value = Some(value),
            None => self.0.push(key_value(key, value)),
        }
    }

    fn string(&mut self, key: &str, value: &Option<String>) {
        if let Some(value) = value {
            self.put(key, string_value(value.clone()));
        }
    }

    fn int(&mut self, key: &str, value: Option<i64>) {
        if let Some(value) = value {
            self.put(key, typed(any_value::Value::IntValue(value)));
        }
    }

    fn bool(&mut self, key: &str, value: Option<bool>) {
        if let Some(value) = value {
            self.put(key, typed(any_value::Value::BoolValue(value)));
        }
    }
}

fn typed(value: any_value::Value) -> AnyValue {
    AnyValue { value: Some(value) }
}

/// The segment, its subsegments embedded, as one request.
pub(super) fn to_otlp(segment: Segment) -> Result<ExportTraceServiceRequest, BadSegment> {
    let resource = resource(&segment);
    let trace_id = trace_id(&segment)?;
    // A subsegment sent on its own (as SDKs stream long-running ones) is not its trace's entry point.
    let independent_subsegment = segment.parent_id.is_some()
        && segment
            .kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("subsegment"));
    let mut spans = Vec::new();
    add_spans(
        segment,
        &trace_id,
        None,
        !independent_subsegment,
        &mut spans,
    )?;
    Ok(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource.0,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn field(segment: &Segment, field: &'static str, problem: impl Into<String>) -> BadSegment {
    BadSegment::Field {
        id: segment.id.clone().unwrap_or_default(),
        field,
        problem: problem.into(),
    }
}

/// `1-5f84c7a1-e7d1852db8c4fd35d88bf49a`: a version, the start's epoch seconds in 8 hex digits, 24 random ones.
fn trace_id(segment: &Segment) -> Result<Vec<u8>, BadSegment> {
    let text = segment.trace_id.as_deref().unwrap_or_default();
    let bad = || {
        field(
            segment,
            "trace_id",
            format!("`{text}` is not 1-<8 hex>-<24 hex>"),
        )
    };
    let mut parts = text.split('-');
    let (Some("1"), Some(time), Some(random), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if time.len() != 8 || random.len() != 24 {
        return Err(bad());
    }
    hex::decode(format!("{time}{random}")).map_err(|_| bad())
}

fn span_id(segment: &Segment, name: &'static str, id: &str) -> Result<Vec<u8>, BadSegment> {
    hex::decode(id)
        .ok()
        .filter(|bytes| bytes.len() == 8)
        .ok_or_else(|| field(segment, name, format!("`{id}` is not 16 hex digits")))
}

fn resource(segment: &Segment) -> Attributes {
    let mut attributes = Attributes::default();
    attributes.string("service.name", &segment.name);
    match &segment.aws {
        None => attributes.put("cloud.provider", string_value("unknown")),
        Some(aws) => aws_resource(aws, &mut attributes),
    }
    if let Some(service) = &segment.service {
        attributes.string("service.version", &service.version);
        attributes.string("process.runtime.name", &service.runtime);
        attributes.string("process.runtime.version", &service.runtime_version);
    }
    attributes.string("aws.xray.resource_arn", &segment.resource_arn);
    attributes
}

fn aws_resource(aws: &Aws, attributes: &mut Attributes) {
    attributes.put("cloud.provider", string_value("aws"));
    attributes.string("cloud.account.id", &aws.account_id);
    if let Some(ec2) = &aws.ec2 {
        attributes.string("cloud.availability_zone", &ec2.availability_zone);
        attributes.string("host.id", &ec2.instance_id);
        attributes.string("host.type", &ec2.instance_size);
        attributes.string("host.image.id", &ec2.ami_id);
    }
    if let Some(ecs) = &aws.ecs {
        attributes.string("container.name", &ecs.container);
        attributes.string("cloud.availability_zone", &ecs.availability_zone);
        attributes.string("container.id", &ecs.container_id);
    }
    if let Some(beanstalk) = &aws.elastic_beanstalk {
        attributes.string("service.namespace", &beanstalk.environment_name);
        attributes.string(
            "service.instance.id",
            &beanstalk.deployment_id.map(|id| id.to_string()),
        );
        attributes.string("service.version", &beanstalk.version_label);
    }
    if let Some(eks) = &aws.eks {
        attributes.string("container.id", &eks.container_id);
        attributes.string("k8s.cluster.name", &eks.cluster_name);
        attributes.string("k8s.pod.name", &eks.pod);
    }
    if let Some(sdk) = &aws.xray {
        attributes.string("telemetry.sdk.version", &sdk.sdk_version);
        if let Some(name) = &sdk.sdk {
            attributes.put("telemetry.sdk.name", string_value(name.clone()));
            // "X-Ray for Python", "X-Ray for Node.js", "X-Ray for .NET".
            if let Some((_, language)) = name.split_once("for ") {
                let language = match language.to_ascii_lowercase().as_str() {
                    "node.js" => "nodejs".to_owned(),
                    ".net" => "dotnet".to_owned(),
                    other => other.to_owned(),
                };
                attributes.put("telemetry.sdk.language", string_value(language));
            }
        }
    }
}

/// Adds the span of `segment` and then those of its subsegments.
fn add_spans(
    segment: Segment,
    trace_id: &[u8],
    parent: Option<&[u8]>,
    entry: bool,
    spans: &mut Vec<Span>,
) -> Result<(), BadSegment> {
    let id = segment.id.clone().ok_or(BadSegment::Missing("id"))?;
    let span_id = span_id(&segment, "id", &id)?;
    let (span, subsegments) = span(segment, trace_id, span_id.clone(), parent, entry)?;
    spans.push(span);
    for subsegment in subsegments {
        add_spans(subsegment, trace_id, Some(&span_id), false, spans)?;
    }
    Ok(())
}

fn span(
    mut segment: Segment,
    trace_id: &[u8],
    span_id: Vec<u8>,
    parent: Option<&[u8]>,
    entry: bool,
) -> Result<(Span, Vec<Segment>), BadSegment> {
    let name = segment.name.clone().ok_or(BadSegment::Missing("name"))?;
    let parent_span_id = match (parent, &segment.parent_id) {
        (Some(parent), _) => parent.to_vec(),
        (None, Some(parent)) => span_id_of(&segment, parent)?,
        (None, None) => Vec::new(),
    };
    let trace_id = match &segment.trace_id {
        Some(_) => self::trace_id(&segment)?,
        None => trace_id.to_vec(),
    };
    let mut attributes = Attributes::default();
    let client_ip = segment
        .http
        .as_ref()
        .and_then(|http| http.request.as_ref())
        .and_then(|request| request.client_ip.clone());
    let kind = if entry || client_ip.is_some() {
        SpanKind::Server
    } else {
        match segment.namespace.as_deref() {
            None => SpanKind::Internal,
            Some("aws") => {
                attributes.put("aws.service", string_value(name.clone()));
                SpanKind::Client
            }
            Some("remote") => SpanKind::Client,
            Some(other) => {
                return Err(field(
                    &segment,
                    "namespace",
                    format!("`{other}` is neither `aws` nor `remote`"),
                ));
            }
        }
    };
    attributes.bool("aws.xray.inprogress", segment.in_progress);
    attributes.string("enduser.id", &segment.user);

    let mut status = None;
    if let Some(http) = &segment.http {
        if let Some(request) = &http.request {
            attributes.string("http.method", &request.method);
            attributes.string("http.client_ip", &request.client_ip);
            attributes.string("http.user_agent", &request.user_agent);
            attributes.string("http.url", &request.url);
            attributes.bool("aws.xray.x_forwarded_for", request.x_forwarded_for);
        }
        if let Some(response) = &http.response {
            if let Some(code) = response.status {
                attributes.int("http.status_code", Some(code));
                if !(100..400).contains(&code) {
                    status = Some(Status {
                        code: StatusCode::Error as i32,
                        message: String::new(),
                    });
                }
            }
            let length = match &response.content_length {
                Some(Value::Number(n)) => n.as_i64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
            attributes.int("http.response_content_length", length);
        }
    }
    let mut events = Vec::new();
    if let Some(cause) = segment.cause.take() {
        let error = status.get_or_insert_with(|| Status {
            code: StatusCode::Error as i32,
            message: String::new(),
        });
        match cause {
            // An exception recorded in another subsegment: its id is all there is to say.
            Cause::ExceptionId(id) => error.message = id,
            Cause::Exceptions { exceptions } => {
                if let Some(message) = exceptions.first().and_then(|e| e.message.clone()) {
                    error.message = message;
                }
                events = exceptions.into_iter().map(exception_event).collect();
            }
        }
    }
    if segment.fault == Some(true) && status.is_none() {
        status = Some(Status {
            code: StatusCode::Error as i32,
            message: String::new(),
        });
    }
    if let Some(aws) = &segment.aws {
        attributes.string("aws.account_id", &aws.account_id);
        attributes.string("aws.operation", &aws.operation);
        attributes.string("aws.region", &aws.region);
        attributes.string("aws.request_id", &aws.request_id);
        attributes.string("aws.queue_url", &aws.queue_url);
        attributes.string("aws.table_name", &aws.table_name);
        attributes.int("aws.xray.retries", aws.retries);
    }
    if let Some(sql) = &segment.sql {
        if let Some(url) = &sql.url {
            let (connection, database) = split_sql_url(url).ok_or_else(|| {
                field(
                    &segment,
                    "sql.url",
                    format!("`{url}` names no database (protocol://host:port/database)"),
                )
            })?;
            attributes.put("db.connection_string", string_value(connection));
            attributes.put("db.name", string_value(database));
        }
        attributes.string("db.system", &sql.database_type);
        attributes.string("db.statement", &sql.sanitized_query);
        attributes.string("db.user", &sql.user);
    }
    attributes.bool("aws.xray.traced", segment.traced);
    for (key, value) in segment.annotations.take().unwrap_or_default() {
        let value = match value {
            Value::Bool(b) => any_value::Value::BoolValue(b),
            Value::String(s) => any_value::Value::StringValue(s),
            Value::Number(n) => match n.as_i64() {
                Some(i) => any_value::Value::IntValue(i),
                None => any_value::Value::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
            },
            // X-Ray's annotations are strings, numbers and booleans; anything else is not indexed there either.
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
        };
        attributes.put(&key, typed(value));
    }
    for (namespace, value) in segment.metadata.take().unwrap_or_default() {
        attributes.put(
            &format!("aws.xray.metadata.{namespace}"),
            string_value(value.to_string()),
        );
    }

    let span = Span {
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind: kind as i32,
        start_time_unix_nano: segment.start_time.map_or(0, crate::clock::seconds_to_nanos),
        end_time_unix_nano: segment.end_time.map_or(0, crate::clock::seconds_to_nanos),
        attributes: attributes.0,
        events,
        status,
        ..Default::default()
    };
    Ok((span, std::mem::take(&mut segment.subsegments)))
}

fn span_id_of(segment: &Segment, parent: &str) -> Result<Vec<u8>, BadSegment> {
    span_id(segment, "parent_id", parent)
}

/// `protocol://host:port/database?parameters` as the URL without the database, and the database.
fn split_sql_url(url: &str) -> Option<(String, String)> {
    let scheme_end = url.find("//")? + 2;
    let slash = scheme_end + url[scheme_end..].rfind('/')?;
    let (connection, rest) = (&url[..slash], &url[slash + 1..]);
    let database = rest.split('?').next().unwrap_or("");
    if connection.len() <= scheme_end || database.is_empty() {
        return None;
    }
    Some((connection.to_owned(), database.to_owned()))
}

fn exception_event(exception: super::segment::Exception) -> Event {
    let mut attributes = Attributes::default();
    attributes.string("aws.xray.exception.id", &exception.id);
    attributes.string("exception.message", &exception.message);
    attributes.string("exception.type", &exception.kind);
    attributes.bool("aws.xray.exception.remote", exception.remote);
    attributes.int("aws.xray.exception.truncated", exception.truncated);
    attributes.int("aws.xray.exception.skipped", exception.skipped);
    attributes.string("aws.xray.exception.cause", &exception.cause);
    if !exception.stack.is_empty() {
        // As otelcol writes it: "<type>: <message>" then "\tat <label>(<path>: <line>)" per frame.
        let mut trace = format!(
            "{}: {}\n",
            exception.kind.as_deref().unwrap_or(""),
            exception.message.as_deref().unwrap_or("")
        );
        for frame in &exception.stack {
            let line = frame
                .line
                .map_or_else(|| "<unknown>".to_owned(), |l| l.to_string());
            trace.push_str(&format!(
                "\tat {}({}: {line})\n",
                frame.label.as_deref().unwrap_or(""),
                frame.path.as_deref().unwrap_or("")
            ));
        }
        attributes.put("exception.stacktrace", string_value(trace));
    }
    Event {
        name: "exception".to_owned(),
        attributes: attributes.0,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
