use super::*;
use crate::component::Component;

#[test]
fn otelcol_configs_are_read_with_its_defaults() {
    let config: CarbonConfig = serde_norway::from_str(
        r#"
endpoint: localhost:8080
transport: udp
parser:
  type: regex
  config:
    rules:
      - regexp: "(?P<key_base>test)\\.env(?P<key_env>[^.]*)\\.(?P<key_host>[^.]*)"
        name_prefix: "name-prefix"
        labels:
          dot.key: dot.value
          key: value
        type: cumulative
      - regexp: "(?P<key_just>test)\\.(?P<key_match>.*)"
    name_separator: "_"
"#,
    )
    .expect("otelcol's example");
    assert!(Factory.validate(&config).is_ok());
    assert_eq!(config.tcp_idle_timeout, Duration::from_secs(30));
    let defaults: CarbonConfig = serde_norway::from_str("{}").expect("empty");
    assert_eq!(defaults.endpoint, "localhost:2003");
    assert_eq!(defaults.transport, "tcp");
    assert!(Factory.validate(&defaults).is_ok());
}

#[test]
fn bad_settings_are_each_reported_at_their_key() {
    let config: CarbonConfig = serde_norway::from_str(
        "{ transport: quic, parser: { type: plaintext, config: { rules: [] } } }",
    )
    .expect("well-formed");
    let problems = Factory.validate(&config).expect_err("invalid").lines();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("transport") && problems[0].contains("`quic` is not tcp or udp"));
    assert!(problems[1].contains("parser.config") && problems[1].contains("takes no settings"));
    let config: CarbonConfig =
        serde_norway::from_str("{ parser: { type: delimiter } }").expect("well-formed");
    let problems = Factory.validate(&config).expect_err("invalid").lines();
    assert!(
        problems[0].contains("`delimiter` is not plaintext or regex"),
        "{problems:?}"
    );
    assert!(serde_norway::from_str::<CarbonConfig>("{ tcp_idle_timout: 1s }").is_err());
}
