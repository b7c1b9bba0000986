use super::*;
use crate::receiver::scraper::metric::enabled_with;

fn scraper(attributes: [bool; 2]) -> ZookeeperScraper {
    ZookeeperScraper {
        address: Address::new("127.0.0.1:1", "tcp", &Default::default(), false).unwrap(),
        timeout: Duration::from_secs(1),
        enabled: enabled_with(SPECS, &[]),
        attributes,
        started: 7,
        id: "zookeeper".into(),
    }
}

#[test]
fn counters_start_with_the_server_and_the_resource_names_it() {
    let mntr = "zk_version\t3.9.1-abc, built on x\nzk_server_state\tstandalone\nzk_uptime\t2\nzk_packets_sent\t5\n";
    let request = scraper([true, false])
        .request(mntr, Some("imok"), 10_000_000)
        .unwrap();
    let rm = &request.resource_metrics[0];
    let resource = &rm.resource.as_ref().unwrap().attributes;
    assert_eq!(resource.len(), 1, "zk.version is toggled off");
    assert_eq!(resource[0].key, "server.state");
    let metrics = &rm.scope_metrics[0].metrics;
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["zookeeper.packet.count", "zookeeper.ruok"]);
    let Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) = &metrics[0].data
    else {
        panic!()
    };
    assert_eq!(
        sum.data_points[0].start_time_unix_nano, 8_000_000,
        "2 ms before now"
    );

    let without_uptime = scraper([true, true])
        .request("zk_packets_sent\t5\n", Some("not allowed"), 10_000_000)
        .unwrap();
    let metrics = &without_uptime.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(metrics.len(), 1, "no ruok point for another answer");
    let Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) = &metrics[0].data
    else {
        panic!()
    };
    assert_eq!(
        sum.data_points[0].start_time_unix_nano, 7,
        "the receiver's start"
    );
}

#[test]
fn settings_are_checked() {
    let config: ZookeeperConfig = serde_norway::from_str(
        "endpoint: zookeeper\ntimeout: 0s\nresource_attributes: { zk.versions: { enabled: false } }",
    )
    .unwrap();
    let problems: Vec<String> = Factory.validate(&config).unwrap_err().lines();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("`zookeeper` is not `host:port`"));
}
