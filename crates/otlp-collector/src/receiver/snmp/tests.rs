use super::*;

fn problems(yaml: &str) -> Vec<String> {
    let config: SnmpConfig = serde_norway::from_str(yaml).unwrap();
    match Factory.validate(&config) {
        Ok(()) => Vec::new(),
        Err(invalid) => invalid.lines(),
    }
}

#[test]
fn endpoints_default_to_udp_and_port_161() {
    assert_eq!(
        config::target("localhost"),
        Ok(("localhost:161".to_owned(), false))
    );
    assert_eq!(
        config::target("udp://10.0.0.1:1161"),
        Ok(("10.0.0.1:1161".to_owned(), false))
    );
    assert_eq!(
        config::target("tcp://switch:"),
        Ok(("switch:161".to_owned(), true))
    );
    assert_eq!(config::target("[::1]"), Ok(("[::1]:161".to_owned(), false)));
    assert!(
        config::target("http://switch")
            .unwrap_err()
            .contains("`http`")
    );
    assert!(config::target("switch:x").unwrap_err().contains("`x`"));
}

#[test]
fn references_and_sources_are_checked_with_their_paths() {
    let good = r#"
resource_attributes:
  host.name: { scalar_oid: "1.3.6.1.2.1.1.5.0" }
  interface.name: { oid: "1.3.6.1.2.1.2.2.1.2" }
attributes:
  direction: { enum: [received, sent] }
  port: { indexed_value_prefix: port }
metrics:
  uptime: { unit: s, gauge: { value_type: int }, scalar_oids: [{ oid: "1.3.6.1.2.1.1.3.0", resource_attributes: [host.name] }] }
  io:
    sum: { aggregation: cumulative, monotonic: true, value_type: int }
    column_oids:
      - { oid: "1.3.6.1.2.1.2.2.1.10", attributes: [{ name: direction, value: received }, { name: port }], resource_attributes: [interface.name] }
"#;
    assert_eq!(problems(good), Vec::<String>::new());
    let found = problems(
        r#"
version: v3
security_level: auth_priv
user: otel
auth_password: secret123
privacy_type: AES256
privacy_password: secret456
resource_attributes:
  both: { oid: "1.3.6", indexed_value_prefix: x }
attributes:
  direction: { enum: [in, out] }
  port: { indexed_value_prefix: port }
metrics:
  a: { gauge: { value_type: long }, scalar_oids: [{ oid: "1.3.x", attributes: [{ name: port }, { name: direction, value: sideways }] }] }
  b: { column_oids: [{ oid: "1.3.6.1", attributes: [{ name: nope }], resource_attributes: [missing] }] }
  c: { sum: { aggregation: total }, gauge: {} }
"#,
    );
    let joined = found.join("\n");
    for expected in [
        "privacy_type: `AES256` is not supported",
        "resource_attributes.both: needs exactly one",
        "metrics.a.gauge.value_type: `long`",
        "metrics.a.scalar_oids[0].oid: `1.3.x`",
        "metrics.a.scalar_oids[0].attributes[0].name: `port` is not an enum attribute",
        "metrics.a.scalar_oids[0].attributes[1].value: `sideways` is not one of `direction`'s values: in, out",
        "metrics.b: needs exactly one of `gauge` and `sum`",
        "metrics.b.column_oids[0].attributes[0].name: there is no attribute `nope`",
        "metrics.b.column_oids[0].resource_attributes[0]: there is no resource attribute `missing`",
        "metrics.c: needs exactly one of `gauge` and `sum`",
        "metrics.c: needs `scalar_oids` or `column_oids`",
    ] {
        assert!(joined.contains(expected), "{expected}\nin\n{joined}");
    }
    assert!(problems("{}").join("\n").contains("metrics: must name"));
}

#[test]
fn rows_become_points_on_the_resources_their_attributes_make() {
    let config: SnmpConfig = serde_norway::from_str(
        r#"
resource_attributes:
  host.name: { scalar_oid: "1.3.6.1.2.1.1.5.0" }
  interface.name: { oid: "1.3.6.1.2.1.2.2.1.2" }
attributes:
  direction: { value: network.io.direction, enum: [received, sent] }
  port: { indexed_value_prefix: port }
metrics:
  uptime: { unit: s, gauge: { value_type: int }, scalar_oids: [{ oid: "1.3.6.1.2.1.1.3.0", resource_attributes: [host.name] }] }
  io:
    unit: By
    sum: { aggregation: cumulative, monotonic: true, value_type: int }
    column_oids:
      - { oid: "1.3.6.1.2.1.2.2.1.10", attributes: [{ name: direction, value: received }, { name: port }], resource_attributes: [interface.name] }
      - { oid: "1.3.6.1.2.1.2.2.1.16", attributes: [{ name: direction, value: sent }, { name: port }], resource_attributes: [interface.name] }
"#,
    )
    .unwrap();
    let oid = |text: &str| Oid::parse(text).unwrap();
    let scraper = SnmpScraper {
        address: "agent:161".to_owned(),
        tcp: false,
        security: Security::Community(Version::V2c, "public".to_owned()),
        timeout: Duration::from_secs(1),
        plan: Plan::new(&config).unwrap(),
        start: 10,
        previous: 10,
        id: "snmp".to_owned(),
    };
    assert_eq!(
        scraper.plan.scalar_oids(),
        [oid("1.3.6.1.2.1.1.3.0"), oid("1.3.6.1.2.1.1.5.0")]
    );
    let mut read = Read::default();
    read.scalars
        .insert(oid("1.3.6.1.2.1.1.3.0"), Value::Unsigned(4200));
    read.scalars
        .insert(oid("1.3.6.1.2.1.1.5.0"), Value::Text(b"edge-1".to_vec()));
    let rows = |values: &[(&str, Value)]| {
        values
            .iter()
            .map(|(i, v)| ((*i).to_owned(), v.clone()))
            .collect::<Vec<_>>()
    };
    read.columns.insert(
        oid("1.3.6.1.2.1.2.2.1.2"),
        rows(&[
            (".1", Value::Text(b"lo".to_vec())),
            (".2", Value::Text(b"eth0".to_vec())),
        ]),
    );
    read.columns.insert(
        oid("1.3.6.1.2.1.2.2.1.10"),
        rows(&[
            (".1", Value::Unsigned(100)),
            (".2", Value::Unsigned(2000)),
            (".3", Value::Unsigned(9)),
        ]),
    );
    read.columns.insert(
        oid("1.3.6.1.2.1.2.2.1.16"),
        rows(&[
            (".1", Value::Unsigned(100)),
            (".2", Value::Text(b"n/a".to_vec())),
        ]),
    );
    let (out, problems) = scraper.build(&read, 99);
    // Row 3 has no interface name; row 2's sent octets are text.
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains(".3") && problems[0].contains("`interface.name` has no value"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("`n/a` is not a number"),
        "{problems:?}"
    );
    let request = out.finish().unwrap();
    let resources: Vec<String> = request
        .resource_metrics
        .iter()
        .map(|rm| {
            rm.resource
                .as_ref()
                .unwrap()
                .attributes
                .iter()
                .map(|kv| {
                    let Some(
                        opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(v),
                    ) = kv.value.as_ref().and_then(|v| v.value.clone())
                    else {
                        panic!()
                    };
                    format!("{}={v}", kv.key)
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    assert_eq!(
        resources,
        [
            "host.name=edge-1",
            "interface.name=lo",
            "interface.name=eth0"
        ]
    );
    let io = &request.resource_metrics[1].scope_metrics[0].metrics[0];
    assert_eq!((io.name.as_str(), io.unit.as_str()), ("io", "By"));
    let Some(metric::Data::Sum(sum)) = &io.data else {
        panic!("{io:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        crate::receiver::scraper::metric::labelled_points(std::slice::from_ref(io), "io"),
        [
            (
                "network.io.direction=received,port=port.1".to_owned(),
                100.0
            ),
            ("network.io.direction=sent,port=port.1".to_owned(), 100.0)
        ]
    );
    assert_eq!(sum.data_points[0].start_time_unix_nano, 10);
    let uptime = &request.resource_metrics[0].scope_metrics[0].metrics[0];
    let Some(metric::Data::Gauge(gauge)) = &uptime.data else {
        panic!()
    };
    assert_eq!(
        gauge.data_points[0].value,
        Some(number_data_point::Value::AsInt(4200))
    );
}
