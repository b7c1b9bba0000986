//! Resource detection per platform from environment variables, including missing, blank and
//! malformed values, and GCP's metadata server (a local one, and an unreachable one).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use opentelemetry::{Key, Value};
use opentelemetry_sdk::resource::{Resource, ResourceDetector};
use otlp_faas::detect::keys;
use otlp_faas::{
    AzureFunctionsResourceDetector, EnvSource, FaasResourceDetector, GcpResourceDetector,
    LambdaArn, LambdaResourceDetector,
};

fn text(resource: &Resource, key: &str) -> Option<String> {
    resource
        .get(&Key::from(key.to_owned()))
        .map(|value| value.to_string())
}

fn int(resource: &Resource, key: &str) -> Option<i64> {
    match resource.get(&Key::from(key.to_owned()))? {
        Value::I64(number) => Some(number),
        other => panic!("{key} is not an integer: {other:?}"),
    }
}

const LAMBDA: [(&str, &str); 7] = [
    ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
    ("AWS_REGION", "eu-west-1"),
    ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/21/[$LATEST]8f3b2c"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders"),
    ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
];

#[test]
fn lambda_from_its_environment() {
    let resource = LambdaResourceDetector::with_env(EnvSource::from_pairs(LAMBDA))
        .with_function_arn("arn:aws:lambda:eu-west-1:123456789012:function:orders:live")
        .detect();
    assert_eq!(
        text(&resource, keys::CLOUD_PROVIDER).as_deref(),
        Some("aws")
    );
    assert_eq!(
        text(&resource, keys::CLOUD_PLATFORM).as_deref(),
        Some("aws_lambda")
    );
    assert_eq!(
        text(&resource, keys::CLOUD_REGION).as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(text(&resource, keys::FAAS_NAME).as_deref(), Some("orders"));
    assert_eq!(
        text(&resource, keys::FAAS_VERSION).as_deref(),
        Some("$LATEST")
    );
    assert_eq!(
        text(&resource, keys::FAAS_INSTANCE).as_deref(),
        Some("2026/11/21/[$LATEST]8f3b2c")
    );
    assert_eq!(
        int(&resource, keys::FAAS_MAX_MEMORY),
        Some(1024 * 1024 * 1024)
    );
    assert_eq!(
        text(&resource, keys::CLOUD_ACCOUNT_ID).as_deref(),
        Some("123456789012")
    );
    assert_eq!(
        text(&resource, keys::CLOUD_RESOURCE_ID).as_deref(),
        Some("arn:aws:lambda:eu-west-1:123456789012:function:orders")
    );
    assert!(
        text(&resource, keys::AWS_LOG_GROUP_NAMES)
            .unwrap()
            .contains("/aws/lambda/orders")
    );
}

#[test]
fn lambda_with_missing_and_malformed_values_leaves_attributes_out() {
    let env = EnvSource::from_pairs([
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "   "),
    ]);
    let resource = LambdaResourceDetector::with_env(env)
        .with_function_arn("arn:aws:lambda:eu-west-1:not-an-account:function:orders")
        .detect();
    assert_eq!(text(&resource, keys::FAAS_NAME).as_deref(), Some("orders"));
    for absent in [
        keys::FAAS_MAX_MEMORY,
        keys::FAAS_VERSION,
        keys::CLOUD_REGION,
        keys::FAAS_INSTANCE,
        keys::CLOUD_ACCOUNT_ID,
        keys::CLOUD_RESOURCE_ID,
    ] {
        assert_eq!(text(&resource, absent), None, "{absent}");
    }
    for memory in ["-128", "0", "99999999999999999999", "12.5"] {
        let env = EnvSource::from_pairs([
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory),
        ]);
        let resource = LambdaResourceDetector::with_env(env).detect();
        assert_eq!(int(&resource, keys::FAAS_MAX_MEMORY), None, "{memory}");
    }
}

#[test]
fn not_on_a_platform_gives_an_empty_resource() {
    let env = EnvSource::from_pairs([("HOME", "/root"), ("WEBSITE_SITE_NAME", "an-app-service")]);
    assert!(
        LambdaResourceDetector::with_env(env.clone())
            .detect()
            .is_empty()
    );
    assert!(
        AzureFunctionsResourceDetector::with_env(env.clone())
            .detect()
            .is_empty()
    );
    assert!(
        GcpResourceDetector::with_env(env.clone())
            .detect()
            .is_empty()
    );
    assert!(FaasResourceDetector::with_env(env).detect().is_empty());
}

#[test]
fn lambda_arns_parse_strictly() {
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders:7";
    let parsed = LambdaArn::parse(arn).unwrap();
    assert_eq!(parsed.region, "us-east-1");
    assert_eq!(parsed.account_id, "123456789012");
    assert_eq!(parsed.function_name, "orders");
    assert_eq!(parsed.qualifier, Some("7"));
    assert_eq!(
        parsed.unqualified(arn),
        "arn:aws:lambda:us-east-1:123456789012:function:orders"
    );
    for bad in [
        "",
        "arn:aws:lambda",
        "arn:aws:sqs:us-east-1:123456789012:orders",
        "arn:aws:lambda:us-east-1:12345:function:orders",
        "arn:aws:lambda:us-east-1:123456789012:layer:orders",
        "arn:aws:lambda:us-east-1:123456789012:function:",
        "arn:aws:lambda:us-east-1:123456789012:function:orders:",
        "arn:aws:lambda:us-east-1:123456789012:function:orders:7:extra",
    ] {
        assert_eq!(LambdaArn::parse(bad), None, "{bad}");
    }
}

#[test]
fn azure_functions_from_its_environment() {
    let env = EnvSource::from_pairs([
        ("FUNCTIONS_WORKER_RUNTIME", "custom"),
        ("WEBSITE_SITE_NAME", "orders-func"),
        ("REGION_NAME", "West Europe"),
        ("FUNCTIONS_EXTENSION_VERSION", "~4"),
        ("WEBSITE_INSTANCE_ID", "e7a1c0ffee"),
        ("WEBSITE_MEMORY_LIMIT_MB", "1536"),
        (
            "WEBSITE_OWNER_NAME",
            "0b9e5f4a-1111-2222-3333-444455556666+orders-rg-WestEuropewebspace-Linux",
        ),
        ("WEBSITE_RESOURCE_GROUP", "orders-rg"),
    ]);
    let resource = AzureFunctionsResourceDetector::with_env(env.clone()).detect();
    assert_eq!(
        text(&resource, keys::CLOUD_PROVIDER).as_deref(),
        Some("azure")
    );
    assert_eq!(
        text(&resource, keys::CLOUD_PLATFORM).as_deref(),
        Some("azure.functions")
    );
    assert_eq!(
        text(&resource, keys::CLOUD_REGION).as_deref(),
        Some("West Europe")
    );
    assert_eq!(
        text(&resource, keys::FAAS_NAME).as_deref(),
        Some("orders-func")
    );
    assert_eq!(text(&resource, keys::FAAS_VERSION).as_deref(), Some("~4"));
    assert_eq!(
        text(&resource, keys::FAAS_INSTANCE).as_deref(),
        Some("e7a1c0ffee")
    );
    assert_eq!(
        int(&resource, keys::FAAS_MAX_MEMORY),
        Some(1536 * 1024 * 1024)
    );
    assert_eq!(
        text(&resource, keys::CLOUD_ACCOUNT_ID).as_deref(),
        Some("0b9e5f4a-1111-2222-3333-444455556666")
    );
    assert_eq!(
        text(&resource, keys::CLOUD_RESOURCE_ID).as_deref(),
        Some(
            "/subscriptions/0b9e5f4a-1111-2222-3333-444455556666/resourceGroups/orders-rg/providers/Microsoft.Web/sites/orders-func"
        )
    );
    // The combined detector picks the same platform.
    assert_eq!(
        text(
            &FaasResourceDetector::with_env(env).detect(),
            keys::CLOUD_PLATFORM
        )
        .as_deref(),
        Some("azure.functions")
    );
}

#[test]
fn azure_with_malformed_owner_has_no_account_or_resource_id() {
    for owner in ["no-plus-sign", "+orders-rg", ""] {
        let env = EnvSource::from_pairs([
            ("FUNCTIONS_WORKER_RUNTIME", "node"),
            ("WEBSITE_SITE_NAME", "orders-func"),
            ("WEBSITE_OWNER_NAME", owner),
            ("WEBSITE_RESOURCE_GROUP", "orders-rg"),
            ("WEBSITE_MEMORY_LIMIT_MB", "a lot"),
        ]);
        let resource = AzureFunctionsResourceDetector::with_env(env).detect();
        assert_eq!(
            text(&resource, keys::FAAS_NAME).as_deref(),
            Some("orders-func")
        );
        assert_eq!(text(&resource, keys::CLOUD_ACCOUNT_ID), None, "{owner}");
        assert_eq!(text(&resource, keys::CLOUD_RESOURCE_ID), None, "{owner}");
        assert_eq!(int(&resource, keys::FAAS_MAX_MEMORY), None);
    }
}

#[test]
fn gcp_cloud_run_and_functions_from_the_environment() {
    let run = GcpResourceDetector::with_env(EnvSource::from_pairs([
        ("K_SERVICE", "orders"),
        ("K_REVISION", "orders-00042-abc"),
        ("K_CONFIGURATION", "orders"),
        ("GOOGLE_CLOUD_PROJECT", "shop-prod"),
    ]))
    .detect();
    assert_eq!(text(&run, keys::CLOUD_PROVIDER).as_deref(), Some("gcp"));
    assert_eq!(
        text(&run, keys::CLOUD_PLATFORM).as_deref(),
        Some("gcp_cloud_run")
    );
    assert_eq!(text(&run, keys::FAAS_NAME).as_deref(), Some("orders"));
    assert_eq!(
        text(&run, keys::FAAS_VERSION).as_deref(),
        Some("orders-00042-abc")
    );
    assert_eq!(
        text(&run, keys::CLOUD_ACCOUNT_ID).as_deref(),
        Some("shop-prod")
    );
    // No region without the metadata server or FUNCTION_REGION, so no resource ID either.
    assert_eq!(text(&run, keys::CLOUD_REGION), None);
    assert_eq!(text(&run, keys::CLOUD_RESOURCE_ID), None);

    let functions = GcpResourceDetector::with_env(EnvSource::from_pairs([
        ("FUNCTION_TARGET", "handle"),
        ("K_SERVICE", "thumbnails"),
        ("K_REVISION", "7"),
        ("K_CONFIGURATION", "thumbnails"),
        ("GCP_PROJECT", "shop-prod"),
        ("FUNCTION_REGION", "europe-west1"),
        ("FUNCTION_MEMORY_MB", "256"),
    ]))
    .detect();
    assert_eq!(
        text(&functions, keys::CLOUD_PLATFORM).as_deref(),
        Some("gcp_cloud_functions")
    );
    assert_eq!(
        text(&functions, keys::CLOUD_REGION).as_deref(),
        Some("europe-west1")
    );
    assert_eq!(
        int(&functions, keys::FAAS_MAX_MEMORY),
        Some(256 * 1024 * 1024)
    );
    assert_eq!(
        text(&functions, keys::CLOUD_RESOURCE_ID).as_deref(),
        Some(
            "//cloudfunctions.googleapis.com/projects/shop-prod/locations/europe-west1/functions/thumbnails"
        )
    );
}

/// Serves `count` metadata requests the way metadata.google.internal does; requests without
/// `Metadata-Flavor: Google` get 403, as there.
fn metadata_server(count: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut flavored = false;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                flavored |= line
                    .to_ascii_lowercase()
                    .starts_with("metadata-flavor: google");
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or_default();
            let body = match path {
                "/computeMetadata/v1/project/project-id" => Some("shop-prod"),
                "/computeMetadata/v1/instance/region" => {
                    Some("projects/123456789/regions/us-central1")
                }
                "/computeMetadata/v1/instance/id" => Some("0087244a4d1d0d5cb3f4"),
                _ => None,
            };
            let response = match (flavored, body) {
                (true, Some(body)) => format!(
                    "HTTP/1.1 200 OK\r\nMetadata-Flavor: Google\r\nContent-Type: application/text\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                ),
                _ => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_owned(),
            };
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    address
}

#[test]
fn gcp_reads_project_region_and_instance_from_the_metadata_server() {
    let address = metadata_server(3);
    let resource = GcpResourceDetector::with_env(EnvSource::from_pairs([
        ("K_SERVICE", "orders"),
        ("K_REVISION", "orders-00042-abc"),
        ("K_CONFIGURATION", "orders"),
        ("GOOGLE_CLOUD_PROJECT", "from-env-is-only-a-fallback"),
    ]))
    .with_metadata_server(address, Duration::from_secs(5))
    .detect();
    assert_eq!(
        text(&resource, keys::CLOUD_ACCOUNT_ID).as_deref(),
        Some("shop-prod")
    );
    assert_eq!(
        text(&resource, keys::CLOUD_REGION).as_deref(),
        Some("us-central1")
    );
    assert_eq!(
        text(&resource, keys::FAAS_INSTANCE).as_deref(),
        Some("0087244a4d1d0d5cb3f4")
    );
    assert_eq!(
        text(&resource, keys::CLOUD_RESOURCE_ID).as_deref(),
        Some("//run.googleapis.com/projects/shop-prod/locations/us-central1/services/orders")
    );
}

#[test]
fn gcp_falls_back_to_the_environment_when_the_metadata_server_is_unreachable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let resource = GcpResourceDetector::with_env(EnvSource::from_pairs([
        ("K_SERVICE", "orders"),
        ("K_CONFIGURATION", "orders"),
        ("GOOGLE_CLOUD_PROJECT", "shop-prod"),
    ]))
    .with_metadata_server(format!("127.0.0.1:{port}"), Duration::from_millis(200))
    .detect();
    assert_eq!(
        text(&resource, keys::CLOUD_ACCOUNT_ID).as_deref(),
        Some("shop-prod")
    );
    assert_eq!(text(&resource, keys::FAAS_INSTANCE), None);
    // An address that does not even resolve is no different.
    let resource =
        GcpResourceDetector::with_env(EnvSource::from_pairs([("K_CONFIGURATION", "orders")]))
            .with_metadata_server("not an address", Duration::from_millis(200))
            .detect();
    assert_eq!(
        text(&resource, keys::CLOUD_PLATFORM).as_deref(),
        Some("gcp_cloud_run")
    );
    assert_eq!(text(&resource, keys::FAAS_NAME), None);
}
