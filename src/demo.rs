//! The built-in demo service: a small customer-data API on loopback, so a newcomer can see a
//! whole run without a service of their own.
//!
//! Endpoints: `GET /health`, `GET /customerdata/{id}` (ids 1–5000), `GET /customerdata/{id}/address`
//! (a nested field), `POST /api/v1/add_json` (stores a JSON document, up to 1 MiB),
//! `GET /api/v1/json/{id}` (the whole document) and `GET /api/v1/json/{id}/{path…}` (a nested
//! field by JSON pointer). Knobs: base latency (with ±20% jitter), a slow-down factor per
//! endpoint, a share of 500 responses, and a capacity (requests served at once; the rest queue).
//! It runs on its own thread and runtime, so it never shares a runtime with the generator.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

/// Endpoint keys for slow-down factors.
pub const ENDPOINTS: [&str; 5] = ["health", "customer", "address", "add_json", "json"];

/// Documents kept by `add_json` (oldest dropped first), so memory stays bounded.
const MAX_DOCUMENTS: usize = 10_000;

/// How the demo service behaves.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Latency added to every response (jittered ±20%).
    pub latency: Duration,
    /// Extra factor per endpoint key (see [`ENDPOINTS`]).
    pub slow: Vec<(String, f64)>,
    /// Share of requests answered with 500.
    pub error_ratio: f64,
    /// Requests served at once (0: unlimited); beyond it requests wait in a queue.
    pub capacity: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(2),
            slow: Vec::new(),
            error_ratio: 0.0,
            capacity: 0,
        }
    }
}

impl DemoConfig {
    fn factor(&self, endpoint: &str) -> f64 {
        self.slow
            .iter()
            .filter(|(e, _)| e == endpoint)
            .map(|(_, f)| *f)
            .product()
    }
}

/// Parses `ENDPOINT=FACTOR` (like `customer=1.3`).
pub fn parse_slow(text: &str) -> Result<(String, f64), String> {
    let fail = || {
        format!(
            "invalid `--slow {text}`: expected ENDPOINT=FACTOR like `customer=1.3`, with ENDPOINT one of {}",
            ENDPOINTS.join(", ")
        )
    };
    let (e, f) = text.split_once('=').ok_or_else(fail)?;
    let f: f64 = f.trim().parse().map_err(|_| fail())?;
    let e = e.trim();
    if !(ENDPOINTS.contains(&e) && f.is_finite() && f > 0.0) {
        return Err(fail());
    }
    Ok((e.to_string(), f))
}

/// A running demo service.
pub struct DemoServer {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DemoServer {
    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

struct State {
    config: DemoConfig,
    limit: Option<Semaphore>,
    documents: Mutex<Documents>,
}

#[derive(Default)]
struct Documents {
    by_id: HashMap<String, Bytes>,
    order: VecDeque<String>,
}

/// Starts the demo service on `addr` (port 0 picks a free port) on its own thread.
pub fn start(config: DemoConfig, addr: SocketAddr) -> std::io::Result<DemoServer> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let (tx, rx) = oneshot::channel();
    let state = Arc::new(State {
        limit: (config.capacity > 0).then(|| Semaphore::new(config.capacity)),
        config,
        documents: Mutex::new(Documents::default()),
    });
    let thread = std::thread::Builder::new()
        .name("loadgate-demo".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("demo service runtime failed: {e}");
                    return;
                }
            };
            runtime.block_on(serve(std_listener, state, rx));
        })?;
    Ok(DemoServer {
        addr,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
            _ = &mut shutdown => return,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let _permit = match &state.limit {
        Some(s) => s.acquire().await.ok(),
        None => None,
    };
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let key = match (req.method(), segments.as_slice()) {
        (&Method::GET, ["health"]) => "health",
        (&Method::GET, ["customerdata", _]) => "customer",
        (&Method::GET, ["customerdata", _, "address"]) => "address",
        (&Method::POST, ["api", "v1", "add_json"]) => "add_json",
        (&Method::GET, ["api", "v1", "json", _, ..]) => "json",
        _ => return Ok(text(StatusCode::NOT_FOUND, "not found")),
    };
    if key != "health" {
        let base = state.config.latency.as_secs_f64() * state.config.factor(key);
        if base > 0.0 {
            let jitter = 0.8 + 0.4 * fastrand::f64();
            tokio::time::sleep(Duration::from_secs_f64(base * jitter)).await;
        }
        if state.config.error_ratio > 0.0 && fastrand::f64() < state.config.error_ratio {
            return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, "injected failure"));
        }
    }
    Ok(match (key, segments.as_slice()) {
        ("health", _) => text(StatusCode::OK, "ok"),
        ("customer", [_, id]) => match customer(id) {
            Some(c) => json(StatusCode::OK, &c),
            None => text(StatusCode::NOT_FOUND, "no such customer"),
        },
        ("address", [_, id, _]) => match customer(id) {
            Some(c) => json(StatusCode::OK, &c["address"]),
            None => text(StatusCode::NOT_FOUND, "no such customer"),
        },
        ("add_json", _) => add_json(&state, req).await,
        ("json", [_, _, _, id, rest @ ..]) => read_json(&state, id, rest),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    })
}

fn customer(id: &str) -> Option<serde_json::Value> {
    let id: u32 = id.parse().ok().filter(|i| (1..=5000).contains(i))?;
    let first = [
        "Ada", "Ben", "Chen", "Dana", "Elena", "Farah", "Grace", "Hiro",
    ][(id % 8) as usize];
    let last = [
        "Abe", "Becker", "Costa", "Diallo", "Evans", "Fischer", "Garcia",
    ][(id % 7) as usize];
    let city = ["Lisbon", "Osaka", "Lagos", "Lima", "Oslo"][(id % 5) as usize];
    Some(serde_json::json!({
        "id": id,
        "name": format!("{first} {last}"),
        "email": format!("{}.{}{id}@example.com", first.to_lowercase(), last.to_lowercase()),
        "address": {
            "street": format!("{} Main Street", id % 300 + 1),
            "city": city,
            "zip": format!("{:05}", id * 7 % 100_000),
        },
        "orders": (0..(id % 5)).map(|n| serde_json::json!({"n": n, "total": f64::from(id % 97 + n) * 1.5})).collect::<Vec<_>>(),
    }))
}

async fn add_json(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match Limited::new(req.into_body(), 1 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "document larger than 1 MiB"),
    };
    let doc: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => return text(StatusCode::BAD_REQUEST, &format!("not JSON: {e}")),
    };
    let id = doc
        .get("id")
        .and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        })
        .unwrap_or_else(crate::profile::random_uuid);
    let mut docs = state
        .documents
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !docs.by_id.contains_key(&id) {
        docs.order.push_back(id.clone());
    }
    docs.by_id.insert(id.clone(), body);
    while docs.order.len() > MAX_DOCUMENTS {
        if let Some(old) = docs.order.pop_front() {
            docs.by_id.remove(&old);
        }
    }
    json(StatusCode::CREATED, &serde_json::json!({ "id": id }))
}

fn read_json(state: &State, id: &str, rest: &[&str]) -> Response<Full<Bytes>> {
    let docs = state
        .documents
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(body) = docs.by_id.get(id).cloned() else {
        return text(StatusCode::NOT_FOUND, "no such document");
    };
    drop(docs);
    if rest.is_empty() {
        return Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "response failed"));
    }
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored document is not JSON",
        );
    };
    let pointer = format!("/{}", rest.join("/"));
    match doc.pointer(&pointer) {
        Some(v) => json(StatusCode::OK, v),
        None => text(StatusCode::NOT_FOUND, "no such field"),
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    r
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_factors_parse() {
        assert_eq!(
            parse_slow("customer=1.3").unwrap(),
            ("customer".into(), 1.3)
        );
        assert!(parse_slow("nope=2").is_err());
        assert!(parse_slow("customer=-1").is_err());
        assert!(parse_slow("customer").is_err());
    }

    #[test]
    fn customers_are_deterministic() {
        assert_eq!(customer("42"), customer("42"));
        assert!(customer("0").is_none());
        assert!(customer("5001").is_none());
        assert_eq!(customer("7").unwrap()["id"], 7);
    }
}
