use super::*;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint, metric::Data};

fn problems(yaml: &str) -> Vec<(String, String)> {
    crate::component::problems(&Factory, "receivers.httpcheck", yaml)
}

#[test]
fn otelcol_s_readme_example_is_taken_as_written() {
    let yaml = r#"
collection_interval: 30s
targets:
  - method: "GET"
    endpoints:
      - "https://opentelemetry.io"
  - method: "GET"
    endpoints:
      - "http://localhost:8080/hello1"
      - "http://localhost:8080/hello2"
    headers:
      Authorization: "Bearer <your_bearer_token>"
  - method: "GET"
    endpoint: "http://localhost:8080/hello"
    headers:
      Authorization: "Bearer <your_bearer_token>"
"#;
    assert_eq!(problems(yaml), Vec::new());
    let config: HttpCheckConfig = serde_norway::from_str(yaml).unwrap();
    assert_eq!(config.collection_interval, Duration::from_secs(30));
    let urls: Vec<&str> = config.targets.iter().flat_map(Target::urls).collect();
    assert_eq!(
        urls,
        [
            "https://opentelemetry.io",
            "http://localhost:8080/hello1",
            "http://localhost:8080/hello2",
            "http://localhost:8080/hello"
        ]
    );
    assert_eq!(config.targets[0].timeout(), Duration::from_secs(30));
}

#[test]
fn bad_targets_are_named_with_the_reason() {
    let found = problems(
        r#"
targets:
  - method: "GET NOW"
    endpoint: localhost:8080
  - headers: { Accept: json }
  - endpoint: ftp://example.com/file
metrics:
  httpcheck.durations: { enabled: false }
"#,
    );
    let text: Vec<String> = found.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    let text = text.join("\n");
    assert!(
        text.contains("targets[0].endpoint: `localhost:8080` must be in the form"),
        "{text}"
    );
    assert!(
        text.contains("targets[0].method: `GET NOW` is not an HTTP method"),
        "{text}"
    );
    assert!(
        text.contains("targets[1]: `endpoint` or `endpoints` must be specified"),
        "{text}"
    );
    assert!(
        text.contains("targets[2].endpoint: `ftp://example.com/file` must be in the form"),
        "{text}"
    );
    assert!(
        text.contains("metrics.httpcheck.durations: there is no metric"),
        "{text}"
    );
    assert_eq!(found.len(), 5, "{text}");
    assert!(
        problems("collection_interval: 10s")
            .iter()
            .any(|(p, m)| p.ends_with("targets") && m.contains("no targets"))
    );
    assert!(
        problems("targets: [{endpoint: http://x, timout: 1s}]")
            .iter()
            .any(|(_, m)| m.contains("timout"))
    );
}

fn check(url: &str) -> Check {
    let tls = crate::ClientTlsSettings::default();
    Check {
        seen: None,
        server_name: String::new(),
        url: url.to_owned(),
        uri: http_url(url).unwrap(),
        method: http::Method::GET,
        headers: http::HeaderMap::new(),
        client: Arc::new(
            HttpClient::new(&tls, &Default::default(), Duration::from_secs(1)).unwrap(),
        ),
    }
}

fn recorded(outcome: Outcome) -> Vec<Metric> {
    let enabled = Enabled::new(SPECS, &Default::default());
    let mut out = Builder::new(
        SPECS,
        &enabled,
        Clock {
            now: outcome.at,
            start: 7,
        },
    );
    check("http://svc:8080/health").record(&outcome, &mut out);
    out.finish()
}

fn points<'a>(metrics: &'a [Metric], name: &str) -> Vec<&'a NumberDataPoint> {
    metrics
        .iter()
        .filter(|m| m.name == name)
        .flat_map(|m| match &m.data {
            Some(Data::Sum(sum)) => sum.data_points.iter().collect::<Vec<_>>(),
            Some(Data::Gauge(gauge)) => gauge.data_points.iter().collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn attribute(point: &NumberDataPoint, key: &str) -> Option<String> {
    point.attributes.iter().find(|kv| kv.key == key).map(|kv| {
        match &kv.value.as_ref().unwrap().value {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            Some(any_value::Value::IntValue(i)) => format!("int {i}"),
            other => format!("{other:?}"),
        }
    })
}

#[test]
fn an_answer_is_one_in_its_class_with_its_code_and_zero_in_the_others_without() {
    let metrics = recorded(Outcome {
        at: 100,
        elapsed: Duration::from_millis(42),
        status: Ok(503),
        certificate: None,
    });
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["httpcheck.duration", "httpcheck.status"]);
    let duration = points(&metrics, "httpcheck.duration");
    assert_eq!(duration[0].value, Some(Value::AsInt(42)));
    assert_eq!(
        attribute(duration[0], "http.url").as_deref(),
        Some("http://svc:8080/health")
    );
    let status = points(&metrics, "httpcheck.status");
    assert_eq!(status.len(), 5);
    for point in status {
        let class = attribute(point, "http.status_class").unwrap();
        assert_eq!(attribute(point, "http.method").as_deref(), Some("GET"));
        assert_eq!(
            point.start_time_unix_nano, 7,
            "a cumulative sum since the receiver started"
        );
        if class == "5xx" {
            assert_eq!(point.value, Some(Value::AsInt(1)));
            assert_eq!(
                attribute(point, "http.status_code").as_deref(),
                Some("int 503")
            );
        } else {
            assert_eq!(point.value, Some(Value::AsInt(0)));
            assert_eq!(attribute(point, "http.status_code"), None, "{class}");
        }
    }
}

#[test]
fn no_answer_is_an_error_with_its_message_and_every_class_zero() {
    let metrics = recorded(Outcome {
        at: 100,
        elapsed: Duration::from_millis(3),
        status: Err("connection refused".into()),
        certificate: None,
    });
    let error = points(&metrics, "httpcheck.error");
    assert_eq!(error.len(), 1);
    assert_eq!(error[0].value, Some(Value::AsInt(1)));
    assert_eq!(
        attribute(error[0], "error.message").as_deref(),
        Some("connection refused")
    );
    let status = points(&metrics, "httpcheck.status");
    assert_eq!(status.len(), 5);
    assert!(status.iter().all(|p| p.value == Some(Value::AsInt(0))));
    assert_eq!(points(&metrics, "httpcheck.duration").len(), 1);
}

#[test]
fn a_certificate_is_its_seconds_left_with_otelcol_s_attributes() {
    let toggles = [(
        "httpcheck.tls.cert_remaining".to_owned(),
        crate::receiver::scraper::metric::Toggle { enabled: true },
    )]
    .into_iter()
    .collect();
    let enabled = Enabled::new(SPECS, &toggles);
    let at = 1_900_000_000 * 1_000_000_000;
    let mut out = Builder::new(SPECS, &enabled, Clock { now: at, start: 7 });
    let outcome = Outcome {
        at,
        elapsed: Duration::from_millis(5),
        status: Ok(200),
        certificate: Some(Certificate {
            not_after: 1_900_000_000 + 86_400,
            issuer: "CN=Example CA,O=Example,C=US".into(),
            common_name: "web.example".into(),
            alternative_names: vec!["127.0.0.1".into(), "web.example".into()],
        }),
    };
    check("https://web.example/").record(&outcome, &mut out);
    let metrics = out.finish();
    let remaining = points(&metrics, "httpcheck.tls.cert_remaining");
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].value, Some(Value::AsInt(86_400)));
    assert_eq!(
        attribute(remaining[0], "http.tls.issuer").as_deref(),
        Some("CN=Example CA,O=Example,C=US")
    );
    assert_eq!(
        attribute(remaining[0], "http.tls.cn").as_deref(),
        Some("web.example")
    );
    let san = remaining[0]
        .attributes
        .iter()
        .find(|kv| kv.key == "http.tls.san")
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref());
    let Some(any_value::Value::ArrayValue(names)) = san else {
        panic!("http.tls.san is a list: {san:?}")
    };
    assert_eq!(names.values.len(), 2);
    // Checks of plain http, and failed checks, have no certificate and so no point: recorded() leaves it out.
    let none = recorded(Outcome {
        at,
        elapsed: Duration::from_millis(5),
        status: Ok(200),
        certificate: None,
    });
    assert!(points(&none, "httpcheck.tls.cert_remaining").is_empty());
}
