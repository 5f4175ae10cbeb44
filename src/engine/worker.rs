//! The request loop of one engine thread: a single-threaded tokio runtime that owns its
//! connections, its recording and its share of the schedule.
//!
//! Both models feed one function, [`exchange`], that sends a request and records its outcome
//! against the intended send time: the open model's dispatcher hands each arrival of the
//! schedule to a runner task that calls it (dropping arrivals beyond the in-flight cap), the
//! closed model's users call it in a loop with think time. Latency is measured from the intended send time (from the actual
//! one only when that was earlier, see `exchange`).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::LiveGauges;
use super::client::ClientSettings;
use super::exchange::{rows_for, run_scenario};
use super::pending::Pending;
use super::pool::Pool;
use super::request::Prepared;
use super::runner::{Arrival, Runners};
use super::schedule::{Arrivals, Share, UsersCurve};
use crate::metrics::{ClosedInterval, ErrorClass, ErrorSamples, Histogram, IntervalSet, Outcome};
use crate::profile::{Load, LoadModel, Model, Profile, ThinkTime};
use crate::secrets::Secrets;

/// Granularity of tokio's timer.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// Ends a run early (Ctrl-C, a data feed that ran out) from any thread.
#[derive(Debug, Default)]
pub struct Stop {
    flag: AtomicBool,
    notify: Notify,
    reason: std::sync::Mutex<Option<String>>,
}

impl Stop {
    /// Asks every engine thread to stop scheduling and drain.
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Stops the run for a reason of the engine's own (the first reason wins).
    pub fn trigger_because(&self, reason: String) {
        if let Ok(mut r) = self.reason.lock()
            && r.is_none()
        {
            *r = Some(reason);
        }
        self.trigger();
    }

    /// Why the engine stopped itself, if it did (`None` for an outside stop like Ctrl-C).
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }

    /// True once triggered.
    pub fn is_triggered(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Waits until triggered.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        if self.is_triggered() {
            return;
        }
        notified.await;
    }
}

/// What an engine thread tells the collector.
#[derive(Debug)]
pub enum Report {
    /// A finished interval.
    Closed(ClosedInterval),
    /// Every interval below `next_open` has been reported by `thread`.
    Watermark {
        /// Engine thread.
        thread: usize,
        /// First interval still open.
        next_open: u32,
    },
    /// The thread finished.
    Done {
        /// Engine thread.
        thread: usize,
        /// Schedule lag of the measured phase, µs.
        lag: Histogram,
        /// Error messages seen.
        samples: ErrorSamples,
        /// Most requests in flight at once.
        peak_in_flight: u64,
    },
}

/// Everything one engine thread needs.
pub struct ThreadPlan {
    /// Index of this thread.
    pub thread: usize,
    /// Which arrivals or users it takes.
    pub share: Share,
    /// The profile.
    pub profile: Arc<Profile>,
    /// Prepared endpoints and origins.
    pub prepared: Arc<Prepared>,
    /// Connection settings.
    pub settings: ClientSettings,
    /// Common start of the schedule.
    pub start: std::time::Instant,
    /// Early stop.
    pub stop: Arc<Stop>,
    /// To the collector.
    pub reports: mpsc::UnboundedSender<Report>,
    /// This thread's share of the open model's in-flight cap (0 in the closed model, whose
    /// users bound what is in flight).
    pub max_in_flight: u64,
    /// Values `setup` extracted, the start of every iteration's `vars`.
    pub vars: Arc<BTreeMap<String, minijinja::Value>>,
    /// Values masked in every recorded message.
    pub secrets: Arc<Secrets>,
    /// The load plan this run follows (the profile's, or one step of a capacity search).
    pub load: Arc<Load>,
    /// Global index of the run's first arrival: data rows continue across a search's steps.
    pub first_arrival: u64,
    /// Live gauges, updated once per interval by the ticker (never per request).
    pub gauges: Option<Arc<LiveGauges>>,
}

/// One engine thread's state (single-threaded: `Cell`/`RefCell`, no locks).
pub(super) struct Thread {
    pub(super) plan: ThreadPlan,
    start: Instant,
    interval: Duration,
    warmup_intervals: u32,
    pub(super) intervals: RefCell<IntervalSet>,
    pub(super) pools: Vec<Pool>,
    in_flight: Cell<u64>,
    /// Requests in flight as last added to the live gauges.
    reported_in_flight: Cell<u64>,
    peak_in_flight: Cell<u64>,
    lag: RefCell<Histogram>,
    pub(super) samples: RefCell<ErrorSamples>,
    /// Requests on the wire: recorded as failures when the run stops before they answer.
    pub(super) pending: RefCell<Pending>,
    drained: Notify,
    /// Closed model: users this thread should be running.
    active_users: Cell<u64>,
    /// Closed model: which user indices have a running task (a user above the target winds
    /// down after its current request; it must not be started twice meanwhile).
    alive: RefCell<Vec<bool>>,
    /// Wakes users out of think time at the end.
    pub(super) shutdown: Notify,
    /// Open model: tasks that run arrivals.
    pub(super) runners: Runners,
}

impl Thread {
    /// True for an interval of the warm-up: its requests are left out of the statistics, and
    /// out of the error samples, so a sample's count matches the errors the report shows.
    pub(super) fn in_warmup(&self, interval: u32) -> bool {
        interval < self.warmup_intervals
    }

    pub(super) fn interval_of(&self, at: Instant) -> u32 {
        let since = at.saturating_duration_since(self.start);
        (since.as_nanos() / self.interval.as_nanos()).min(u128::from(u32::MAX)) as u32
    }

    fn send_report(&self, report: Report) {
        // The collector outlives the threads; a closed channel means the run is being torn
        // down and nothing is waiting for the data.
        let _ = self.plan.reports.send(report);
    }

    /// Adds this thread's change of requests in flight since its last report to the live
    /// gauges: called once per interval, so the request path stays untouched.
    fn report_gauges(&self) {
        let now = self.in_flight.get();
        if let Some(g) = &self.plan.gauges {
            g.add_in_flight(now.cast_signed() - self.reported_in_flight.get().cast_signed());
        }
        self.reported_in_flight.set(now);
    }

    fn flush(&self, until: u32) {
        let mut closed = Vec::new();
        let next_open = self
            .intervals
            .borrow_mut()
            .close_until(until, &mut |c| closed.push(c));
        for c in closed {
            self.send_report(Report::Closed(c));
        }
        self.send_report(Report::Watermark {
            thread: self.plan.thread,
            next_open,
        });
    }
}

/// Runs one engine thread to completion on the calling OS thread.
pub fn run_thread(plan: ThreadPlan) {
    // A local runtime runs `spawn_local` tasks on its own scheduler: unlike a `LocalSet` inside
    // `block_on`, waking one of them costs no self-wake through the I/O driver (an eventfd
    // write and an extra epoll turn per timer wake-up).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build_local(tokio::runtime::LocalOptions::default())
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("engine thread {} could not start: {e}", plan.thread);
            return;
        }
    };
    runtime.block_on(thread_main(plan));
}

async fn thread_main(plan: ThreadPlan) {
    let endpoints = plan.profile.endpoints.len();
    let load = &plan.load;
    let interval = load.interval;
    let warmup_intervals = (load.warmup.as_nanos() / interval.as_nanos()) as u32;
    let state = Rc::new(Thread {
        start: Instant::from_std(plan.start),
        interval,
        warmup_intervals,
        // Journeys' totals are recorded after the endpoints.
        intervals: RefCell::new(IntervalSet::new(
            endpoints + plan.profile.scenarios.iter().filter(|s| s.journey).count(),
        )),
        pools: plan
            .prepared
            .origins
            .iter()
            .map(|_| match plan.profile.load.kind() {
                LoadModel::Open => Pool::default(),
                LoadModel::Closed => Pool::unbounded(),
            })
            .collect(),
        in_flight: Cell::new(0),
        reported_in_flight: Cell::new(0),
        peak_in_flight: Cell::new(0),
        lag: RefCell::new(Histogram::new()),
        samples: RefCell::new(ErrorSamples::default()),
        pending: RefCell::new(Pending::default()),
        drained: Notify::new(),
        active_users: Cell::new(0),
        alive: RefCell::new(Vec::new()),
        shutdown: Notify::new(),
        runners: Runners::default(),
        plan,
    });
    let ticker = tokio::task::spawn_local(ticker(state.clone()));
    tokio::time::sleep_until(state.start).await;
    match state.plan.load.model {
        Model::Open { .. } => open_loop(&state).await,
        Model::Closed {
            think_time,
            spawn_rate,
        } => closed_loop(&state, think_time, spawn_rate).await,
    }
    drain(&state).await;
    record_abandoned(&state);
    ticker.abort();
    // Whatever the ticker last reported is withdrawn: this thread has nothing in flight now.
    if let Some(g) = &state.plan.gauges {
        g.add_in_flight(-state.reported_in_flight.get().cast_signed());
    }
    let mut closed = Vec::new();
    state
        .intervals
        .borrow_mut()
        .close_all(&mut |c| closed.push(c));
    for c in closed {
        state.send_report(Report::Closed(c));
    }
    state.send_report(Report::Watermark {
        thread: state.plan.thread,
        next_open: u32::MAX,
    });
    state.send_report(Report::Done {
        thread: state.plan.thread,
        lag: state.lag.replace(Histogram::new()),
        samples: state.samples.take(),
        peak_in_flight: state.peak_in_flight.get(),
    });
}

/// Closes intervals as time passes, so the collector can merge them while the run goes on.
async fn ticker(state: Rc<Thread>) {
    let mut k: u32 = 1;
    loop {
        tokio::time::sleep_until(state.start + state.interval * k).await;
        state.flush(k);
        state.report_gauges();
        k = k.saturating_add(1);
    }
}

/// Waits for requests in flight to finish: all of them after a normal end (each is bounded by
/// its timeout), at most a short grace period after an early stop.
async fn drain(state: &Rc<Thread>) {
    let longest = state
        .plan
        .prepared
        .endpoints
        .iter()
        .map(|e| e.timeout)
        .max()
        .unwrap_or_default()
        + state.plan.settings.connect_timeout;
    let grace = if state.plan.stop.is_triggered() {
        Duration::from_secs(2).min(longest)
    } else {
        longest + Duration::from_secs(1)
    };
    let deadline = Instant::now() + grace;
    while state.in_flight.get() > 0 {
        let notified = state.drained.notified();
        if state.in_flight.get() == 0 {
            break;
        }
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep_until(deadline) => break,
            () = state.plan.stop.wait(), if !state.plan.stop.is_triggered() => {
                // A stop during a normal drain shortens the wait.
                let short = Instant::now() + Duration::from_secs(2);
                tokio::select! {
                    () = state.drained.notified() => {}
                    () = tokio::time::sleep_until(short) => break,
                }
            }
        }
    }
}

/// Counts every request still without an answer after the drain as a timeout at the stop, in
/// its own interval, so a stalled service shows in the results instead of vanishing with its
/// requests.
fn record_abandoned(state: &Thread) {
    let left = state.pending.borrow_mut().abandon();
    if left.is_empty() {
        return;
    }
    let mut intervals = state.intervals.borrow_mut();
    let mut samples = state.samples.borrow_mut();
    for (endpoint, interval) in left {
        intervals.record(&Outcome {
            endpoint,
            interval,
            latency: Duration::ZERO,
            status: None,
            error: Some(ErrorClass::Timeout),
        });
        if !state.in_warmup(interval) {
            samples.add(
                endpoint,
                ErrorClass::Timeout,
                "no response before the run stopped: still in flight at the stop".into(),
            );
        }
    }
}

async fn open_loop(state: &Rc<Thread>) {
    let profile = &state.plan.profile;
    let arrivals = Arrivals::new(&state.plan.load.segments, state.plan.share);
    let cap = state.plan.max_in_flight;
    for (index, offset) in arrivals {
        if state.plan.stop.is_triggered() {
            break;
        }
        let intended = state.start + offset;
        // The timer rounds deadlines up to the next millisecond tick; aiming one tick early
        // wakes at most 1 ms before the intended time instead of up to 1 ms after it. A request
        // sent early is measured from its actual send time (see `exchange`), one sent late from
        // its intended time, so neither direction flatters the numbers.
        let wake = intended.checked_sub(TIMER_TICK).unwrap_or(intended);
        if wake > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = state.plan.stop.wait() => break,
            }
        }
        let k = (offset.as_nanos() / state.interval.as_nanos()) as u32;
        let data = match rows_for(&profile.feeds, state.plan.first_arrival + index) {
            Ok(d) => d,
            Err(reason) => {
                state.plan.stop.trigger_because(reason);
                break;
            }
        };
        {
            let mut intervals = state.intervals.borrow_mut();
            let generator = intervals.generator(k);
            generator.planned += 1;
            if state.in_flight.get() >= cap {
                generator.dropped += 1;
                continue;
            }
            let lag = Instant::now().saturating_duration_since(intended);
            let lag_us = lag.as_micros() as u64;
            generator.sent += 1;
            generator.max_lag_us = generator.max_lag_us.max(lag_us);
            intervals.begin(k);
        }
        if k >= state.warmup_intervals {
            state.lag.borrow_mut().record_us(
                Instant::now()
                    .saturating_duration_since(intended)
                    .as_micros() as u64,
            );
        }
        let scenario = state.plan.prepared.pick();
        enter(state);
        state.runners.dispatch(
            state,
            Arrival {
                scenario,
                intended,
                interval: k,
                data,
            },
        );
    }
}

fn enter(state: &Thread) {
    let n = state.in_flight.get() + 1;
    state.in_flight.set(n);
    if n > state.peak_in_flight.get() {
        state.peak_in_flight.set(n);
    }
}

pub(super) fn leave(state: &Thread) {
    let n = state.in_flight.get().saturating_sub(1);
    state.in_flight.set(n);
    if n == 0 {
        state.drained.notify_waiters();
    }
}

async fn closed_loop(state: &Rc<Thread>, think: ThinkTime, spawn_rate: Option<f64>) {
    let load = &state.plan.load;
    let mut curve = UsersCurve::new(&load.segments, spawn_rate);
    let end = state.start + load.duration();
    let tick = Duration::from_millis(20);
    loop {
        let now = Instant::now();
        if now >= end || state.plan.stop.is_triggered() {
            break;
        }
        // The schedule's users now, the spawn rate included: a step up is reached at the
        // spawn rate, so the users asked for follow the limited curve, not the stage's level.
        let global = curve.advance(now.saturating_duration_since(state.start));
        let mine = state.plan.share.count_below(global);
        state.active_users.set(mine);
        let running = start_users(state, mine, think);
        {
            let k = state.interval_of(now);
            let mut intervals = state.intervals.borrow_mut();
            let g = intervals.generator(k);
            g.users = running;
            g.target_users = mine;
        }
        tokio::select! {
            () = tokio::time::sleep(tick) => {}
            () = state.plan.stop.wait() => break,
        }
    }
    state.active_users.set(0);
    state.shutdown.notify_waiters();
}

/// Starts a task for every user index below `count` that has none running, and returns how
/// many of those users have a task (one that could not be started is missing).
fn start_users(state: &Rc<Thread>, count: u64, think: ThinkTime) -> u64 {
    let mut alive = state.alive.borrow_mut();
    if alive.len() < count as usize {
        alive.resize(count as usize, false);
    }
    for (index, running) in alive.iter_mut().enumerate().take(count as usize) {
        if !*running {
            *running = true;
            let st = state.clone();
            tokio::task::spawn_local(async move { user(st, index as u64, think).await });
        }
    }
    alive.iter().take(count as usize).filter(|r| **r).count() as u64
}

async fn user(state: Rc<Thread>, index: u64, think: ThinkTime) {
    run_user(&state, index, think).await;
    if let Some(running) = state.alive.borrow_mut().get_mut(index as usize) {
        *running = false;
    }
}

async fn run_user(state: &Rc<Thread>, index: u64, think: ThinkTime) {
    // A user keeps its data rows for its lifetime; its global index picks them.
    let global =
        state.plan.first_arrival + state.plan.share.offset + index * state.plan.share.stride;
    let data = match rows_for(&state.plan.profile.feeds, global) {
        Ok(d) => d,
        Err(reason) => {
            state.plan.stop.trigger_because(reason);
            return;
        }
    };
    // `http.connections: per_user`: the user's own connections, one per origin at most (it
    // sends one request at a time), closed when it stops; otherwise its thread's, shared.
    let own: Vec<Pool> = if state.plan.profile.http.connection_per_user {
        state
            .plan
            .prepared
            .origins
            .iter()
            .map(|_| Pool::unbounded())
            .collect()
    } else {
        Vec::new()
    };
    let pools = if own.is_empty() { &state.pools } else { &own };
    loop {
        if index >= state.active_users.get() || state.plan.stop.is_triggered() {
            return;
        }
        let intended = Instant::now();
        let k = state.interval_of(intended);
        {
            let mut intervals = state.intervals.borrow_mut();
            intervals.generator(k).sent += 1;
            intervals.begin(k);
        }
        enter(state);
        run_scenario(
            state,
            pools,
            state.plan.prepared.pick(),
            intended,
            k,
            data.clone(),
        )
        .await;
        leave(state);
        let pause = think.sample();
        if !pause.is_zero() {
            let due = Instant::now() + pause;
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = state.shutdown.notified() => return,
            }
            woke(state, due);
        }
    }
}

/// The closed model's schedule lag: how late a user woke from its think time. A generator
/// starved of CPU wakes its users late, and so sends less than its users would; the validity
/// check reads this as it reads the open model's lag behind its arrival times.
fn woke(state: &Thread, due: Instant) {
    let lag_us = Instant::now().saturating_duration_since(due).as_micros() as u64;
    let k = state.interval_of(due);
    {
        let mut intervals = state.intervals.borrow_mut();
        let g = intervals.generator(k);
        g.max_lag_us = g.max_lag_us.max(lag_us);
    }
    if k >= state.warmup_intervals {
        state.lag.borrow_mut().record_us(lag_us);
    }
}
