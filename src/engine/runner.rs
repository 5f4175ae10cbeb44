//! The open model's request tasks, reused: the dispatcher hands an arrival to an idle runner
//! (a wake-up) instead of spawning a task for it (allocating the exchange's future, copying it
//! into the runtime and freeing it afterwards, per request).
//!
//! A runner that finishes its scenario goes back to the idle list, so the number of runners
//! follows the peak number of requests in flight; beyond [`MAX_IDLE`] idle ones it ends.
//! Single-threaded like the rest of an engine thread: `RefCell`s, no locks.

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use minijinja::Value;
use tokio::time::Instant;

use super::exchange::run_scenario;
use super::worker::{Thread, leave};

/// Idle runners kept for later arrivals (each holds one exchange's state, under 2 KB).
const MAX_IDLE: usize = 1024;

/// One arrival of the schedule, already counted as sent and in flight.
pub(super) struct Arrival {
    /// Scenario picked for it.
    pub scenario: usize,
    /// Intended send time.
    pub intended: Instant,
    /// Interval of the intended send time.
    pub interval: u32,
    /// Its data rows.
    pub data: Value,
}

/// Where the dispatcher leaves a runner's next arrival.
#[derive(Default)]
struct Mailbox {
    arrival: RefCell<Option<Arrival>>,
    waker: RefCell<Option<Waker>>,
}

impl Mailbox {
    fn put(&self, arrival: Arrival) {
        *self.arrival.borrow_mut() = Some(arrival);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    async fn take(&self) -> Arrival {
        poll_fn(|cx| match self.arrival.borrow_mut().take() {
            Some(arrival) => Poll::Ready(arrival),
            None => {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// The idle runners of one engine thread.
#[derive(Default)]
pub(super) struct Runners {
    idle: RefCell<Vec<Rc<Mailbox>>>,
}

impl Runners {
    /// Runs `arrival` on an idle runner, or on a new one when none is idle.
    pub(super) fn dispatch(&self, state: &Rc<Thread>, arrival: Arrival) {
        let idle = self.idle.borrow_mut().pop();
        let mailbox = idle.unwrap_or_else(|| {
            let mailbox = Rc::new(Mailbox::default());
            tokio::task::spawn_local(run(state.clone(), mailbox.clone()));
            mailbox
        });
        mailbox.put(arrival);
    }
}

async fn run(state: Rc<Thread>, mailbox: Rc<Mailbox>) {
    loop {
        let a = mailbox.take().await;
        run_scenario(
            &state,
            &state.pools,
            a.scenario,
            a.intended,
            a.interval,
            a.data,
        )
        .await;
        leave(&state);
        let mut idle = state.runners.idle.borrow_mut();
        if idle.len() >= MAX_IDLE {
            return;
        }
        idle.push(mailbox.clone());
    }
}
