use super::*;
use crate::receiver::scraper::metric::enabled_with;

fn scraper(toggles: &[(&str, bool)], attributes: [bool; 3]) -> RabbitmqScraper {
    let page = Page::new(
        "http://127.0.0.1:1/api/queues",
        &Default::default(),
        &Default::default(),
        std::time::Duration::from_secs(1),
    )
    .unwrap();
    RabbitmqScraper {
        queues: page,
        nodes: None,
        enabled: enabled_with(SPECS, toggles),
        attributes,
        started: 1_000,
        id: "rabbitmq".into(),
    }
}

fn attributes(resource: &Resource) -> Vec<String> {
    resource
        .attributes
        .iter()
        .map(|kv| {
            format!(
                "{}={:?}",
                kv.key,
                kv.value.as_ref().and_then(|v| v.value.as_ref())
            )
        })
        .collect()
}

#[test]
fn a_resource_per_queue_then_per_node_with_their_starts() {
    let queues: Vec<Queue> = serde_json::from_str(
        r#"[{"name":"a","node":"rabbit@h","vhost":"/","consumers":0,"messages_ready":1,"messages_unacknowledged":0},
            {"name":"b","node":"rabbit@h","vhost":"shop","consumers":1}]"#,
    )
    .unwrap();
    let nodes: Vec<Node> =
        serde_json::from_str(r#"[{"name":"rabbit@h","uptime":2,"fd_used":7}]"#).unwrap();
    let scraper = scraper(&[("rabbitmq.node.fd_used", true)], [true, true, false]);
    let request = scraper.request(&queues, &nodes, 5_000_000).unwrap();
    let resources: Vec<Vec<String>> = request
        .resource_metrics
        .iter()
        .map(|rm| attributes(rm.resource.as_ref().unwrap()))
        .collect();
    assert_eq!(resources.len(), 3);
    assert!(resources[0][0].contains("rabbitmq.queue.name") && resources[0][0].contains("\"a\""));
    assert_eq!(
        resources[0].len(),
        2,
        "the vhost is toggled off: {resources:?}"
    );
    assert_eq!(
        resources[2].len(),
        1,
        "a node has its name alone: {resources:?}"
    );
    let start = |i: usize| {
        let metric = &request.resource_metrics[i].scope_metrics[0].metrics[0];
        match metric.data.as_ref().unwrap() {
            opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum) => {
                sum.data_points[0].start_time_unix_nano
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        start(0),
        1_000,
        "a queue's counters start with the receiver"
    );
    assert_eq!(
        start(2),
        3_000_000,
        "a node's figures when it started: 2 ms before"
    );
}

#[test]
fn settings_are_checked_as_otelcols_are() {
    let config: RabbitmqConfig = serde_norway::from_str(
        "endpoint: localhost:15672\nmetrics: { rabbitmq.node.nope: { enabled: true } }",
    )
    .unwrap();
    let problems: Vec<String> = Factory.validate(&config).unwrap_err().lines();
    for expected in [
        "username: must be set",
        "password: must be set",
        "endpoint: `localhost:15672`",
        "rabbitmq.node.nope",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected}: {problems:?}"
        );
    }
}
