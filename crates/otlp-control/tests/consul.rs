//! The Consul backend against a local HTTP server that implements the Consul endpoints the
//! backend uses, as Consul documents them: no Consul server can be installed here. The server
//! keeps a Raft-like index, answers blocking queries when the index passes the client's or the
//! wait runs out, turns TTL checks critical when they are not passed in time, and can forget
//! every service as a restarted agent would.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use otlp_control::consul::{ConsulFleet, ConsulOptions};
use otlp_control::fleet::{ConfigVersion, Member};
use otlp_control::{ConfigFollower, Registry};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

const HANG_GUARD: Duration = Duration::from_secs(30);

async fn within<T, E: std::fmt::Debug>(
    what: &str,
    future: impl Future<Output = Result<T, E>>,
) -> T {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("hung waiting for {what}"))
        .unwrap_or_else(|error| panic!("waiting for {what}: {error:?}"))
}

struct Service {
    registration: Value,
    check_id: String,
    ttl: Duration,
    passing_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    index: u64,
    services: BTreeMap<String, Service>,
    kv: HashMap<String, (Vec<u8>, u64)>,
}

impl State {
    fn bump(&mut self) -> u64 {
        self.index += 1;
        self.index
    }

    /// Turns checks whose TTL ran out critical; returns the next expiry.
    fn expire(&mut self, now: Instant) -> Option<Instant> {
        let mut expired = false;
        for service in self.services.values_mut() {
            if service.passing_until.is_some_and(|until| until <= now) {
                service.passing_until = None;
                expired = true;
            }
        }
        if expired {
            self.bump();
        }
        self.services.values().filter_map(|s| s.passing_until).min()
    }
}

#[derive(Clone)]
struct FakeConsul {
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
}

fn parse_ttl(ttl: &str) -> Duration {
    Duration::from_secs(ttl.trim_end_matches('s').parse().unwrap())
}

fn query(request: &Request<Incoming>) -> HashMap<String, String> {
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn answer(status: StatusCode, index: u64, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("X-Consul-Index", index.to_string())
        .body(Full::new(body.into()))
        .unwrap()
}

impl FakeConsul {
    async fn start() -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let consul = Self {
            state: Arc::new(Mutex::new(State {
                index: 1,
                ..State::default()
            })),
            changed: watch::channel(1).0,
        };
        let server = consul.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let server = server.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(server.handle(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (consul, address)
    }

    fn publish(&self, state: &State) {
        self.changed.send_replace(state.index);
    }

    /// What a restarted agent does: it no longer knows any service.
    fn forget_all(&self) {
        let mut state = self.state.lock();
        state.services.clear();
        state.bump();
        self.publish(&state);
    }

    /// Blocks while the index is not past `index`, at most `wait`, expiring TTLs meanwhile.
    async fn block(&self, index: u64, wait: Duration) {
        let deadline = Instant::now() + wait;
        let mut changed = self.changed.subscribe();
        loop {
            let next_expiry = {
                let mut state = self.state.lock();
                let next = state.expire(Instant::now());
                self.publish(&state);
                if state.index > index {
                    return;
                }
                next
            };
            let expiry = next_expiry.unwrap_or(deadline).min(deadline);
            tokio::select! {
                _ = changed.changed() => {}
                () = sleep_until(expiry) => if Instant::now() >= deadline { return },
            }
        }
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let params = query(&request);
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        if let Some(index) = params.get("index").and_then(|i| i.parse().ok()) {
            let wait = params
                .get("wait")
                .map_or(Duration::from_secs(300), |w| parse_ttl(w));
            self.block(index, wait).await;
        }
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let mut state = self.state.lock();
        state.expire(Instant::now());
        let index = state.index;
        let response = match (method, path.as_str()) {
            (Method::PUT, "/v1/agent/service/register") => {
                let registration: Value = serde_json::from_slice(&body).unwrap();
                let id = registration["ID"].as_str().unwrap().to_owned();
                let check = &registration["Check"];
                let service = Service {
                    check_id: check["CheckID"].as_str().unwrap().to_owned(),
                    ttl: parse_ttl(check["TTL"].as_str().unwrap()),
                    passing_until: state.services.get(&id).and_then(|s| s.passing_until),
                    registration,
                };
                state.services.insert(id, service);
                answer(StatusCode::OK, state.bump(), "")
            }
            (Method::PUT, path) if path.starts_with("/v1/agent/check/pass/") => {
                let check = &path["/v1/agent/check/pass/".len()..];
                let now = Instant::now();
                let found = state.services.values_mut().find(|s| s.check_id == check);
                match found {
                    Some(service) => {
                        let was_passing = service.passing_until.is_some();
                        service.passing_until = Some(now + service.ttl);
                        let index = if was_passing { index } else { state.bump() };
                        answer(StatusCode::OK, index, "")
                    }
                    None => answer(
                        StatusCode::NOT_FOUND,
                        index,
                        format!("Unknown check ID \"{check}\""),
                    ),
                }
            }
            (Method::PUT, path) if path.starts_with("/v1/agent/service/deregister/") => {
                let id = &path["/v1/agent/service/deregister/".len()..];
                state.services.remove(id);
                answer(StatusCode::OK, state.bump(), "")
            }
            (Method::GET, path) if path.starts_with("/v1/health/service/") => {
                let name = &path["/v1/health/service/".len()..];
                assert_eq!(params.get("passing").map(String::as_str), Some("true"));
                let entries: Vec<Value> = state
                    .services
                    .values()
                    .filter(|s| s.registration["Name"] == name && s.passing_until.is_some())
                    .map(|s| {
                        json!({
                            "Node": {"Node": "agent-1", "Address": "127.0.0.1"},
                            "Service": {
                                "ID": s.registration["ID"],
                                "Service": s.registration["Name"],
                                "Address": s.registration["Address"],
                                "Port": s.registration["Port"],
                                "Meta": s.registration["Meta"],
                            },
                            "Checks": [{"CheckID": s.check_id, "Status": "passing"}],
                        })
                    })
                    .collect();
                answer(StatusCode::OK, index, serde_json::to_vec(&entries).unwrap())
            }
            (Method::GET, path) if path.starts_with("/v1/kv/") => {
                match state.kv.get(&path["/v1/kv/".len()..]) {
                    Some((value, modify_index)) => {
                        let entry = json!([{
                            "Key": &path["/v1/kv/".len()..],
                            "Value": base64::engine::general_purpose::STANDARD.encode(value),
                            "ModifyIndex": modify_index,
                            "CreateIndex": modify_index,
                            "LockIndex": 0,
                            "Flags": 0,
                        }]);
                        answer(StatusCode::OK, index, serde_json::to_vec(&entry).unwrap())
                    }
                    None => answer(StatusCode::NOT_FOUND, index, ""),
                }
            }
            (Method::PUT, path) if path.starts_with("/v1/kv/") => {
                let key = path["/v1/kv/".len()..].to_owned();
                let current = state.kv.get(&key).map_or(0, |(_, index)| *index);
                let cas = params.get("cas").map(|c| c.parse::<u64>().unwrap());
                if cas.is_some_and(|cas| cas != current) {
                    answer(StatusCode::OK, index, "false")
                } else {
                    let index = state.bump();
                    state.kv.insert(key, (body.to_vec(), index));
                    answer(StatusCode::OK, index, "true")
                }
            }
            (method, path) => panic!("the backend called an unexpected endpoint: {method} {path}"),
        };
        self.publish(&state);
        response
    }
}

fn options(address: &str) -> ConsulOptions {
    ConsulOptions {
        ttl: Duration::from_secs(1),
        wait: Duration::from_secs(5),
        ..ConsulOptions::new(address, "otlp")
    }
}

fn member(id: &str, region: &str) -> Member {
    Member::new(id, region, format!("10.0.0.{}:4317", id.len()), "0.1.0").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_register_see_each_other_and_expire_without_keep_alive() {
    let (_consul, address) = FakeConsul::start().await;
    let registry: Box<dyn Registry> = Box::new(ConsulFleet::new(options(&address)).unwrap());
    let watch = registry.watch_members().await.unwrap();
    let mut registrations = Vec::new();
    for (id, region) in [("c1", "eu"), ("c2", "eu"), ("c3", "us")] {
        registrations.push(registry.register(member(id, region)).await.unwrap());
    }
    let seen = within("three members", watch.wait_for(|m| m.len() == 3)).await;
    assert_eq!(seen[2].region, "us");
    assert_eq!(seen[0].address, "10.0.0.2:4317");

    registrations[0]
        .record()
        .update(|m| m.load.spans_per_sec = 99.0);
    within(
        "the load update",
        watch.wait_for(|m| m[0].load.spans_per_sec == 99.0),
    )
    .await;

    registrations.pop().unwrap().deregister().await.unwrap();
    within("c3 to leave", watch.wait_for(|m| m.len() == 2)).await;
    // A member whose process died stops passing its check and drops out after the TTL.
    drop(registrations.pop());
    let left = within("c2 to expire", watch.wait_for(|m| m.len() == 1)).await;
    assert_eq!(left[0].id, "c1");
    assert_eq!(registry.members().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_reregisters_when_the_agent_forgets_it() {
    let (consul, address) = FakeConsul::start().await;
    let fleet = ConsulFleet::new(options(&address)).unwrap();
    let watch = fleet.watch_members().await.unwrap();
    let registration = fleet.register_member(member("c1", "eu")).await.unwrap();
    within("c1", watch.wait_for(|m| m.len() == 1)).await;
    consul.forget_all();
    within("c1 to be forgotten", watch.wait_for(|m| m.is_empty())).await;
    let status = within("re-registration", registration.wait_registrations(2)).await;
    assert_eq!(status.registrations, 2);
    within("c1 again", watch.wait_for(|m| m.len() == 1)).await;
}

fn validate(config: &ConfigVersion) -> Result<u32, String> {
    let text = config.text().ok_or("not UTF-8")?;
    text.trim()
        .strip_prefix("batch_size=")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("expected batch_size=<n>, got {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_in_kv_is_followed_and_an_invalid_version_is_rejected() {
    let (_consul, address) = FakeConsul::start().await;
    let fleet = ConsulFleet::new(options(&address)).unwrap();
    assert_eq!(fleet.config().await.unwrap(), None);
    let watch = fleet.watch_members().await.unwrap();
    let registration = fleet.register_member(member("c1", "eu")).await.unwrap();
    let targets = fleet.watch_target("c1").await.unwrap();
    let follower = ConfigFollower::spawn(targets, registration.record(), validate);

    let good = fleet.put_config(b"batch_size=512").await.unwrap();
    within(
        "the first config",
        watch.wait_for(|m| m.len() == 1 && m[0].config.version == Some(good)),
    )
    .await;
    assert_eq!(follower.current().unwrap().value, 512);

    let bad = fleet.put_config(b"batch_size=lots").await.unwrap();
    assert!(bad > good);
    let seen = within(
        "the rejection",
        watch.wait_for(|m| {
            m[0].config
                .rejected
                .as_ref()
                .is_some_and(|r| r.version == bad)
        }),
    )
    .await;
    assert_eq!(seen[0].config.version, Some(good));
    assert!(
        seen[0]
            .config
            .rejected
            .as_ref()
            .unwrap()
            .reason
            .contains("lots")
    );
    assert_eq!(follower.current().unwrap().value, 512);
    assert_eq!(fleet.config().await.unwrap().unwrap().version, bad);
}

#[test]
fn a_tls_address_is_refused_rather_than_sent_in_clear() {
    let error = ConsulFleet::new(ConsulOptions::new("https://consul:8501", "otlp")).unwrap_err();
    assert!(error.to_string().contains("http://"), "{error}");
}
