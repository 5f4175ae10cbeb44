//! Live metrics of a run for Prometheus and Grafana: `--metrics-listen ADDR` serves `/metrics`
//! over HTTP while the run goes on, `--metrics-out FILE` writes the final snapshot
//! (OpenMetrics text) when it ends.
//!
//! The state is fed once per finished interval from the engine's progress callback, and the
//! in-flight gauge is updated by the engine threads' interval tickers: nothing is added to the
//! request path. The server runs on the app's runtime beside the collector; a scrape takes the
//! lock for as long as it takes to render the text.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::engine::{IntervalProgress, LiveGauges};
use crate::error::Error;
use crate::metrics::exposition::{Format, LiveMetrics};
use crate::profile::{LoadModel, Profile};

/// A run's live metrics, and the server showing them (see the module docs).
pub struct Live {
    state: Arc<Mutex<LiveMetrics>>,
    gauges: Arc<LiveGauges>,
    server: Option<Server>,
    out: Option<PathBuf>,
}

struct Server {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Live {
    /// Starts collecting when either flag is given (`None` otherwise), listening on `listen`
    /// (port 0 picks a free port; see [`Live::addr`]). Must be called within a tokio runtime.
    pub async fn start(
        profile: &Profile,
        listen: Option<&str>,
        out: Option<&Path>,
    ) -> Result<Option<Self>, Error> {
        if listen.is_none() && out.is_none() {
            return Ok(None);
        }
        let model = match (profile.load.search().is_some(), profile.load.kind()) {
            (true, _) => "search",
            (false, LoadModel::Open) => "open",
            (false, LoadModel::Closed) => "closed",
        };
        let state = Arc::new(Mutex::new(LiveMetrics::new(
            &profile.name,
            model,
            profile.endpoints.iter().map(|e| e.name.clone()),
            profile.load.interval.as_secs_f64(),
        )));
        let gauges = Arc::new(LiveGauges::default());
        let server = match listen {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr.trim()).await.map_err(|e| {
                    Error::Usage(format!(
                        "`--metrics-listen {addr}`: cannot listen there: {e} (expected an address like `127.0.0.1:9464`, port 0 for any free port)"
                    ))
                })?;
                let addr = listener
                    .local_addr()
                    .map_err(|e| Error::Usage(format!("`--metrics-listen {addr}`: {e}")))?;
                let (shutdown, stopped) = oneshot::channel();
                let task = tokio::spawn(serve(listener, state.clone(), gauges.clone(), stopped));
                Some(Server {
                    addr,
                    shutdown,
                    task,
                })
            }
        };
        Ok(Some(Self {
            state,
            gauges,
            server,
            out: out.map(Path::to_path_buf),
        }))
    }

    /// Where `/metrics` is served, if it is.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(|s| s.addr)
    }

    /// The gauges the engine threads update.
    pub fn gauges(&self) -> Arc<LiveGauges> {
        self.gauges.clone()
    }

    /// Adds a finished interval.
    pub fn observe(&self, p: &IntervalProgress) {
        self.lock().observe(p);
    }

    /// A capacity search started step `index` at `rate_per_sec`.
    pub fn begin_step(&self, index: usize, rate_per_sec: f64) {
        self.lock().begin_step(index, rate_per_sec);
    }

    /// The metrics now, in `format`.
    pub fn render(&self, format: Format) -> String {
        self.lock().render(format, self.gauges.in_flight())
    }

    /// Writes the final snapshot (`--metrics-out`) and stops the server.
    pub async fn finish(self) -> Result<(), Error> {
        if let Some(server) = self.server {
            let _ = server.shutdown.send(());
            let _ = server.task.await;
        }
        if let Some(path) = &self.out {
            let text = self
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .render(Format::OpenMetrics, self.gauges.in_flight());
            super::write_file(path, &text)?;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LiveMetrics> {
        // A panic while holding the lock leaves counters that are still counts.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn serve(
    listener: TcpListener,
    state: Arc<Mutex<LiveMetrics>>,
    gauges: Arc<LiveGauges>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
            _ = &mut stopped => return,
        };
        let (state, gauges) = (state.clone(), gauges.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let reply = respond(&state, &gauges, &req);
                async move { Ok::<_, Infallible>(reply) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(
    state: &Mutex<LiveMetrics>,
    gauges: &LiveGauges,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *r.status_mut() = status;
        r
    };
    if req.uri().path() != "/metrics" {
        return text(
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    let format = Format::negotiate(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    let body = state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .render(format, gauges.in_flight());
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(format.content_type()),
    );
    r
}
