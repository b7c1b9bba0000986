//! Resource detectors for AWS Lambda, Azure Functions and Google Cloud Functions / Cloud Run.
//!
//! Each detector reads its platform's documented environment variables and returns an empty
//! [`Resource`] when the process does not run on that platform. A variable that is missing,
//! blank or malformed (a memory size that is not a number, an owner name without a
//! subscription) leaves its attribute out: detection never fails and never panics.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::resource::{Resource, ResourceDetector};

use crate::env::EnvSource;

/// Attribute keys of the OpenTelemetry cloud and FaaS resource conventions.
pub mod keys {
    /// `cloud.provider`
    pub const CLOUD_PROVIDER: &str = "cloud.provider";
    /// `cloud.platform`
    pub const CLOUD_PLATFORM: &str = "cloud.platform";
    /// `cloud.region`
    pub const CLOUD_REGION: &str = "cloud.region";
    /// `cloud.account.id`
    pub const CLOUD_ACCOUNT_ID: &str = "cloud.account.id";
    /// `cloud.resource_id`
    pub const CLOUD_RESOURCE_ID: &str = "cloud.resource_id";
    /// `faas.name`
    pub const FAAS_NAME: &str = "faas.name";
    /// `faas.version`
    pub const FAAS_VERSION: &str = "faas.version";
    /// `faas.instance`
    pub const FAAS_INSTANCE: &str = "faas.instance";
    /// `faas.max_memory`, in bytes.
    pub const FAAS_MAX_MEMORY: &str = "faas.max_memory";
    /// `aws.log.group.names`
    pub const AWS_LOG_GROUP_NAMES: &str = "aws.log.group.names";
}

const MIB: i64 = 1024 * 1024;

/// Accumulates attributes, skipping absent values, and builds the resource.
#[derive(Default)]
struct Attributes(Vec<KeyValue>);

impl Attributes {
    fn put(&mut self, key: &'static str, value: Option<impl Into<Value>>) {
        if let Some(value) = value {
            self.0.push(KeyValue::new(key, value));
        }
    }

    fn build(self) -> Resource {
        Resource::builder_empty().with_attributes(self.0).build()
    }
}

/// A memory size in MiB as bytes; `None` when it is not a positive integer or would overflow.
fn mib_to_bytes(raw: Option<String>) -> Option<i64> {
    raw?.parse::<i64>()
        .ok()
        .filter(|mib| *mib > 0)
        .and_then(|mib| mib.checked_mul(MIB))
}

/// AWS Lambda: detected when `AWS_LAMBDA_FUNCTION_NAME` is set.
///
/// `cloud.account.id` and `cloud.resource_id` are not in a function's environment; they come from
/// the invoked function ARN, which the invocation layer records per span, or from
/// [`LambdaResourceDetector::with_function_arn`].
#[derive(Clone, Debug, Default)]
pub struct LambdaResourceDetector {
    env: EnvSource,
    function_arn: Option<String>,
}

impl LambdaResourceDetector {
    /// Reads the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the given environment instead of the process's.
    pub fn with_env(env: EnvSource) -> Self {
        Self {
            env,
            function_arn: None,
        }
    }

    /// Adds `cloud.resource_id` and `cloud.account.id` from a function ARN
    /// (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`); a malformed ARN is ignored.
    pub fn with_function_arn(mut self, arn: impl Into<String>) -> Self {
        self.function_arn = Some(arn.into());
        self
    }
}

/// The parts of a Lambda function ARN; `None` unless it has the documented shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LambdaArn<'a> {
    /// The region (`us-east-1`).
    pub region: &'a str,
    /// The 12-digit account ID.
    pub account_id: &'a str,
    /// The function's name.
    pub function_name: &'a str,
    /// The version or alias the caller named, if any.
    pub qualifier: Option<&'a str>,
}

impl<'a> LambdaArn<'a> {
    /// Parses `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.split(':');
        let (Some("arn"), Some(partition), Some("lambda"), Some(region), Some(account_id)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (Some("function"), Some(function_name)) = (parts.next(), parts.next()) else {
            return None;
        };
        let qualifier = parts.next();
        let valid = !partition.is_empty()
            && !region.is_empty()
            && account_id.len() == 12
            && account_id.bytes().all(|b| b.is_ascii_digit())
            && !function_name.is_empty()
            && qualifier.is_none_or(|q| !q.is_empty())
            && parts.next().is_none();
        valid.then_some(Self {
            region,
            account_id,
            function_name,
            qualifier,
        })
    }

    /// The ARN without a version or alias qualifier, the form `cloud.resource_id` uses for the
    /// function as a whole; `arn` must be the string this was parsed from.
    pub fn unqualified(&self, arn: &'a str) -> &'a str {
        match self.qualifier {
            Some(qualifier) => arn
                .strip_suffix(qualifier)
                .and_then(|rest| rest.strip_suffix(':'))
                .unwrap_or(arn),
            None => arn,
        }
    }
}

impl ResourceDetector for LambdaResourceDetector {
    fn detect(&self) -> Resource {
        let env = &self.env;
        let Some(name) = env.get("AWS_LAMBDA_FUNCTION_NAME") else {
            return Resource::builder_empty().build();
        };
        let mut attributes = Attributes::default();
        attributes.put(keys::CLOUD_PROVIDER, Some("aws"));
        attributes.put(keys::CLOUD_PLATFORM, Some("aws_lambda"));
        attributes.put(
            keys::CLOUD_REGION,
            env.get("AWS_REGION")
                .or_else(|| env.get("AWS_DEFAULT_REGION")),
        );
        attributes.put(keys::FAAS_NAME, Some(name));
        attributes.put(keys::FAAS_VERSION, env.get("AWS_LAMBDA_FUNCTION_VERSION"));
        attributes.put(keys::FAAS_INSTANCE, env.get("AWS_LAMBDA_LOG_STREAM_NAME"));
        attributes.put(
            keys::FAAS_MAX_MEMORY,
            mib_to_bytes(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")),
        );
        if let Some(group) = env.get("AWS_LAMBDA_LOG_GROUP_NAME") {
            attributes.put(
                keys::AWS_LOG_GROUP_NAMES,
                Some(Value::Array(
                    vec![opentelemetry::StringValue::from(group)].into(),
                )),
            );
        }
        if let Some(arn) = self.function_arn.as_deref()
            && let Some(parsed) = LambdaArn::parse(arn)
        {
            attributes.put(
                keys::CLOUD_RESOURCE_ID,
                Some(parsed.unqualified(arn).to_owned()),
            );
            attributes.put(keys::CLOUD_ACCOUNT_ID, Some(parsed.account_id.to_owned()));
        }
        attributes.build()
    }
}

/// Azure Functions: detected when both `FUNCTIONS_WORKER_RUNTIME` and `WEBSITE_SITE_NAME` are set
/// (App Service without Functions has only the latter).
#[derive(Clone, Debug, Default)]
pub struct AzureFunctionsResourceDetector {
    env: EnvSource,
}

impl AzureFunctionsResourceDetector {
    /// Reads the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the given environment instead of the process's.
    pub fn with_env(env: EnvSource) -> Self {
        Self { env }
    }
}

impl ResourceDetector for AzureFunctionsResourceDetector {
    fn detect(&self) -> Resource {
        let env = &self.env;
        let (true, Some(site)) = (
            env.has("FUNCTIONS_WORKER_RUNTIME"),
            env.get("WEBSITE_SITE_NAME"),
        ) else {
            return Resource::builder_empty().build();
        };
        let mut attributes = Attributes::default();
        attributes.put(keys::CLOUD_PROVIDER, Some("azure"));
        attributes.put(keys::CLOUD_PLATFORM, Some("azure.functions"));
        attributes.put(keys::CLOUD_REGION, env.get("REGION_NAME"));
        attributes.put(keys::FAAS_VERSION, env.get("FUNCTIONS_EXTENSION_VERSION"));
        attributes.put(keys::FAAS_INSTANCE, env.get("WEBSITE_INSTANCE_ID"));
        attributes.put(
            keys::FAAS_MAX_MEMORY,
            mib_to_bytes(env.get("WEBSITE_MEMORY_LIMIT_MB")),
        );
        // WEBSITE_OWNER_NAME is `<subscription id>+<resource group>-<region>webspace[-Linux]`.
        let subscription = env
            .get("WEBSITE_OWNER_NAME")
            .and_then(|owner| owner.split_once('+').map(|(sub, _)| sub.trim().to_owned()))
            .filter(|sub| !sub.is_empty());
        if let (Some(subscription), Some(group)) =
            (subscription.as_deref(), env.get("WEBSITE_RESOURCE_GROUP"))
        {
            attributes.put(
                keys::CLOUD_RESOURCE_ID,
                Some(format!(
                    "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/sites/{site}"
                )),
            );
        }
        attributes.put(keys::CLOUD_ACCOUNT_ID, subscription);
        attributes.put(keys::FAAS_NAME, Some(site));
        attributes.build()
    }
}

/// Google Cloud Functions (`FUNCTION_TARGET` set, 2nd gen or 1st gen) and Cloud Run services
/// (`K_CONFIGURATION` set without `FUNCTION_TARGET`).
///
/// The environment gives `faas.name` and `faas.version`; the project, region and instance ID
/// come from the metadata server when [`GcpResourceDetector::with_metadata_server`] enables it,
/// with a short timeout so that detection outside GCP costs at most that timeout per request.
/// Environment fallbacks (`GOOGLE_CLOUD_PROJECT`, `GCP_PROJECT`, `FUNCTION_REGION`) fill in when
/// the metadata server is disabled or unreachable.
#[derive(Clone, Debug, Default)]
pub struct GcpResourceDetector {
    env: EnvSource,
    metadata: Option<MetadataServer>,
}

#[derive(Clone, Debug)]
struct MetadataServer {
    address: String,
    timeout: Duration,
}

/// The metadata server's documented address.
pub const GCP_METADATA_ADDRESS: &str = "metadata.google.internal:80";

impl GcpResourceDetector {
    /// Reads the process environment; the metadata server is not queried.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the given environment instead of the process's.
    pub fn with_env(env: EnvSource) -> Self {
        Self {
            env,
            metadata: None,
        }
    }

    /// Also queries the metadata server at `address` (`host:port`, normally
    /// [`GCP_METADATA_ADDRESS`]); each request gives up after `timeout`.
    pub fn with_metadata_server(mut self, address: impl Into<String>, timeout: Duration) -> Self {
        self.metadata = Some(MetadataServer {
            address: address.into(),
            timeout,
        });
        self
    }
}

impl MetadataServer {
    /// GETs `/computeMetadata/v1/<path>`; any failure (unreachable, timeout, non-200, not UTF-8)
    /// is `None`.
    fn get(&self, path: &str) -> Option<String> {
        let address: SocketAddr = self.address.to_socket_addrs().ok()?.next()?;
        let mut stream = TcpStream::connect_timeout(&address, self.timeout).ok()?;
        stream.set_read_timeout(Some(self.timeout)).ok()?;
        stream.set_write_timeout(Some(self.timeout)).ok()?;
        let request = format!(
            "GET /computeMetadata/v1/{path} HTTP/1.0\r\nHost: metadata.google.internal\r\nMetadata-Flavor: Google\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = Vec::new();
        // The metadata values are short; refuse to read more than 64 KiB from anything else.
        stream.take(64 * 1024).read_to_end(&mut response).ok()?;
        let text = String::from_utf8(response).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status_line = head.lines().next()?;
        let mut status = status_line.split_whitespace();
        let (Some(version), Some("200")) = (status.next(), status.next()) else {
            return None;
        };
        if !version.starts_with("HTTP/1.") {
            return None;
        }
        let flavored = head.lines().skip(1).any(|line| {
            line.split_once(':').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("metadata-flavor")
                    && value.trim().eq_ignore_ascii_case("google")
            })
        });
        let body = body.trim();
        (flavored && !body.is_empty()).then(|| body.to_owned())
    }
}

impl ResourceDetector for GcpResourceDetector {
    fn detect(&self) -> Resource {
        let env = &self.env;
        let platform = if env.has("FUNCTION_TARGET") || env.has("X_GOOGLE_FUNCTION_NAME") {
            "gcp_cloud_functions"
        } else if env.has("K_CONFIGURATION") {
            "gcp_cloud_run"
        } else {
            return Resource::builder_empty().build();
        };
        let name = env
            .get("K_SERVICE")
            .or_else(|| env.get("FUNCTION_NAME"))
            .or_else(|| env.get("X_GOOGLE_FUNCTION_NAME"));
        let version = env
            .get("K_REVISION")
            .or_else(|| env.get("X_GOOGLE_FUNCTION_VERSION"));

        let from_metadata = |path: &str| self.metadata.as_ref().and_then(|m| m.get(path));
        let project = from_metadata("project/project-id")
            .or_else(|| env.get("GOOGLE_CLOUD_PROJECT"))
            .or_else(|| env.get("GCP_PROJECT"));
        // The metadata server answers `projects/<number>/regions/<region>`.
        let region = from_metadata("instance/region")
            .and_then(|full| full.rsplit('/').next().map(str::to_owned))
            .filter(|region| !region.is_empty())
            .or_else(|| env.get("FUNCTION_REGION"));
        let instance = from_metadata("instance/id");

        let mut attributes = Attributes::default();
        attributes.put(keys::CLOUD_PROVIDER, Some("gcp"));
        attributes.put(keys::CLOUD_PLATFORM, Some(platform));
        if let (Some(project), Some(region), Some(name)) = (&project, &region, &name) {
            let collection = if platform == "gcp_cloud_run" {
                format!(
                    "//run.googleapis.com/projects/{project}/locations/{region}/services/{name}"
                )
            } else {
                format!(
                    "//cloudfunctions.googleapis.com/projects/{project}/locations/{region}/functions/{name}"
                )
            };
            attributes.put(keys::CLOUD_RESOURCE_ID, Some(collection));
        }
        attributes.put(keys::CLOUD_ACCOUNT_ID, project);
        attributes.put(keys::CLOUD_REGION, region);
        attributes.put(keys::FAAS_NAME, name);
        attributes.put(keys::FAAS_VERSION, version);
        attributes.put(keys::FAAS_INSTANCE, instance);
        attributes.put(
            keys::FAAS_MAX_MEMORY,
            mib_to_bytes(env.get("FUNCTION_MEMORY_MB")),
        );
        attributes.build()
    }
}

/// Runs every detector of this crate; the first platform that matches wins (a process runs on
/// one platform), and an empty resource means none matched.
#[derive(Clone, Debug, Default)]
pub struct FaasResourceDetector {
    lambda: LambdaResourceDetector,
    azure: AzureFunctionsResourceDetector,
    gcp: GcpResourceDetector,
}

impl FaasResourceDetector {
    /// Reads the process environment; GCP's metadata server is not queried.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the given environment instead of the process's.
    pub fn with_env(env: EnvSource) -> Self {
        Self {
            lambda: LambdaResourceDetector::with_env(env.clone()),
            azure: AzureFunctionsResourceDetector::with_env(env.clone()),
            gcp: GcpResourceDetector::with_env(env),
        }
    }

    /// Lets the GCP detector query the metadata server (see
    /// [`GcpResourceDetector::with_metadata_server`]).
    pub fn with_gcp_metadata_server(
        mut self,
        address: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        self.gcp = self.gcp.with_metadata_server(address, timeout);
        self
    }
}

impl ResourceDetector for FaasResourceDetector {
    fn detect(&self) -> Resource {
        [self.lambda.detect(), self.azure.detect(), self.gcp.detect()]
            .into_iter()
            .find(|resource| !resource.is_empty())
            .unwrap_or_else(|| Resource::builder_empty().build())
    }
}
