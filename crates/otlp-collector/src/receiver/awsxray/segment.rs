//! X-Ray segment documents as the SDKs send them to the daemon: a datagram of a header line,
//! `{"format": "json", "version": 1}`, then one segment (or an independent subsegment) with its subsegments
//! embedded. Fields as AWS documents them ("Segment documents" in the X-Ray developer guide); fields not read here
//! are skipped.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Why a datagram is not a segment.
#[derive(Debug, thiserror::Error)]
pub enum BadSegment {
    /// No header line, or not X-Ray's.
    #[error(
        "the datagram does not start with X-Ray's header {{\"format\": \"json\", \"version\": 1}}: {0}"
    )]
    Header(String),
    /// The document is not JSON of a segment.
    #[error("the segment is not JSON of an X-Ray segment: {0}")]
    Json(#[from] serde_json::Error),
    /// A field the segment must have, missing.
    #[error("the segment has no `{0}`")]
    Missing(&'static str),
    /// A field whose value cannot be read.
    #[error("segment `{id}`: `{field}` {problem}")]
    Field {
        /// The (sub)segment's id.
        id: String,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// A segment or subsegment.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Segment {
    pub(super) name: Option<String>,
    pub(super) id: Option<String>,
    pub(super) start_time: Option<f64>,
    pub(super) trace_id: Option<String>,
    pub(super) end_time: Option<f64>,
    pub(super) in_progress: Option<bool>,
    pub(super) parent_id: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) user: Option<String>,
    pub(super) resource_arn: Option<String>,
    pub(super) fault: Option<bool>,
    pub(super) traced: Option<bool>,
    pub(super) http: Option<Http>,
    pub(super) aws: Option<Aws>,
    pub(super) service: Option<Service>,
    pub(super) sql: Option<Sql>,
    pub(super) cause: Option<Cause>,
    pub(super) annotations: Option<Map<String, Value>>,
    pub(super) metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub(super) subsegments: Vec<Segment>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Http {
    pub(super) request: Option<HttpRequest>,
    pub(super) response: Option<HttpResponse>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct HttpRequest {
    pub(super) method: Option<String>,
    pub(super) client_ip: Option<String>,
    pub(super) user_agent: Option<String>,
    pub(super) url: Option<String>,
    pub(super) x_forwarded_for: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct HttpResponse {
    pub(super) status: Option<i64>,
    /// A number, or text of one (some SDKs write the header as they read it).
    pub(super) content_length: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Aws {
    pub(super) account_id: Option<String>,
    pub(super) operation: Option<String>,
    /// The region of the AWS service called.
    pub(super) region: Option<String>,
    pub(super) request_id: Option<String>,
    pub(super) queue_url: Option<String>,
    pub(super) table_name: Option<String>,
    pub(super) retries: Option<i64>,
    pub(super) ec2: Option<Ec2>,
    pub(super) ecs: Option<Ecs>,
    pub(super) elastic_beanstalk: Option<Beanstalk>,
    pub(super) eks: Option<Eks>,
    pub(super) xray: Option<XraySdk>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Ec2 {
    pub(super) instance_id: Option<String>,
    pub(super) availability_zone: Option<String>,
    pub(super) instance_size: Option<String>,
    pub(super) ami_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Ecs {
    pub(super) container: Option<String>,
    pub(super) container_id: Option<String>,
    pub(super) availability_zone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Beanstalk {
    pub(super) environment_name: Option<String>,
    pub(super) version_label: Option<String>,
    pub(super) deployment_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Eks {
    pub(super) cluster_name: Option<String>,
    pub(super) pod: Option<String>,
    pub(super) container_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct XraySdk {
    pub(super) sdk: Option<String>,
    pub(super) sdk_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Service {
    pub(super) version: Option<String>,
    pub(super) runtime: Option<String>,
    pub(super) runtime_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Sql {
    pub(super) url: Option<String>,
    pub(super) database_type: Option<String>,
    pub(super) sanitized_query: Option<String>,
    pub(super) user: Option<String>,
}

/// `cause`: the id of an exception recorded in another subsegment, or the exceptions themselves.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Cause {
    ExceptionId(String),
    Exceptions {
        #[serde(default)]
        exceptions: Vec<Exception>,
    },
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Exception {
    pub(super) id: Option<String>,
    pub(super) message: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) remote: Option<bool>,
    pub(super) truncated: Option<i64>,
    pub(super) skipped: Option<i64>,
    pub(super) cause: Option<String>,
    #[serde(default)]
    pub(super) stack: Vec<StackFrame>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct StackFrame {
    pub(super) path: Option<String>,
    pub(super) line: Option<i64>,
    pub(super) label: Option<String>,
}

impl Segment {
    /// How many spans the segment makes: itself and its subsegments, however deep.
    pub(super) fn count(&self) -> usize {
        1 + self.subsegments.iter().map(Segment::count).sum::<usize>()
    }
}

/// The segment of a datagram, once its header is checked and its required fields are there.
pub(super) fn from_datagram(datagram: &[u8]) -> Result<Segment, BadSegment> {
    let newline = datagram
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| BadSegment::Header("there is no header line".to_owned()))?;
    let header: Value = serde_json::from_slice(&datagram[..newline])
        .map_err(|e| BadSegment::Header(e.to_string()))?;
    if header.get("format").and_then(Value::as_str) != Some("json")
        || header.get("version").and_then(Value::as_i64) != Some(1)
    {
        return Err(BadSegment::Header(format!("the header is {header}")));
    }
    let segment: Segment = serde_json::from_slice(&datagram[newline + 1..])?;
    if segment.name.is_none() {
        return Err(BadSegment::Missing("name"));
    }
    if segment.id.is_none() {
        return Err(BadSegment::Missing("id"));
    }
    if segment.start_time.is_none() {
        return Err(BadSegment::Missing("start_time"));
    }
    // Embedded subsegments take their trace's id; a document sent on its own must name it.
    if segment.trace_id.is_none() {
        return Err(BadSegment::Missing("trace_id"));
    }
    Ok(segment)
}
