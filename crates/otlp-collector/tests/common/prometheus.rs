//! A Prometheus server of a test's own (the Debian package's, from PATH; `cargo xtask setup` installs it), on a
//! free loopback port, read through its HTTP API.

use super::free_port;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A Prometheus server of its own, stopped when dropped.
pub struct Prometheus {
    child: Child,
    pub port: u16,
    _data: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus on `port` (a free one when `None`), with its remote write receiver and native histograms
    /// on and nothing to scrape, and waits until it is ready.
    pub async fn start(port: Option<u16>) -> Prometheus {
        Prometheus::start_with(port, "global: { scrape_interval: 1m }\n").await
    }

    /// Starts Prometheus as [`Prometheus::start`] does, with `config` as its `prometheus.yml`.
    pub async fn start_with(port: Option<u16>, config_text: &str) -> Prometheus {
        let port = port.unwrap_or_else(free_port);
        let data = tempfile::tempdir().unwrap();
        let config = data.path().join("prometheus.yml");
        std::fs::write(&config, config_text).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .arg("--enable-feature=native-histograms")
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run prometheus: {e}; run `cargo xtask setup`"));
        let mut prometheus = Prometheus {
            child,
            port,
            _data: data,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            // A Prometheus that could not bind its port has exited; another server answering there is not ours.
            if let Some(status) = prometheus.child.try_wait().unwrap() {
                panic!("prometheus on port {port} exited ({status}) before it was ready");
            }
            let ready = reqwest::get(format!("http://127.0.0.1:{port}/-/ready")).await;
            if ready.is_ok_and(|answer| answer.status().is_success()) {
                return prometheus;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "prometheus is not ready after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn write_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    /// The instant vector `promql` evaluates to now: each element's labels and value.
    pub async fn query(&self, promql: &str) -> Vec<(Value, f64)> {
        let answer: Value = reqwest::get(format!(
            "http://127.0.0.1:{}/api/v1/query?query={}",
            self.port,
            percent_encoded(promql)
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(answer["status"], "success", "{promql}: {answer}");
        answer["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|element| {
                let value = element["value"][1].as_str().unwrap().parse().unwrap();
                (element["metric"].clone(), value)
            })
            .collect()
    }

    /// Queries `promql` until it has a result (the exporter's queue sends asynchronously).
    pub async fn query_until_present(&self, promql: &str) -> Vec<(Value, f64)> {
        self.query_until(promql, |result| !result.is_empty()).await
    }

    /// Queries `promql` until `done` holds for its result, or a minute has passed.
    pub async fn query_until(
        &self,
        promql: &str,
        done: impl Fn(&[(Value, f64)]) -> bool,
    ) -> Vec<(Value, f64)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let result = self.query(promql).await;
            if done(&result) || tokio::time::Instant::now() > deadline {
                return result;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` as a URL query value.
pub fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
