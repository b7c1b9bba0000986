use super::*;

#[test]
fn prefixed_query_parameters_become_attributes_without_the_prefix() {
    assert_eq!(
        attributes(
            "dim:",
            Some("dim:env=prod&dim:empty=&other=x&dim:env=second&dim%3Ahost=a+b")
        )
        .unwrap(),
        [
            ("env".to_owned(), "prod".to_owned()),
            ("host".to_owned(), "a b".to_owned())
        ]
    );
    assert!(attributes("", Some("dim:env=prod")).unwrap().is_empty());
    assert!(attributes("dim:", None).unwrap().is_empty());
    assert!(attributes("dim:", Some("dim:x=%zz")).is_err());
}

#[test]
fn otelcol_configs_are_read_and_other_encodings_refused() {
    let config: CollectdConfig = serde_norway::from_str(
        r#"{ endpoint: "localhost:12345", timeout: 50s, attributes_prefix: "dap_", encoding: JSON }"#,
    )
    .expect("otelcol's keys");
    assert!(Factory.validate(&config).is_ok());
    assert_eq!(config.timeout, Duration::from_secs(50));
    let config: CollectdConfig =
        serde_norway::from_str("{ encoding: command }").expect("well-formed");
    let problems = Factory.validate(&config).expect_err("invalid").lines();
    assert!(
        problems[0].contains("encoding") && problems[0].contains("only json"),
        "{problems:?}"
    );
    let defaults: CollectdConfig = serde_norway::from_str("{}").expect("empty");
    assert_eq!(defaults.endpoint, "localhost:8081");
}
