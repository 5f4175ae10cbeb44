//! One engine thread's connections to one origin: a stack of idle HTTP/1.1 connections (the
//! most recently used first) or one shared HTTP/2 connection, and a bound on the connections
//! being opened at once.
//!
//! In the open model, a request that finds every connection busy opens a new one only while
//! fewer than [`MAX_CONNECTING`] are being opened; otherwise it waits for the first connection to
//! come free or to open (its latency still runs from its intended send time). Without the bound,
//! a moment of server slowness at a high rate turns into thousands of connections being opened
//! at once, each costing both sides more than a request, and the generator never catches up.
//! The closed model's users are independent clients: each opens its own connection when none is
//! idle ([`Pool::unbounded`]), as many as there are users.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use hyper::client::conn::{http1, http2};
use tokio::sync::oneshot;

use super::client::{ClientSettings, ConnectError, Origin, ReqBody, Sender, connect};
use super::h1;

/// Connections one thread opens to one origin at the same time, at most.
pub const MAX_CONNECTING: usize = 8;

/// One thread's connections to one origin.
pub struct Pool {
    idle: RefCell<Vec<http1::SendRequest<ReqBody>>>,
    /// Idle plain-HTTP connections of loadgate's own HTTP/1.1 client.
    raw_idle: RefCell<Vec<h1::Conn>>,
    h2: RefCell<Option<http2::SendRequest<ReqBody>>>,
    /// Connections opened at once, at most.
    max_connecting: usize,
    connecting: Cell<usize>,
    /// Requests waiting for a connection: handed one, or `None` when they may open one.
    waiters: RefCell<VecDeque<oneshot::Sender<Option<Sender>>>>,
}

impl Default for Pool {
    /// The open model's pool: at most [`MAX_CONNECTING`] connections opened at once.
    fn default() -> Self {
        Self {
            idle: RefCell::default(),
            raw_idle: RefCell::default(),
            h2: RefCell::default(),
            max_connecting: MAX_CONNECTING,
            connecting: Cell::default(),
            waiters: RefCell::default(),
        }
    }
}

impl Pool {
    /// The closed model's pool: a request that finds no idle connection opens one.
    pub fn unbounded() -> Self {
        Self {
            max_connecting: usize::MAX,
            ..Self::default()
        }
    }

    /// An idle connection, if one is alive.
    pub fn take(&self) -> Option<Sender> {
        if let Some(h2) = self.h2.borrow().as_ref().filter(|s| !s.is_closed()) {
            return Some(Sender::H2(h2.clone()));
        }
        {
            let mut raw = self.raw_idle.borrow_mut();
            while let Some(mut c) = raw.pop() {
                if c.usable() {
                    return Some(Sender::Raw(c));
                }
            }
        }
        let mut idle = self.idle.borrow_mut();
        while let Some(s) = idle.pop() {
            if s.is_ready() {
                return Some(Sender::H1(s));
            }
        }
        None
    }

    /// An idle connection, a new one, or the first to come free (see the module docs).
    pub async fn acquire(
        &self,
        origin: &Origin,
        settings: &ClientSettings,
    ) -> Result<Sender, ConnectError> {
        loop {
            if let Some(s) = self.take() {
                return Ok(s);
            }
            if self.connecting.get() < self.max_connecting {
                let _slot = Connecting::start(self);
                // Boxed: opening a connection (TLS included) is rare and its future is large.
                return Box::pin(connect(origin, settings)).await;
            }
            let (tx, rx) = oneshot::channel();
            self.waiters.borrow_mut().push_back(tx);
            if let Ok(Some(sender)) = rx.await {
                return Ok(sender);
            }
            // Woken without a connection: a slot to open one came free.
        }
    }

    /// Returns a connection after a complete exchange: to the first request waiting for one,
    /// else to the idle stack.
    pub fn put(&self, sender: Sender) {
        match sender {
            Sender::Raw(mut c) => {
                while let Some(tx) = self.pop_waiter() {
                    match tx.send(Some(Sender::Raw(c))) {
                        // That request gave up (timed out): the next one gets it.
                        Err(Some(Sender::Raw(back))) => c = back,
                        // Taken (or, impossibly, something else came back).
                        _ => return,
                    }
                }
                self.raw_idle.borrow_mut().push(c);
            }
            Sender::H1(s) => {
                if s.is_closed() {
                    return;
                }
                let mut s = s;
                if s.is_ready() {
                    while let Some(tx) = self.pop_waiter() {
                        match tx.send(Some(Sender::H1(s))) {
                            Ok(()) => return,
                            // That request gave up (timed out): the next one gets it.
                            Err(back) => match back {
                                Some(Sender::H1(back)) => s = back,
                                // Only the HTTP/1.1 connection was sent.
                                _ => return,
                            },
                        }
                    }
                }
                self.idle.borrow_mut().push(s);
            }
            Sender::H2(s) => {
                if s.is_closed() {
                    return;
                }
                while let Some(tx) = self.pop_waiter() {
                    let _ = tx.send(Some(Sender::H2(s.clone())));
                }
                let mut slot = self.h2.borrow_mut();
                if slot.as_ref().is_none_or(http2::SendRequest::is_closed) {
                    *slot = Some(s);
                }
            }
        }
    }

    /// Idle HTTP/1.1 connections (for tests and health).
    pub fn idle_len(&self) -> usize {
        self.idle.borrow().len() + self.raw_idle.borrow().len()
    }

    fn pop_waiter(&self) -> Option<oneshot::Sender<Option<Sender>>> {
        self.waiters.borrow_mut().pop_front()
    }
}

/// A connection being opened: counted while it lasts (also when its request times out and
/// drops it); when it ends, one waiting request may open the next.
struct Connecting<'a>(&'a Pool);

impl<'a> Connecting<'a> {
    fn start(pool: &'a Pool) -> Self {
        pool.connecting.set(pool.connecting.get() + 1);
        Connecting(pool)
    }
}

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        let pool = self.0;
        pool.connecting.set(pool.connecting.get() - 1);
        while let Some(tx) = pool.pop_waiter() {
            if tx.send(None).is_ok() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::time::Duration;

    use hyper_util::rt::TokioIo;

    use super::*;

    fn local() -> tokio::runtime::LocalRuntime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build_local(tokio::runtime::LocalOptions::default())
            .expect("a runtime")
    }

    /// An HTTP/1.1 connection over an in-memory pipe, ready for a request, and the pipe's
    /// server end (the connection lives as long as it does).
    async fn connection() -> (Sender, tokio::io::DuplexStream) {
        let (client, server) = tokio::io::duplex(1024);
        let (mut sender, conn) = http1::handshake(TokioIo::new(client))
            .await
            .expect("handshake over a pipe");
        tokio::task::spawn_local(conn);
        sender.ready().await.expect("ready");
        (Sender::H1(sender), server)
    }

    #[test]
    fn a_waiting_request_is_handed_the_next_free_connection() {
        local().block_on(async {
            let pool = Rc::new(Pool::default());
            let busy: Vec<_> = (0..MAX_CONNECTING)
                .map(|_| Connecting::start(&pool))
                .collect();
            let origin = Origin::resolve("http://127.0.0.1:9").await.expect("origin");
            let settings = ClientSettings::new(
                crate::profile::HttpVersion::Http1,
                Duration::from_secs(1),
                false,
            )
            .expect("settings");
            let waiting = {
                let pool = pool.clone();
                tokio::task::spawn_local(
                    async move { pool.acquire(&origin, &settings).await.is_ok() },
                )
            };
            tokio::task::yield_now().await;
            assert_eq!(
                pool.waiters.borrow().len(),
                1,
                "no slot to open one: it waits"
            );
            let (sender, _server) = connection().await;
            pool.put(sender);
            assert!(waiting.await.expect("task"), "it got the connection");
            assert_eq!(pool.idle_len(), 0, "handed over, not parked");
            drop(busy);
        });
    }

    #[test]
    fn a_request_that_gave_up_waiting_is_skipped() {
        local().block_on(async {
            let pool = Pool::default();
            let _busy: Vec<_> = (0..MAX_CONNECTING)
                .map(|_| Connecting::start(&pool))
                .collect();
            let origin = Origin::resolve("http://127.0.0.1:9").await.expect("origin");
            let settings = ClientSettings::new(
                crate::profile::HttpVersion::Http1,
                Duration::from_secs(1),
                false,
            )
            .expect("settings");
            let gave_up =
                tokio::time::timeout(Duration::from_millis(5), pool.acquire(&origin, &settings))
                    .await;
            assert!(gave_up.is_err(), "it timed out waiting");
            let (sender, _server) = connection().await;
            pool.put(sender);
            assert_eq!(
                pool.idle_len(),
                1,
                "the connection is kept for the next request"
            );
            assert!(pool.waiters.borrow().is_empty());
        });
    }

    #[test]
    fn the_closed_models_pool_opens_a_connection_whatever_is_being_opened() {
        local().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port");
            let url = format!("http://{}", listener.local_addr().expect("address"));
            let pool = Pool::unbounded();
            let _busy: Vec<_> = (0..MAX_CONNECTING)
                .map(|_| Connecting::start(&pool))
                .collect();
            let origin = Origin::resolve(&url).await.expect("origin");
            let settings = ClientSettings::new(
                crate::profile::HttpVersion::Http1,
                Duration::from_secs(1),
                false,
            )
            .expect("settings");
            let opened =
                tokio::time::timeout(Duration::from_secs(2), pool.acquire(&origin, &settings))
                    .await;
            assert!(matches!(opened, Ok(Ok(_))), "it opened its own connection");
            assert!(pool.waiters.borrow().is_empty());
        });
    }
}
