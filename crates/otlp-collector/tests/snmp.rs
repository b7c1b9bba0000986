//! The `snmp` receiver polling a real agent, net-snmp's `snmpd`, spawned on a free loopback port: over UDP with v2c
//! (`GetBulk` walks) and v1 (`GetNext` walks), over TCP, and as SNMPv3 users (SHA with AES, MD5 with DES, SHA-256
//! without privacy, no security at all; a wrong password gets nothing); what it reports is compared with what
//! net-snmp's own `snmpget` and `snmpwalk` read from the same agent.

mod common;

use common::{TestCollector, attribute, free_port, metrics_named, read_metrics, wait_for_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An `snmpd` of its own, stopped when dropped.
struct Agent {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn snmpd() -> String {
    ["/usr/sbin/snmpd", "/usr/local/sbin/snmpd"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .unwrap_or("snmpd")
        .to_owned()
}

impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("snmpd.conf");
        std::fs::write(
            &config,
            format!(
                "agentaddress udp:127.0.0.1:{port},tcp:127.0.0.1:{port}\n\
                 rocommunity public 127.0.0.1\n\
                 createUser shaaes SHA \"authpass123\" AES \"privpass123\"\n\
                 createUser md5des MD5 \"authpass123\" DES \"privpass123\"\n\
                 createUser sha256 SHA-256 \"authpass123\"\n\
                 createUser plain\n\
                 rouser shaaes priv\n\
                 rouser md5des priv\n\
                 rouser sha256 auth\n\
                 rouser plain noauth\n\
                 sysName edge-1\n\
                 sysLocation rack-7\n"
            ),
        )
        .unwrap();
        let child = Command::new(snmpd())
            .args(["-f", "-Lo", "-C", "-c"])
            .arg(&config)
            // Not the config's directory: snmpd writes its persistent `snmpd.conf` there, over the config.
            .env("SNMP_PERSISTENT_DIR", dir.path().join("state"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run snmpd: {e}; run `cargo xtask setup`"));
        let agent = Agent {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if agent.net_snmp("snmpget", &["1.3.6.1.2.1.1.5.0"]).is_some() {
                return agent;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("snmpd did not answer on port {port}");
    }

    /// What net-snmp's `tool` reads, one `(oid, value)` per variable, numeric OIDs and bare values.
    fn net_snmp(&self, tool: &str, oids: &[&str]) -> Option<Vec<(String, String)>> {
        let output = Command::new(tool)
            .args(["-v2c", "-c", "public", "-On", "-Oq", "-t", "1", "-r", "0"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(oids)
            .env("SNMP_PERSISTENT_DIR", self._dir.path().join("client"))
            .env("MIBS", "")
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        Some(
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|line| {
                    let (oid, value) = line.split_once(' ')?;
                    Some((
                        oid.trim_start_matches('.').to_owned(),
                        value.trim_matches('"').to_owned(),
                    ))
                })
                .collect(),
        )
    }
}

fn receiver(name: &str, endpoint: &str, security: &str) -> String {
    format!(
        r#"
  {name}:
    endpoint: "{endpoint}"
    {security}
    collection_interval: 1s
    initial_delay: 0s
    resource_attributes:
      host.name: {{ scalar_oid: "1.3.6.1.2.1.1.5.0" }}
      interface.name: {{ oid: "1.3.6.1.2.1.2.2.1.2" }}
    attributes:
      interface.index: {{ indexed_value_prefix: if }}
      direction: {{ value: network.io.direction, enum: [received, sent] }}
    metrics:
      system.uptime:
        unit: "cs"
        gauge: {{ value_type: int }}
        scalar_oids:
          - {{ oid: "1.3.6.1.2.1.1.3.0", resource_attributes: [host.name] }}
          - {{ oid: "1.3.6.1.2.1.1.99.0", resource_attributes: [host.name] }}
      network.interface.mtu:
        unit: By
        gauge: {{ value_type: int }}
        column_oids:
          - {{ oid: "1.3.6.1.2.1.2.2.1.4", attributes: [{{ name: interface.index }}], resource_attributes: [interface.name] }}
      network.io:
        unit: By
        sum: {{ aggregation: cumulative, monotonic: true, value_type: int }}
        column_oids:
          - {{ oid: "1.3.6.1.2.1.2.2.1.10", attributes: [{{ name: direction, value: received }}], resource_attributes: [interface.name] }}
          - {{ oid: "1.3.6.1.2.1.2.2.1.16", attributes: [{{ name: direction, value: sent }}], resource_attributes: [interface.name] }}"#
    )
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// Each interface's MTU and index attribute, by the interface's name, from the receiver's resources.
fn mtus(requests: &[ExportMetricsServiceRequest]) -> BTreeMap<String, (i64, String)> {
    let mut found = BTreeMap::new();
    for resource in requests.iter().flat_map(|r| &r.resource_metrics) {
        let attributes = &resource.resource.as_ref().unwrap().attributes;
        for metric in resource.scope_metrics.iter().flat_map(|s| &s.metrics) {
            if metric.name != "network.interface.mtu" {
                continue;
            }
            let Some(Data::Gauge(gauge)) = &metric.data else {
                panic!("{metric:?}")
            };
            let point = &gauge.data_points[0];
            let Some(number_data_point::Value::AsInt(mtu)) = point.value else {
                panic!("{point:?}")
            };
            found.insert(
                text(attribute(attributes, "interface.name")),
                (mtu, text(attribute(&point.attributes, "interface.index"))),
            );
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpd_is_polled_over_udp_and_tcp_in_v1_and_v2c_as_net_snmp_reads_it() {
    let agent = tokio::task::spawn_blocking(Agent::start).await.unwrap();
    let port = agent.port;
    let udp = format!("udp://127.0.0.1:{port}");
    let (aes, des) = ("privacy_type: AES", "privacy_password: privpass123");
    // (receiver, endpoint, its security settings, the file its pipeline writes)
    let pipelines: [(&str, String, Vec<&str>, &str); 8] = [
        ("snmp", udp.clone(), vec!["version: v2c"], "v2c"),
        (
            "snmp/v1",
            format!("127.0.0.1:{port}"),
            vec!["version: v1"],
            "v1",
        ),
        (
            "snmp/tcp",
            format!("tcp://127.0.0.1:{port}"),
            vec!["version: v2c"],
            "tcp",
        ),
        (
            "snmp/sha_aes",
            udp.clone(),
            vec![
                "version: v3",
                "user: shaaes",
                "security_level: auth_priv",
                "auth_type: SHA",
                "auth_password: authpass123",
                aes,
                des,
            ],
            "sha_aes",
        ),
        (
            "snmp/md5_des",
            udp.clone(),
            vec![
                "version: v3",
                "user: md5des",
                "security_level: auth_priv",
                "auth_password: authpass123",
                des,
            ],
            "md5_des",
        ),
        (
            "snmp/sha256",
            udp.clone(),
            vec![
                "version: v3",
                "user: sha256",
                "security_level: auth_no_priv",
                "auth_type: SHA256",
                "auth_password: authpass123",
            ],
            "sha256",
        ),
        (
            "snmp/plain",
            udp.clone(),
            vec!["version: v3", "user: plain"],
            "plain",
        ),
        (
            "snmp/wrong",
            udp.clone(),
            vec![
                "version: v3",
                "user: shaaes",
                "security_level: auth_priv",
                "auth_type: SHA",
                "auth_password: wrongpass123",
                aes,
                des,
            ],
            "wrong",
        ),
    ];
    let mut receivers = String::new();
    let mut exporters = String::new();
    let mut service = String::new();
    for (name, endpoint, security, file) in &pipelines {
        receivers.push_str(&receiver(name, endpoint, &security.join("\n    ")));
        exporters.push_str(&format!(
            "  file/{file}: {{ path: \"{{dir}}/{file}.jsonl\", format: json }}\n"
        ));
        service.push_str(&format!(
            "    metrics/{file}: {{ receivers: [{name}], exporters: [file/{file}] }}\n"
        ));
    }
    let collector = TestCollector::start(&format!(
        r#"
receivers:{receivers}
exporters:
{exporters}
service:
  pipelines:
{service}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let files: Vec<String> = pipelines
        .iter()
        .map(|(_, _, _, file)| format!("{file}.jsonl"))
        .filter(|file| file != "wrong.jsonl")
        .collect();
    for file in &files {
        wait_for_metrics(&collector.path(file), |requests| {
            metrics_named(requests, "network.io").next().is_some()
        })
        .await;
    }
    let dir = collector.shut_down_cleanly().await;

    // What net-snmp reads of the same agent: each interface's name and MTU by index.
    let (names, mtu_rows) = tokio::task::spawn_blocking(move || {
        let names = agent
            .net_snmp("snmpwalk", &["1.3.6.1.2.1.2.2.1.2"])
            .unwrap();
        let mtus = agent
            .net_snmp("snmpwalk", &["1.3.6.1.2.1.2.2.1.4"])
            .unwrap();
        (names, mtus)
    })
    .await
    .unwrap();
    let expected: BTreeMap<String, (i64, String)> = names
        .iter()
        .map(|(oid, name)| {
            let index = oid.trim_start_matches("1.3.6.1.2.1.2.2.1.2.");
            let mtu = mtu_rows
                .iter()
                .find(|(oid, _)| oid.trim_start_matches("1.3.6.1.2.1.2.2.1.4.") == index)
                .map(|(_, mtu)| mtu.parse::<i64>().unwrap())
                .unwrap();
            (name.clone(), (mtu, format!("if.{index}")))
        })
        .collect();
    assert!(expected.contains_key("lo"), "{expected:?}");

    // The wrong password: the agent reports a wrong digest and nothing is reported.
    assert!(read_metrics(&dir.path().join("wrong.jsonl"), true).is_empty());
    for file in &files {
        let requests = read_metrics(&dir.path().join(file), true);
        assert_eq!(mtus(&requests), expected, "{file}");
        // The scalar on the resource its scalar resource attribute makes; the OID the agent lacks left out.
        let first = &requests[0].resource_metrics;
        let host = first
            .iter()
            .find(|rm| {
                attribute(&rm.resource.as_ref().unwrap().attributes, "host.name")
                    == Some(&Value::StringValue("edge-1".to_owned()))
            })
            .unwrap_or_else(|| panic!("{file}: no edge-1 resource"));
        let uptime = &host.scope_metrics[0].metrics[0];
        let Some(Data::Gauge(gauge)) = &uptime.data else {
            panic!("{uptime:?}")
        };
        assert_eq!(gauge.data_points.len(), 1, "{file}");
        assert!(
            matches!(gauge.data_points[0].value, Some(number_data_point::Value::AsInt(ticks)) if ticks > 0),
            "{file}"
        );
        // Octets in and out of the loopback interface: a monotonic cumulative sum per direction.
        let io = metrics_named(&requests, "network.io").next().unwrap();
        let Some(Data::Sum(sum)) = &io.data else {
            panic!("{io:?}")
        };
        assert!(
            sum.is_monotonic && sum.aggregation_temporality == 2,
            "{file}"
        );
        let directions: Vec<String> = sum
            .data_points
            .iter()
            .map(|p| text(attribute(&p.attributes, "network.io.direction")))
            .collect();
        assert_eq!(directions, ["received", "sent"], "{file}");
    }
}
