//! The `tlscheck` receiver checking real TLS servers (rustls, on free loopback ports: one with the test PKI's
//! certificate, one with a self-signed certificate that expired in 2020) and the test PKI's PEM file, compared
//! with what the certificates say.

mod common;

use common::{TestCollector, free_port, read_metrics, wait_for_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{NumberDataPoint, metric::Data, number_data_point};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// A TLS server on a free loopback port presenting `certificate` (PEM) with `key`, taking handshakes until the test
/// ends; its port.
async fn tls_server(certificate: &str, key: &str) -> u16 {
    let chain = vec![CertificateDer::from_pem_slice(certificate.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    port
}

/// A self-signed certificate for `expired.test` that was valid in 2019 only, and its key.
fn expired_certificate() -> (String, String, i64) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["expired.test".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "expired.test");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Test, Inc.");
    params.not_before = rcgen::date_time_ymd(2019, 1, 1);
    params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    let certificate = params.self_signed(&key).unwrap();
    (certificate.pem(), key.serialize_pem(), 1_577_836_800)
}

fn not_after(pem_file: &Path) -> i64 {
    let pem = std::fs::read(pem_file).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    pem.parse_x509().unwrap().validity().not_after.timestamp()
}

/// The target of each point of `tlscheck.time_left` in `request`, with the point.
fn by_target(request: &ExportMetricsServiceRequest) -> Vec<(String, &NumberDataPoint)> {
    request
        .resource_metrics
        .iter()
        .map(|rm| {
            let target = rm.resource.as_ref().unwrap().attributes[0]
                .value
                .as_ref()
                .and_then(|v| v.value.as_ref());
            let Some(Value::StringValue(target)) = target else {
                panic!("{target:?}")
            };
            let metric = &rm.scope_metrics[0].metrics[0];
            assert_eq!(
                (metric.name.as_str(), metric.unit.as_str()),
                ("tlscheck.time_left", "s")
            );
            let Some(Data::Gauge(gauge)) = &metric.data else {
                panic!("{metric:?}")
            };
            (target.clone(), &gauge.data_points[0])
        })
        .collect()
}

fn attribute<'a>(point: &'a NumberDataPoint, key: &str) -> &'a Value {
    point
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .unwrap_or_else(|| panic!("no {key}"))
}

fn seconds(point: &NumberDataPoint) -> (i64, i64) {
    let Some(number_data_point::Value::AsInt(left)) = point.value else {
        panic!("{point:?}")
    };
    (
        left,
        i64::try_from(point.time_unix_nano / 1_000_000_000).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_and_files_report_the_seconds_their_certificates_have_left() {
    let pki = tempfile::tempdir().unwrap();
    common::pki::write_pki(pki.path());
    let read = |name: &str| std::fs::read_to_string(pki.path().join(name)).unwrap();
    let valid = tls_server(&read("server.pem"), &read("server-key.pem")).await;
    let (expired_pem, expired_key, expired_at) = expired_certificate();
    let expired = tls_server(&expired_pem, &expired_key).await;
    let closed = free_port();
    let file = pki.path().join("server.pem");
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  tlscheck:
    targets:
      - endpoint: "localhost:{valid}"
      - endpoint: "127.0.0.1:{expired}"
      - endpoint: "127.0.0.1:{closed}"
      - file_path: {file}
    collection_interval: 200ms
    initial_delay: 0s
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [tlscheck], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        file = file.display()
    ))
    .await;
    let path = collector.path("metrics.jsonl");
    wait_for_metrics(&path, |requests| requests.len() >= 2).await;
    let requests = read_metrics(&path, true);
    let found = by_target(&requests[requests.len() - 1]);
    let targets: Vec<&str> = found.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        targets,
        [
            format!("localhost:{valid}"),
            format!("127.0.0.1:{expired}"),
            file.display().to_string()
        ],
        "the closed port reports nothing"
    );
    let valid_until = not_after(&file);
    for (_, point) in [&found[0], &found[2]] {
        let (left, now) = seconds(point);
        assert_eq!(left, valid_until - now);
        assert_eq!(
            attribute(point, "tlscheck.x509.issuer"),
            &Value::StringValue("CN=otlp-testkit CA".into())
        );
        assert_eq!(
            attribute(point, "tlscheck.x509.cn"),
            &Value::StringValue("rcgen self signed cert".into())
        );
        let Value::ArrayValue(names) = attribute(point, "tlscheck.x509.san") else {
            panic!()
        };
        let names: Vec<&Value> = names
            .values
            .iter()
            .filter_map(|v| v.value.as_ref())
            .collect();
        assert_eq!(
            names,
            [
                &Value::StringValue("127.0.0.1".into()),
                &Value::StringValue("localhost".into())
            ],
            "IP addresses first, as otelcol lists them"
        );
    }
    let (left, now) = seconds(found[1].1);
    assert_eq!(left, expired_at - now, "negative: seconds since it expired");
    assert!(left < 0);
    assert_eq!(
        attribute(found[1].1, "tlscheck.x509.issuer"),
        &Value::StringValue(r"CN=expired.test,O=Test\, Inc.".into()),
        "Go's escaping of the issuer's comma"
    );
    collector.shut_down_cleanly().await;
}
