//! A small HTTP/1.1 client for plain-HTTP connections: the request hot path.
//!
//! hyper's client connection costs about 34 KB of buffers and a channel per connection and
//! builds a `HeaderMap` for every response (see `bench/ANALYSIS.md`). Here the task that sends a
//! request reads its response on the same connection: no connection task, no channel, one
//! read buffer per connection that starts small, headers parsed in place with `httparse` and
//! copied into a map only when a check or an extraction reads them, the body kept only when one
//! reads it. hyper stays in charge of TLS and HTTP/2.
//!
//! Framing follows RFC 9112 §6: no body for `HEAD`, 1xx, 204 and 304; `Transfer-Encoding:
//! chunked` (extensions and trailers read and dropped); `Content-Length`; otherwise the body
//! runs to the end of the connection. Interim 1xx responses are skipped. A connection is kept
//! for the next request when the response was complete, HTTP/1.1, and did not say
//! `Connection: close`.

mod encode;
mod head;
mod response;
#[cfg(test)]
mod tests;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::metrics::ErrorClass;

/// Most header lines in a response head (hyper's default too).
const MAX_HEADERS: usize = 100;
/// Largest response head, and largest chunk-size or trailer line.
const MAX_HEAD: usize = 64 * 1024;
/// Bytes asked of the socket per read, at least.
const READ_SIZE: usize = 4096;
/// A read buffer larger than this is given back after the response.
const KEEP_BUFFER: usize = 16 * 1024;
/// A connection idle for longer than this is checked for a close by the server before reuse.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// A classified failure with its message.
pub type Failure = (ErrorClass, String);

/// One HTTP/1.1 connection over plain TCP (any byte stream: the tests feed the parser theirs).
pub struct Conn<S = TcpStream> {
    stream: S,
    /// Bytes received and not yet consumed: `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    /// The request being written (reused).
    out: Vec<u8>,
    /// Whether a request has been answered on this connection.
    reused: bool,
    /// When the connection went idle.
    idle_since: Instant,
}

/// What the caller keeps of a response.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Only when asked for.
    pub headers: HeaderMap,
    /// Only when asked for.
    pub body: Vec<u8>,
}

/// What to keep of a response.
#[derive(Debug, Clone, Copy)]
pub struct Wanted {
    /// Keep the headers (a check or an extraction reads them).
    pub headers: bool,
    /// Keep the body.
    pub body: bool,
    /// Largest body kept.
    pub max_body: usize,
}

/// Why an exchange failed.
pub enum Error {
    /// Nothing at all came back on a connection that had served a request before: the server
    /// closed it while idle. Safe to retry on a new connection when the method is idempotent.
    ClosedIdle(Failure),
    /// Any other failure.
    Failed(Failure),
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        Error::Failed(f)
    }
}

impl Conn {
    /// Whether the connection can carry another request: after a long idle time the socket is
    /// asked (without blocking) whether the server closed it or sent something unasked.
    pub fn usable(&mut self) -> bool {
        if self.idle_since.elapsed() < CHECK_IDLE_AFTER {
            return true;
        }
        let mut probe = [0u8; 1];
        match self.stream.try_read(&mut probe) {
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            // Closed (0), or bytes nobody asked for: either way not reusable.
            Ok(_) => false,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// A connection over an open stream.
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            start: 0,
            out: Vec::new(),
            reused: false,
            idle_since: Instant::now(),
        }
    }

    /// Sends `request` and reads its response. On success the connection is returned when it
    /// can carry the next request.
    pub async fn exchange(
        mut self,
        request: Request<Bytes>,
        wanted: Wanted,
    ) -> Result<(Response, Option<Conn<S>>), Error> {
        self.write_request(&request);
        if let Err(e) = self.stream.write_all(&self.out).await {
            let failure = (
                ErrorClass::Closed,
                format!("connection closed while sending the request: {e}"),
            );
            return Err(if self.reused {
                Error::ClosedIdle(failure)
            } else {
                Error::Failed(failure)
            });
        }
        if self.out.capacity() > KEEP_BUFFER {
            self.out = Vec::new();
        }
        let head_request = request.method() == Method::HEAD;
        let (response, keep) = self.read_response(head_request, wanted).await?;
        // Bytes after the response that nobody asked for would be read as the next response's
        // head: such a connection is not reused.
        if !keep || self.start != self.buf.len() {
            return Ok((response, None));
        }
        self.reused = true;
        self.idle_since = Instant::now();
        self.start = 0;
        self.buf.clear();
        if self.buf.capacity() > KEEP_BUFFER {
            self.buf = Vec::new();
        }
        Ok((response, Some(self)))
    }
}
