//! Test support: an in-process HTTP target on port 0 that can delay, fail, stall and close
//! connections on demand, and helpers to run profiles against it through the real engine.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod action_step;
pub mod fake_github;
pub mod synthetic;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

/// The target's routes:
/// - `GET /ok` → 200 `ok`
/// - `GET /status/{code}` → that status
/// - `GET /delay/{ms}` → 200 after `ms` milliseconds
/// - `GET /exact/{ms}` → 200 after at least `ms` milliseconds of a blocking sleep (not rounded
///   to the runtime's timer ticks: never shorter)
/// - `GET /json` → `{"id": 7, "name": "seven", "tags": ["a", "b"]}`
/// - `ANY /echo` → JSON with the method, path, query, headers and body received
/// - `GET /close` → the connection is dropped without a response
/// - `GET /partial` → headers promise 100 bytes, 10 arrive, then the connection breaks
/// - `POST /login` with `{"user", "password"}` → `{"token"}` and an `x-session` header when the
///   password is `secret-pass`, else 401
/// - `GET /me` → `{"user"}` for `Authorization: Bearer tok-USER` or basic `USER:secret-pass`,
///   else 401 echoing the credentials it got
/// - `POST /items` → 201 `{"id"}` and a `location` header; `GET /items/{id}` the document;
///   `GET /items/{id}/{field…}` a nested field
/// - `GET /ticket` → text `your ticket is T-4711, keep it`
/// - `GET /seen/{value}` → 200, counting the value (see [`Target::count`])
/// - `GET /ready` → 200, counting readiness probes (see [`Target::slow_for_runs`])
/// - anything else → 404
///
/// Every request waits while the target is stalled (see [`Target::stall_for`]) or during its
/// slow period ([`Target::slow_until`]).
pub struct Target {
    pub addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct State {
    items: Mutex<Vec<serde_json::Value>>,
    /// Requests wait until this instant.
    stalled_until: Mutex<Option<Instant>>,
    /// Extra delay applied until the instant.
    slow: Mutex<Option<(Instant, Duration)>>,
    /// Extra delay applied while at most this many `/ready` probes have arrived.
    slow_runs: Mutex<Option<(u64, Duration)>>,
    counts: Mutex<HashMap<String, u64>>,
    total: AtomicU64,
    /// Receive times of every request (seconds since `started`), for pacing checks.
    arrivals: Mutex<Vec<f64>>,
    started: Mutex<Option<Instant>>,
    /// Connections accepted, per peer address.
    peers: Mutex<HashMap<std::net::IpAddr, u64>>,
}

impl Target {
    /// Starts a target on 127.0.0.1, port 0, on its own thread and runtime.
    pub fn start() -> Target {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        *state.started.lock().unwrap() = Some(Instant::now());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(std_listener, st, rx));
        });
        Target {
            addr,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// Connections accepted so far, per peer address.
    pub fn peers(&self) -> HashMap<std::net::IpAddr, u64> {
        self.state.peers.lock().unwrap().clone()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request arriving or in progress waits until `d` from now.
    pub fn stall_for(&self, d: Duration) {
        *self.state.stalled_until.lock().unwrap() = Some(Instant::now() + d);
    }

    /// Every request gets `extra` delay until `d` from now.
    pub fn slow_until(&self, d: Duration, extra: Duration) {
        *self.state.slow.lock().unwrap() = Some((Instant::now() + d, extra));
    }

    /// Every request but `GET /ready` gets `extra` delay while the target has seen at most
    /// `runs` requests on `/ready`: with `wait_for: { path: /ready }`, each run probes once
    /// before its load, so the first `runs` runs are slow and later ones are not, whatever
    /// their timing.
    pub fn slow_for_runs(&self, runs: u64, extra: Duration) {
        *self.state.slow_runs.lock().unwrap() = Some((runs, extra));
    }

    /// Requests received on `path`.
    pub fn count(&self, path: &str) -> u64 {
        self.state
            .counts
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received in all.
    pub fn total(&self) -> u64 {
        self.state.total.load(Ordering::SeqCst)
    }

    /// Receive times of all requests, seconds since the target started.
    pub fn arrivals(&self) -> Vec<f64> {
        self.state.arrivals.lock().unwrap().clone()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).unwrap();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r { Ok(a) => a, Err(_) => continue },
            _ = &mut shutdown => return,
        };
        *state.peers.lock().unwrap().entry(peer.ip()).or_default() += 1;
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

type Reply = Response<TestBody>;

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, std::io::Error> {
    let path = req.uri().path().to_string();
    {
        let since = state
            .started
            .lock()
            .unwrap()
            .unwrap()
            .elapsed()
            .as_secs_f64();
        state.arrivals.lock().unwrap().push(since);
        *state
            .counts
            .lock()
            .unwrap()
            .entry(path.clone())
            .or_default() += 1;
        state.total.fetch_add(1, Ordering::SeqCst);
    }
    loop {
        let until = *state.stalled_until.lock().unwrap();
        match until {
            Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
            _ => break,
        }
    }
    let slow_runs = *state.slow_runs.lock().unwrap();
    if let Some((runs, extra)) = slow_runs
        && path != "/ready"
        && state
            .counts
            .lock()
            .unwrap()
            .get("/ready")
            .copied()
            .unwrap_or(0)
            <= runs
    {
        tokio::time::sleep(extra).await;
    }
    let slow = *state.slow.lock().unwrap();
    if let Some((until, extra)) = slow
        && Instant::now() < until
    {
        tokio::time::sleep(extra).await;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let reply = match parts.as_slice() {
        ["ok"] => text(StatusCode::OK, "ok"),
        ["status", code] => {
            let code = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok());
            match code {
                Some(c) => text(c, "as requested"),
                None => text(StatusCode::BAD_REQUEST, "bad status"),
            }
        }
        ["delay", ms] => {
            let ms: u64 = ms.parse().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            text(StatusCode::OK, "late")
        }
        ["exact", ms] => {
            let ms: u64 = ms.parse().unwrap_or(0);
            let _ = tokio::task::spawn_blocking(move || {
                std::thread::sleep(Duration::from_millis(ms));
            })
            .await;
            text(StatusCode::OK, "held")
        }
        ["json"] => json(&serde_json::json!({"id": 7, "name": "seven", "tags": ["a", "b"]})),
        ["echo"] => {
            let method = req.method().to_string();
            let uri = req.uri().clone();
            let headers: serde_json::Map<String, serde_json::Value> = req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        serde_json::Value::from(v.to_str().unwrap_or("?")),
                    )
                })
                .collect();
            let version = format!("{:?}", req.version());
            let body = req
                .into_body()
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .unwrap_or_default();
            json(&serde_json::json!({
                "method": method,
                "path": uri.path(),
                "query": uri.query(),
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
                "version": version,
            }))
        }
        ["close"] => return Err(std::io::Error::other("closing without a response")),
        ["login"] => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .unwrap_or_default();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let user = v["user"].as_str().unwrap_or("?").to_string();
            if v["password"] == "secret-pass" {
                let mut r = json(&serde_json::json!({ "token": format!("tok-{user}") }));
                r.headers_mut().insert(
                    "x-session",
                    http::HeaderValue::from_str(&format!("sess-{user}")).unwrap(),
                );
                r
            } else {
                text(StatusCode::UNAUTHORIZED, "bad password")
            }
        }
        ["me"] => {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let basic_user = auth.strip_prefix("Basic ").and_then(|b| {
                use base64::Engine as _;
                let decoded = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
                let text = String::from_utf8(decoded).ok()?;
                let (u, p) = text.split_once(':')?;
                (p == "secret-pass").then(|| u.to_string())
            });
            match auth
                .strip_prefix("Bearer tok-")
                .map(str::to_string)
                .or(basic_user)
            {
                Some(user) => json(&serde_json::json!({ "user": user })),
                _ => {
                    let mut r = Response::new(TestBody::Full(Full::new(Bytes::from(format!(
                        "who are you? got `{auth}`"
                    )))));
                    *r.status_mut() = StatusCode::UNAUTHORIZED;
                    r
                }
            }
        }
        ["items"] => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .unwrap_or_default();
            let v: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let id = {
                let mut items = state.items.lock().unwrap();
                items.push(v);
                items.len()
            };
            let mut r = json(&serde_json::json!({ "id": id }));
            *r.status_mut() = StatusCode::CREATED;
            r.headers_mut().insert(
                "location",
                http::HeaderValue::from_str(&format!("/items/{id}")).unwrap(),
            );
            r
        }
        ["items", id, rest @ ..] => {
            let doc = id
                .parse::<usize>()
                .ok()
                .and_then(|i| state.items.lock().unwrap().get(i.wrapping_sub(1)).cloned());
            match doc {
                None => text(StatusCode::NOT_FOUND, "no such item"),
                Some(d) if rest.is_empty() => json(&d),
                Some(d) => match d.pointer(&format!("/{}", rest.join("/"))) {
                    Some(v) => json(v),
                    None => text(StatusCode::NOT_FOUND, "no such field"),
                },
            }
        }
        ["ticket"] => text(StatusCode::OK, "your ticket is T-4711, keep it"),
        ["seen", _] => text(StatusCode::OK, "noted"),
        ["ready"] => text(StatusCode::OK, "ready"),
        ["partial"] => {
            let mut r = Response::new(TestBody::Partial {
                sent: false,
                pause: Box::pin(tokio::time::sleep(Duration::from_millis(30))),
            });
            r.headers_mut().insert(
                http::header::CONTENT_LENGTH,
                http::HeaderValue::from_static("100"),
            );
            r
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(reply)
}

fn text(status: StatusCode, body: &'static str) -> Reply {
    let mut r = Response::new(TestBody::Full(Full::new(Bytes::from_static(
        body.as_bytes(),
    ))));
    *r.status_mut() = status;
    r
}

fn json(v: &serde_json::Value) -> Reply {
    let mut r = Response::new(TestBody::Full(Full::new(Bytes::from(v.to_string()))));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A body that is either complete, or breaks 30 ms after its first 10 bytes (the pause lets
/// the response head and those bytes reach the client before the connection breaks).
pub enum TestBody {
    Full(Full<Bytes>),
    Partial {
        sent: bool,
        pause: Pin<Box<tokio::time::Sleep>>,
    },
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            TestBody::Full(f) => Pin::new(f)
                .poll_frame(cx)
                .map_err(|e: Infallible| match e {}),
            TestBody::Partial { sent, pause } => {
                if *sent {
                    match pause.as_mut().poll(cx) {
                        Poll::Ready(()) => {
                            Poll::Ready(Some(Err(std::io::Error::other("body cut short"))))
                        }
                        Poll::Pending => Poll::Pending,
                    }
                } else {
                    *sent = true;
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"0123456789")))))
                }
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            TestBody::Full(f) => f.size_hint(),
            TestBody::Partial { .. } => SizeHint::with_exact(100),
        }
    }
}

/// The real `loadgate` binary, as a user runs it outside GitHub Actions: no target from the
/// environment, no colour.
pub fn loadgate() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("loadgate").expect("the binary is built");
    cmd.env_remove("LOADGATE_TARGET")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1");
    cmd
}
/// A TCP port with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Runs a profile (YAML text) against `target` through the real engine.
pub fn run_yaml(yaml: &str, target: &str) -> loadgate::results::RunResult {
    run_yaml_with(yaml, target, loadgate::engine::ShardSpec::WHOLE, None)
}

/// Data files held in memory, for profiles with `data` feeds.
pub struct MemFiles(pub HashMap<String, String>);

impl loadgate::profile::DataFiles for MemFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| format!("cannot read data file `{path}`: no such file"))
    }
}

/// Loads a profile whose data files are given as `(path, contents)`.
pub fn profile_with_files(
    yaml: &str,
    files: &[(&str, &str)],
) -> Result<loadgate::profile::Profile, String> {
    let files = MemFiles(
        files
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    );
    loadgate::profile::Profile::from_yaml_with_files(
        yaml,
        "test.yaml",
        &files,
        &loadgate::profile::NoEnvVars,
    )
    .map_err(|e| e.to_string())
}

/// Runs a loaded profile against `target` through the real engine.
pub fn run_profile(
    profile: loadgate::profile::Profile,
    target: &str,
) -> loadgate::results::RunResult {
    run_loaded(
        Arc::new(profile),
        target,
        loadgate::engine::ShardSpec::WHOLE,
        None,
        None,
    )
}

/// Runs a profile (YAML text) on exactly `threads` engine threads.
pub fn run_yaml_on_threads(
    yaml: &str,
    target: &str,
    threads: usize,
) -> Result<loadgate::results::RunResult, loadgate::engine::EngineError> {
    let profile = Arc::new(loadgate::profile::Profile::from_yaml(yaml, "test.yaml").unwrap());
    try_run(
        profile,
        target,
        loadgate::engine::ShardSpec::WHOLE,
        None,
        Some(threads),
    )
}

/// Runs a profile with a shard and an optional early stop after `stop_after`.
pub fn run_yaml_with(
    yaml: &str,
    target: &str,
    shard: loadgate::engine::ShardSpec,
    stop_after: Option<Duration>,
) -> loadgate::results::RunResult {
    let profile = Arc::new(loadgate::profile::Profile::from_yaml(yaml, "test.yaml").unwrap());
    run_loaded(profile, target, shard, stop_after, None)
}

fn run_loaded(
    profile: Arc<loadgate::profile::Profile>,
    target: &str,
    shard: loadgate::engine::ShardSpec,
    stop_after: Option<Duration>,
    threads: Option<usize>,
) -> loadgate::results::RunResult {
    try_run(profile, target, shard, stop_after, threads).unwrap()
}

/// Runs a loaded profile through the real engine; `Err` when the engine refuses to start.
pub fn try_run(
    profile: Arc<loadgate::profile::Profile>,
    target: &str,
    shard: loadgate::engine::ShardSpec,
    stop_after: Option<Duration>,
    threads: Option<usize>,
) -> Result<loadgate::results::RunResult, loadgate::engine::EngineError> {
    use loadgate::engine::{self, RunMeta, RunOptions, Stop};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let stop = Arc::new(Stop::default());
        if let Some(after) = stop_after {
            let s = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                s.trigger();
            });
        }
        let session = loadgate::engine::setup::start_session(&profile, target)
            .await
            .unwrap();
        let options = RunOptions {
            target: target.to_string(),
            session,
            shard,
            threads,
            meta: RunMeta {
                profile_path: Some("test.yaml".into()),
                git: None,
                runner: loadgate::results::Runner {
                    class: "test".into(),
                    cpus: 1,
                },
            },
        };
        engine::run(profile, options, stop, |_| {}).await
    })
}

/// Sum of one error class over an endpoint's intervals.
pub fn errors_of(
    e: &loadgate::results::EndpointResult,
    class: loadgate::metrics::ErrorClass,
) -> u64 {
    e.intervals
        .iter()
        .map(|i| i.errors.get(&class).copied().unwrap_or(0))
        .sum()
}

/// Total requests of an endpoint over all intervals (warm-up included).
pub fn requests_of(e: &loadgate::results::EndpointResult) -> u64 {
    e.intervals.iter().map(|i| i.requests).sum()
}
