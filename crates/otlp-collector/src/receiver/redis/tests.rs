use super::*;

fn problems(yaml: &str) -> Vec<(String, String)> {
    crate::component::problems(&Factory, "receivers.redis", yaml)
}

#[test]
fn otelcol_s_example_and_the_demo_s_config_are_taken_as_written() {
    for yaml in [
        // otelcol-contrib's README.
        "endpoint: \"localhost:6379\"\ncollection_interval: 10s\npassword: ${env:REDIS_PASSWORD}\n",
        // The OpenTelemetry Demo's.
        "endpoint: \"valkey-cart:6379\"\nusername: \"valkey\"\ncollection_interval: 10s\n",
        "endpoint: /var/run/redis.sock\ntransport: unix\n",
        "endpoint: redis:6380\ntls: { insecure: false, ca_file: /etc/ca.pem }\nresource_attributes: { server.address: { enabled: true } }\n",
    ] {
        assert_eq!(problems(yaml), Vec::new(), "{yaml}");
    }
    let config: RedisConfig = serde_norway::from_str("endpoint: a:1").unwrap();
    assert!(!config.encrypted(), "plain text by default, as otelcol");
    assert_eq!(config.collection_interval, Duration::from_secs(10));
    assert!(config.resource_attribute("redis.version"));
    assert!(!config.resource_attribute("server.port"));
    let config: RedisConfig =
        serde_norway::from_str("endpoint: a:1\ntls: { ca_file: ca.pem }").unwrap();
    assert!(config.encrypted(), "a CA means TLS");
}

#[test]
fn mistakes_are_named() {
    let found = problems(
        "endpoint: localhost\ntransport: udp\nmetrics: { redis.cpu.tme: { enabled: false } }\n\
         resource_attributes: { redis.versio: { enabled: true } }\n",
    );
    let text: Vec<String> = found.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    let text = text.join("\n");
    assert!(
        text.contains("receivers.redis.transport: `udp` is not a transport here"),
        "{text}"
    );
    assert!(
        text.contains("receivers.redis.metrics.redis.cpu.tme: there is no metric"),
        "{text}"
    );
    assert!(
        text.contains(
            "receivers.redis.resource_attributes.redis.versio: there is no resource attribute"
        ),
        "{text}"
    );
    let found = problems("collection_interval: 10s");
    assert!(
        found
            .iter()
            .any(|(p, m)| p == "receivers.redis.endpoint" && m.contains("required")),
        "{found:?}"
    );
    let found = problems("endpoint: localhost");
    assert!(
        found.iter().any(|(_, m)| m.contains("is not `host:port`")),
        "{found:?}"
    );
    let found = problems("endpoint: a:1\npasword: x");
    assert!(
        found.iter().any(|(_, m)| m.contains("pasword")),
        "{found:?}"
    );
}
