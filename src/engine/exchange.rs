//! One scenario iteration and its requests: render each step with the iteration's `vars` and
//! `data`, send it, judge the response, extract values for the next step, record the outcome
//! against the intended send time, and record the scenario's total when it ends.

use std::collections::BTreeMap;

use http::HeaderMap;
use http_body_util::BodyExt;
use minijinja::Value;
use tokio::time::Instant;

use super::client::{self, Sender};
use super::h1;
use super::pool::Pool;
use super::request::{Failure, ResponseView, evaluate};
use super::worker::Thread;
use crate::metrics::{ErrorClass, Outcome};
use crate::profile::{Feed, FeedMode};

/// Largest body read for checks and extraction; bigger bodies fail with a `body` error.
const MAX_CHECKED_BODY: usize = 16 * 1024 * 1024;

/// What templates of one scenario iteration see: `vars` (setup values, then what earlier
/// steps extracted) and `data` (this arrival's or user's rows).
pub struct Iteration {
    vars: BTreeMap<String, Value>,
    data: Value,
    context: Option<Value>,
}

impl Iteration {
    /// A new iteration with the setup values and the given rows.
    pub fn new(setup: &BTreeMap<String, Value>, data: Value) -> Self {
        Self {
            vars: setup.clone(),
            data,
            context: None,
        }
    }

    /// The template context (built once per change, not per request).
    fn context(&mut self) -> &Value {
        let (vars, data) = (&self.vars, &self.data);
        self.context.get_or_insert_with(|| {
            Value::from(BTreeMap::from([
                ("vars", Value::from(vars.clone())),
                ("data", data.clone()),
            ]))
        })
    }

    fn extend(&mut self, values: Vec<(String, Value)>) {
        if !values.is_empty() {
            self.vars.extend(values);
            self.context = None;
        }
    }
}

/// The rows for global arrival (open model) or user (closed model) `index`: the feed's
/// `index`-th row (wrapping for `sequential`), or a random one. A `unique` feed that has run
/// out is an error (the load plan was checked against its size; this guards the rest).
pub fn rows_for(feeds: &[Feed], index: u64) -> Result<Value, String> {
    if feeds.is_empty() {
        return Ok(Value::UNDEFINED);
    }
    let mut data = BTreeMap::new();
    for feed in feeds {
        let n = feed.rows.len() as u64;
        let row = match feed.mode {
            FeedMode::Sequential => (index % n) as usize,
            FeedMode::Random => fastrand::usize(..feed.rows.len()),
            FeedMode::Unique if index < n => index as usize,
            FeedMode::Unique => {
                return Err(format!(
                    "data feed `{}` (`{}`) ran out of unique rows after {n}",
                    feed.name, feed.path
                ));
            }
        };
        data.insert(feed.name.clone(), feed.rows[row].clone());
    }
    Ok(Value::from(data))
}

/// Runs scenario `scenario`, whose first step was meant to be sent at `intended`, with the
/// given data rows. The caller began the iteration in interval `interval`; every step and the
/// scenario's total are recorded there (the iteration's phase is its arrival's), and the
/// iteration ends here.
pub(super) async fn run_scenario(
    state: &Thread,
    pools: &[Pool],
    scenario: usize,
    intended: Instant,
    interval: u32,
    data: Value,
) {
    let prepared = &state.plan.prepared;
    let sc = &prepared.scenarios[scenario];
    let mut iteration = Iteration::new(&state.plan.vars, data);
    let mut failed: Option<ErrorClass> = None;
    // Like a request's latency: from the intended start, or the actual one when earlier.
    let started = intended.min(Instant::now());
    for (n, &endpoint) in sc.steps.iter().enumerate() {
        // A later step is meant to go as soon as the previous one (and its think time) ended.
        let step_intended = if n == 0 { intended } else { Instant::now() };
        let Step::Done { class, stop } = exchange(
            state,
            pools,
            endpoint,
            step_intended,
            interval,
            &mut iteration,
        )
        .await
        else {
            // The profile is broken and the run is stopping: this iteration says nothing.
            state.intervals.borrow_mut().end(interval);
            return;
        };
        if failed.is_none() {
            failed = class;
        }
        if stop || state.plan.stop.is_triggered() {
            break;
        }
        if n + 1 < sc.steps.len()
            && let Some(think) = prepared.endpoints[endpoint].think_time
        {
            let pause = think.sample();
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = state.shutdown.notified() => break,
            }
        }
    }
    let mut intervals = state.intervals.borrow_mut();
    if let Some(journey) = sc.journey {
        intervals.record_total(
            prepared.endpoints.len() + journey,
            interval,
            Instant::now().saturating_duration_since(started),
            failed,
        );
    }
    intervals.end(interval);
}

/// How one step went.
enum Step {
    /// The request was sent (or failed on the way) and recorded.
    Done {
        /// Its failure class, if it failed.
        class: Option<ErrorClass>,
        /// True when the scenario cannot go on (a value it needs is missing).
        stop: bool,
    },
    /// Its template failed to render: nothing was sent or recorded, and the run is stopping.
    Aborted,
}

/// Sends one request of `endpoint` meant for `intended` and records its outcome in `interval`
/// (its iteration's). A template that fails to render is a broken profile, not a property of
/// the target: it stops the whole run with the reason (results partial, never gated).
async fn exchange(
    state: &Thread,
    pools: &[Pool],
    endpoint: usize,
    intended: Instant,
    interval: u32,
    iteration: &mut Iteration,
) -> Step {
    let prepared = &state.plan.prepared.endpoints[endpoint];
    let sent = Instant::now();
    // Latency runs from the intended send time when the request went out late (a queue that
    // built up shows: no coordinated omission), and from the actual send time when the
    // dispatcher woke early (at most one timer tick): the earlier of the two.
    let measured_from = intended.min(sent);
    let deadline = sent + prepared.timeout;
    let context = if prepared.contextual {
        iteration.context().clone()
    } else {
        Value::UNDEFINED
    };
    let ticket = state.pending.borrow_mut().start(endpoint, interval);
    let result = tokio::time::timeout_at(deadline, send(state, pools, endpoint, &context)).await;
    state.pending.borrow_mut().done(ticket);
    let latency = Instant::now().saturating_duration_since(measured_from);
    let needs_values = !prepared.extract.is_empty();
    let (status, failure, stop) = match result {
        Ok(Err(SendError::Template(message))) => {
            let name = &state.plan.profile.endpoints[endpoint].name;
            let reason = format!(
                "the template of request `{name}` failed to render at run time ({message}): fix the profile"
            );
            state
                .plan
                .stop
                .trigger_because(state.plan.secrets.mask(&reason).into_owned());
            return Step::Aborted;
        }
        Ok(Ok(received)) => {
            let view = ResponseView {
                status: received.status,
                headers: &received.headers,
                body: &received.body,
                latency,
            };
            let evaluation = evaluate(prepared, &view);
            iteration.extend(evaluation.vars);
            (Some(received.status), evaluation.failure, evaluation.stop)
        }
        Ok(Err(SendError::Failed(failure))) => (None, Some(failure), needs_values),
        Err(_) => (
            None,
            Some((
                ErrorClass::Timeout,
                format!("no complete response within {:?}", prepared.timeout),
            )),
            needs_values,
        ),
    };
    let outcome = Outcome {
        endpoint,
        interval,
        latency,
        status,
        error: failure.as_ref().map(|f| f.0),
    };
    state.intervals.borrow_mut().record(&outcome);
    let class = failure.as_ref().map(|f| f.0);
    if let Some((class, message)) = failure
        && !state.in_warmup(interval)
    {
        let message = state.plan.secrets.mask(&message).into_owned();
        state.samples.borrow_mut().add(endpoint, class, message);
    }
    Step::Done { class, stop }
}

/// A connection that could not be opened, as the request's failure; when the generator itself
/// ran out of what connections need, the run stops with what to change, instead of counting
/// every later request as the target's failure.
fn connect_failure(state: &Thread, e: client::ConnectError) -> Failure {
    if let Some(what) = e.exhausted {
        state.plan.stop.trigger_because(what);
    }
    (e.class, e.message)
}

/// Why no complete response arrived.
enum SendError {
    /// A classified failure of the exchange.
    Failed(Failure),
    /// The request's template did not render (a broken profile).
    Template(String),
}

impl From<Failure> for SendError {
    fn from(failure: Failure) -> Self {
        SendError::Failed(failure)
    }
}

/// A response as far as checks and extraction need it.
struct Received {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// The exchange itself: connection, request, response head and body. `Err` is a failure
/// before a complete response arrived.
async fn send(
    state: &Thread,
    pools: &[Pool],
    endpoint: usize,
    context: &Value,
) -> Result<Received, SendError> {
    let prepared = &state.plan.prepared.endpoints[endpoint];
    let origin = &state.plan.prepared.origins[prepared.origin];
    let pool = &pools[prepared.origin];
    let templates = &state.plan.profile.templates;
    let build = |h2: bool| {
        prepared
            .build(templates, origin, h2, context)
            .map_err(SendError::Template)
    };
    let sender = pool
        .acquire(origin, &state.plan.settings)
        .await
        .map_err(|e| connect_failure(state, e))?;
    let mut sender = match sender {
        Sender::Raw(conn) => return send_raw(state, pool, endpoint, context, conn).await,
        other => other,
    };
    let request = match build(sender.is_h2()) {
        Ok(r) => r,
        Err(e) => {
            pool.put(sender);
            return Err(e);
        }
    };
    let response = match &mut sender {
        Sender::H1(s) => match s.try_send_request(request).await {
            Ok(r) => r,
            // A kept-alive connection the server closed before our request went out: retry
            // once on a new connection rather than count the server's idle timeout as an error.
            Err(e) if e.message().is_some() && e.error().is_canceled() => {
                // Rare: boxed, so that its futures do not size every request's task.
                sender = Box::pin(client::connect(origin, &state.plan.settings))
                    .await
                    .map_err(|e| connect_failure(state, e))?;
                let h2 = sender.is_h2();
                Box::pin(send_once(&mut sender, build(h2)?)).await?
            }
            Err(e) => return Err(closed_failure(e.error()).into()),
        },
        Sender::H2(s) => s
            .send_request(request)
            .await
            .map_err(|e| closed_failure(&e))?,
        // Plain-HTTP connections left above; an origin's scheme does not change.
        Sender::Raw(_) => return Err(unexpected_raw().into()),
    };
    let status = response.status().as_u16();
    let (parts, mut body) = response.into_parts();
    let mut collected = Vec::new();
    let keep = prepared.needs_body;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| (ErrorClass::Body, format!("reading the body failed: {e}")))?;
        if keep && let Some(data) = frame.data_ref() {
            if collected.len() + data.len() > MAX_CHECKED_BODY {
                return Err((ErrorClass::Body, "body larger than 16 MiB".to_string()).into());
            }
            collected.extend_from_slice(data);
        }
    }
    pool.put(sender);
    Ok(Received {
        status,
        headers: if prepared.needs_headers {
            parts.headers
        } else {
            HeaderMap::new()
        },
        body: collected,
    })
}

/// The exchange on a connection of loadgate's own HTTP/1.1 client.
async fn send_raw(
    state: &Thread,
    pool: &Pool,
    endpoint: usize,
    context: &Value,
    conn: h1::Conn,
) -> Result<Received, SendError> {
    let prepared = &state.plan.prepared.endpoints[endpoint];
    let origin = &state.plan.prepared.origins[prepared.origin];
    let build = || {
        prepared
            .build_bytes(&state.plan.profile.templates, origin, false, context)
            .map_err(SendError::Template)
    };
    let request = match build() {
        Ok(r) => r,
        Err(e) => {
            pool.put(Sender::Raw(conn));
            return Err(e);
        }
    };
    let wanted = h1::Wanted {
        headers: prepared.needs_headers,
        body: prepared.needs_body,
        max_body: MAX_CHECKED_BODY,
    };
    let idempotent = request.method().is_idempotent();
    let result = match conn.exchange(request, wanted).await {
        // A kept-alive connection the server closed while it was idle, and nothing came back:
        // retry once on a new connection rather than count the server's idle timeout as an
        // error (idempotent methods only: the server may have seen the request).
        Err(h1::Error::ClosedIdle(_)) if idempotent => {
            // Rare: boxed, so that its futures do not size every request's task.
            match Box::pin(client::connect(origin, &state.plan.settings))
                .await
                .map_err(|e| connect_failure(state, e))?
            {
                Sender::Raw(fresh) => Box::pin(fresh.exchange(build()?, wanted)).await,
                other => {
                    pool.put(other);
                    return Err(SendError::Failed((
                        ErrorClass::Closed,
                        "connection closed before a response".into(),
                    )));
                }
            }
        }
        other => other,
    };
    match result {
        Ok((response, keep)) => {
            if let Some(conn) = keep {
                pool.put(Sender::Raw(conn));
            }
            Ok(Received {
                status: response.status,
                headers: response.headers,
                body: response.body,
            })
        }
        Err(h1::Error::ClosedIdle(f) | h1::Error::Failed(f)) => Err(f.into()),
    }
}

async fn send_once(
    sender: &mut Sender,
    request: http::Request<client::ReqBody>,
) -> Result<http::Response<hyper::body::Incoming>, Failure> {
    match sender {
        Sender::H1(s) => s
            .send_request(request)
            .await
            .map_err(|e| closed_failure(&e)),
        Sender::H2(s) => s
            .send_request(request)
            .await
            .map_err(|e| closed_failure(&e)),
        Sender::Raw(_) => Err(unexpected_raw()),
    }
}

/// A plain-HTTP connection where a TLS one was expected: cannot happen, as an origin's scheme
/// is fixed, but it is a failure of the request rather than a panic.
fn unexpected_raw() -> Failure {
    (
        ErrorClass::Closed,
        "internal: a plain-HTTP connection on the TLS path".into(),
    )
}

/// A failure before a status arrived: the connection closed or reset, or the response head
/// was malformed. Names the cause hyper saw.
fn closed_failure(e: &hyper::Error) -> Failure {
    let mut message = e.to_string();
    if let Some(source) = std::error::Error::source(e) {
        let detail = source.to_string();
        if !message.contains(&detail) {
            message = format!("{message}: {detail}");
        }
    }
    (ErrorClass::Closed, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(mode: FeedMode, rows: usize) -> Feed {
        Feed {
            name: "users".into(),
            path: "users.csv".into(),
            mode,
            columns: vec!["n".into()],
            rows: std::sync::Arc::new(
                (0..rows)
                    .map(|n| Value::from(BTreeMap::from([("n", Value::from(n))])))
                    .collect(),
            ),
        }
    }

    #[test]
    fn rows_are_handed_out_by_mode_and_a_unique_feed_runs_out_with_a_message() {
        let row_n = |feeds: &[Feed], index| {
            let data = rows_for(feeds, index).unwrap();
            let n = data.get_attr("users").unwrap().get_attr("n").unwrap();
            u64::try_from(n).unwrap()
        };
        let sequential = [feed(FeedMode::Sequential, 3)];
        assert_eq!(row_n(&sequential, 4), 1, "wraps around");
        let unique = [feed(FeedMode::Unique, 2)];
        assert_eq!(row_n(&unique, 1), 1);
        // The load plan is checked against the feed's size (and the schedule sends exactly the
        // planned arrivals), so the engine never gets here; if it did, it stops with this.
        assert_eq!(
            rows_for(&unique, 2).unwrap_err(),
            "data feed `users` (`users.csv`) ran out of unique rows after 2"
        );
        assert!(rows_for(&[], 9).unwrap().is_undefined());
    }
}
