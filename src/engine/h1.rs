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

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
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

/// How the body of a response is delimited.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
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

    fn write_request(&mut self, request: &Request<Bytes>) {
        let out = &mut self.out;
        out.clear();
        let body = request.body();
        let path = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
        out.extend_from_slice(request.method().as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let mut has_length = false;
        for (name, value) in request.headers() {
            has_length |= name == http::header::CONTENT_LENGTH;
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let method = request.method();
        let body_expected = !body.is_empty()
            || !(method == Method::GET
                || method == Method::HEAD
                || method == Method::DELETE
                || method == Method::OPTIONS
                || method == Method::TRACE
                || method == Method::CONNECT);
        if !has_length && body_expected {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(body.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }

    /// Reads one final response (skipping interim 1xx ones). Returns it and whether the
    /// connection may be reused.
    async fn read_response(
        &mut self,
        head_request: bool,
        wanted: Wanted,
    ) -> Result<(Response, bool), Error> {
        let mut received_any = false;
        loop {
            let head = self.read_head(&mut received_any, wanted.headers).await?;
            if (100..200).contains(&head.status) {
                if head.status == 101 {
                    return Err(Error::Failed((
                        ErrorClass::Closed,
                        "the server switched protocols (101), which loadgate does not follow"
                            .into(),
                    )));
                }
                continue;
            }
            let framing = if head_request || head.status == 204 || head.status == 304 {
                Framing::None
            } else {
                head.framing
            };
            let mut body = Vec::new();
            let sink = wanted.body.then_some((&mut body, wanted.max_body));
            let complete_keep = match framing {
                Framing::None => true,
                Framing::Length(n) => {
                    if wanted.body && n > wanted.max_body as u64 {
                        return Err(Error::Failed((
                            ErrorClass::Body,
                            format!("body larger than {} MiB", wanted.max_body / (1024 * 1024)),
                        )));
                    }
                    self.read_exact(n, sink).await?;
                    true
                }
                Framing::Chunked => {
                    self.read_chunked(sink).await?;
                    true
                }
                Framing::UntilClose => {
                    self.read_to_end(sink).await?;
                    false
                }
            };
            return Ok((
                Response {
                    status: head.status,
                    headers: head.headers,
                    body,
                },
                complete_keep && head.keep_alive,
            ));
        }
    }

    /// Reads and parses a response head, consuming it from the buffer.
    async fn read_head(
        &mut self,
        received_any: &mut bool,
        want_headers: bool,
    ) -> Result<Head, Error> {
        loop {
            let parsed = {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(&self.buf[self.start..]) {
                    Ok(httparse::Status::Complete(len)) => {
                        Some(Head::of(&response, len, want_headers)?)
                    }
                    Ok(httparse::Status::Partial) => None,
                    Err(e) => {
                        return Err(Error::Failed((
                            ErrorClass::Closed,
                            format!("malformed response head: {e}"),
                        )));
                    }
                }
            };
            if let Some((head, len)) = parsed {
                self.start += len;
                return Ok(head);
            }
            if self.buf.len() - self.start > MAX_HEAD {
                return Err(Error::Failed((
                    ErrorClass::Closed,
                    format!("response head larger than {} KiB", MAX_HEAD / 1024),
                )));
            }
            match self.fill().await {
                Ok(0) => {
                    let message = if *received_any || self.start < self.buf.len() {
                        "connection closed in the middle of the response head".to_string()
                    } else {
                        "connection closed before a response".to_string()
                    };
                    let failure = (ErrorClass::Closed, message);
                    let idle_close = self.reused && !*received_any && self.start == self.buf.len();
                    return Err(if idle_close {
                        Error::ClosedIdle(failure)
                    } else {
                        Error::Failed(failure)
                    });
                }
                Ok(_) => *received_any = true,
                Err(e) => {
                    let failure = (ErrorClass::Closed, format!("reading the response: {e}"));
                    let idle_close = self.reused && !*received_any;
                    return Err(if idle_close {
                        Error::ClosedIdle(failure)
                    } else {
                        Error::Failed(failure)
                    });
                }
            }
        }
    }

    /// Reads more bytes from the socket into the buffer; `Ok(0)` at the end of the stream.
    async fn fill(&mut self) -> std::io::Result<usize> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 0 && self.buf.capacity() - self.buf.len() < READ_SIZE {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(READ_SIZE);
        self.stream.read_buf(&mut self.buf).await
    }

    /// Buffered bytes not yet consumed.
    fn available(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Consumes `n` buffered bytes into the sink (if any).
    fn take(&mut self, n: usize, sink: &mut Option<(&mut Vec<u8>, usize)>) -> Result<(), Error> {
        if let Some((body, max)) = sink {
            if body.len() + n > *max {
                return Err(Error::Failed((
                    ErrorClass::Body,
                    format!("body larger than {} MiB", *max / (1024 * 1024)),
                )));
            }
            body.extend_from_slice(&self.buf[self.start..self.start + n]);
        }
        self.start += n;
        Ok(())
    }

    fn body_error(e: Option<std::io::Error>, what: &str) -> Error {
        let message = match e {
            Some(e) => format!("reading the body failed: {e}"),
            None => format!("connection closed in the middle of the body ({what})"),
        };
        Error::Failed((ErrorClass::Body, message))
    }

    /// Reads exactly `n` body bytes.
    async fn read_exact(
        &mut self,
        mut n: u64,
        mut sink: Option<(&mut Vec<u8>, usize)>,
    ) -> Result<(), Error> {
        loop {
            let here = (self.available() as u64).min(n) as usize;
            self.take(here, &mut sink)?;
            n -= here as u64;
            if n == 0 {
                return Ok(());
            }
            match self.fill().await {
                Ok(0) => return Err(Self::body_error(None, "fewer bytes than its length")),
                Ok(_) => {}
                Err(e) => return Err(Self::body_error(Some(e), "")),
            }
        }
    }

    /// Reads the body to the end of the connection.
    async fn read_to_end(&mut self, mut sink: Option<(&mut Vec<u8>, usize)>) -> Result<(), Error> {
        loop {
            let here = self.available();
            self.take(here, &mut sink)?;
            match self.fill().await {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(Self::body_error(Some(e), "")),
            }
        }
    }

    /// A line ending in CRLF (or LF), without it, consumed from the buffer.
    async fn read_line(&mut self) -> Result<String, Error> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..]) {
                let raw = &self.buf[self.start..self.start + i];
                let line = raw.strip_suffix(b"\r").unwrap_or(raw);
                let line = String::from_utf8_lossy(line).into_owned();
                self.start += i + 1;
                return Ok(line);
            }
            if self.available() > MAX_HEAD {
                return Err(Error::Failed((
                    ErrorClass::Body,
                    "malformed chunked body: a line longer than 64 KiB".into(),
                )));
            }
            match self.fill().await {
                Ok(0) => return Err(Self::body_error(None, "inside a chunk")),
                Ok(_) => {}
                Err(e) => return Err(Self::body_error(Some(e), "")),
            }
        }
    }

    /// Reads a chunked body, its trailers dropped.
    async fn read_chunked(&mut self, mut sink: Option<(&mut Vec<u8>, usize)>) -> Result<(), Error> {
        loop {
            let line = self.read_line().await?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = u64::from_str_radix(size, 16).map_err(|_| {
                Error::Failed((
                    ErrorClass::Body,
                    format!("malformed chunked body: chunk size `{}`", shorten(&line)),
                ))
            })?;
            if size == 0 {
                // Trailer fields, up to an empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(());
            }
            let reborrow = sink.as_mut().map(|(b, m)| (&mut **b, *m));
            self.read_exact(size, reborrow).await?;
            let end = self.read_line().await?;
            if !end.is_empty() {
                return Err(Error::Failed((
                    ErrorClass::Body,
                    "malformed chunked body: a chunk longer than its size".into(),
                )));
            }
        }
    }
}

/// A parsed response head.
struct Head {
    status: u16,
    headers: HeaderMap,
    framing: Framing,
    keep_alive: bool,
}

impl Head {
    /// The facts of a parsed head; the map of its headers only when asked for (always kept
    /// small: building it is most of what a response costs beyond the system calls).
    fn of(
        response: &httparse::Response<'_, '_>,
        len: usize,
        want_headers: bool,
    ) -> Result<(Head, usize), Error> {
        let status = response.code.unwrap_or(0);
        let http11 = response.version == Some(1);
        let mut length: Option<u64> = None;
        // Whether the last transfer coding is `chunked`, when the header is present.
        let mut chunked: Option<bool> = None;
        let mut close = !http11;
        for h in response.headers.iter() {
            let name = h.name;
            if name.eq_ignore_ascii_case("content-length") {
                let value = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        Error::Failed((
                            ErrorClass::Closed,
                            format!(
                                "malformed response head: content-length `{}`",
                                shorten(&String::from_utf8_lossy(h.value))
                            ),
                        ))
                    })?;
                if length.is_some_and(|l| l != value) {
                    return Err(Error::Failed((
                        ErrorClass::Closed,
                        "malformed response head: two different content-lengths".into(),
                    )));
                }
                length = Some(value);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                let last = h
                    .value
                    .rsplit(|b| *b == b',')
                    .next()
                    .map(<[u8]>::trim_ascii)
                    .unwrap_or_default();
                chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && !http11 {
                        close = false;
                    }
                }
            }
        }
        // A transfer coding overrides any length; one that is not chunked runs to the close.
        let framing = match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) | (None, None) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
        };
        Ok((
            Head {
                status,
                headers: if want_headers {
                    header_map(response)
                } else {
                    HeaderMap::new()
                },
                framing,
                keep_alive: !close,
            },
            len,
        ))
    }
}

/// Copies a parsed head's headers into a map (for checks and extraction).
fn header_map(response: &httparse::Response<'_, '_>) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(response.headers.len());
    for h in response.headers.iter() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) {
            map.append(name, value);
        }
    }
    map
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const ALL: Wanted = Wanted {
        headers: true,
        body: true,
        max_body: 1024,
    };

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    }

    /// A server on port 0 that answers each request on one connection with the next of
    /// `answers` (written in pieces of `piece` bytes), then closes; it returns the raw requests.
    async fn serve(
        answers: Vec<&'static [u8]>,
        piece: usize,
    ) -> (Conn, tokio::task::JoinHandle<Vec<Vec<u8>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut requests = Vec::new();
            for answer in answers {
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") {
                    if s.read(&mut byte).await.expect("read") == 0 {
                        return requests;
                    }
                    request.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if let Some(len) = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                {
                    let mut body = vec![0u8; len];
                    s.read_exact(&mut body).await.expect("body");
                    request.extend_from_slice(&body);
                }
                requests.push(request);
                for chunk in answer.chunks(piece) {
                    s.write_all(chunk).await.expect("write");
                    s.flush().await.expect("flush");
                    if piece < answer.len() {
                        tokio::task::yield_now().await;
                    }
                }
            }
            requests
        });
        let stream = TcpStream::connect(addr).await.expect("connect");
        (Conn::new(stream), server)
    }

    fn get(path: &str) -> Request<Bytes> {
        Request::builder()
            .uri(path)
            .header("host", "example.test")
            .body(Bytes::new())
            .expect("request")
    }

    fn failure(e: Error) -> (bool, Failure) {
        match e {
            Error::ClosedIdle(f) => (true, f),
            Error::Failed(f) => (false, f),
        }
    }

    #[test]
    fn content_length_responses_reuse_the_connection_and_requests_are_written_whole() {
        runtime().block_on(async {
            let (conn, server) = serve(
                vec![
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Id: 7\r\n\r\nhello",
                    b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
                ],
                usize::MAX,
            )
            .await;
            let (first, conn) = conn.exchange(get("/a?b=1"), ALL).await.ok().expect("first");
            assert_eq!(first.status, 200);
            assert_eq!(first.body, b"hello");
            assert_eq!(first.headers["x-id"], "7");
            let post = Request::builder()
                .method(Method::POST)
                .uri("/items")
                .header("host", "example.test")
                .body(Bytes::from_static(b"{\"n\":1}"))
                .expect("request");
            let conn = conn.expect("kept alive");
            let (second, conn) = conn.exchange(post, ALL).await.ok().expect("second");
            assert_eq!((second.status, second.body.as_slice()), (201, &b"ok"[..]));
            assert!(conn.is_some());
            let requests = server.await.expect("server");
            assert_eq!(
                requests[0],
                b"GET /a?b=1 HTTP/1.1\r\nhost: example.test\r\n\r\n".to_vec()
            );
            assert_eq!(
                String::from_utf8_lossy(&requests[1]),
                "POST /items HTTP/1.1\r\nhost: example.test\r\ncontent-length: 7\r\n\r\n{\"n\":1}"
            );
        });
    }

    #[test]
    fn chunked_bodies_interim_responses_and_bytes_arriving_one_by_one() {
        runtime().block_on(async {
            let answer: &'static [u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
            let (conn, server) = serve(vec![answer, b"HTTP/1.1 204 No Content\r\n\r\n"], 1).await;
            let (r, conn) = conn.exchange(get("/"), ALL).await.ok().expect("chunked");
            assert_eq!(r.status, 200);
            assert_eq!(String::from_utf8_lossy(&r.body), "hello world");
            // 204 has no body even without a length; the connection stays usable.
            let (r, conn) = conn
                .expect("kept")
                .exchange(get("/"), ALL)
                .await
                .ok()
                .expect("204");
            assert_eq!((r.status, r.body.len()), (204, 0));
            assert!(conn.is_some());
            server.await.expect("server");
        });
    }

    #[test]
    fn a_head_response_has_no_body_and_unkept_parts_are_not_kept() {
        runtime().block_on(async {
            let (conn, _server) = serve(
                vec![
                    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc",
                ],
                usize::MAX,
            )
            .await;
            let head = Request::builder()
                .method(Method::HEAD)
                .uri("/")
                .body(Bytes::new())
                .expect("request");
            let (r, conn) = conn.exchange(head, ALL).await.ok().expect("head");
            assert_eq!((r.status, r.body.len()), (200, 0));
            let nothing = Wanted {
                headers: false,
                body: false,
                max_body: 0,
            };
            let (r, conn) = conn
                .expect("kept")
                .exchange(get("/"), nothing)
                .await
                .ok()
                .expect("second");
            assert!(r.headers.is_empty() && r.body.is_empty());
            assert!(conn.is_some(), "the body was read (and dropped) in full");
        });
    }

    #[test]
    fn connections_that_end_with_the_response_are_not_reused() {
        runtime().block_on(async {
            for answer in [
                &b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"[..],
                &b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"[..],
                // Bytes beyond the response would be misread as the next one.
                &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"[..],
            ] {
                let (conn, _server) = serve(vec![answer], usize::MAX).await;
                let (r, conn) = conn.exchange(get("/"), ALL).await.ok().expect("response");
                assert_eq!(r.body, b"ok");
                assert!(conn.is_none(), "{}", String::from_utf8_lossy(answer));
            }
            // No length: the body runs to the end of the connection.
            let (conn, server) = serve(
                vec![b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end"],
                usize::MAX,
            )
            .await;
            let exchange = tokio::spawn(async move {
                conn.exchange(get("/"), ALL)
                    .await
                    .ok()
                    .map(|(r, c)| (r.body, c.is_none()))
            });
            server.await.expect("server (closes after its answers)");
            let (body, closed) = exchange.await.expect("task").expect("response");
            assert_eq!((body.as_slice(), closed), (&b"to the end"[..], true));
        });
    }

    #[test]
    fn broken_responses_are_classified_failures() {
        runtime().block_on(async {
            let cases: [(&'static [u8], ErrorClass, &str); 5] = [
                (
                    b"HTTP/1.1 2x0 OK\r\n\r\n",
                    ErrorClass::Closed,
                    "malformed response head",
                ),
                (
                    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                    ErrorClass::Body,
                    "middle of the body",
                ),
                (
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    ErrorClass::Body,
                    "chunk size `zz`",
                ),
                (
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n",
                    ErrorClass::Body,
                    "body larger than",
                ),
                (
                    b"HTTP/1.1 200 OK\r\nContent-Le",
                    ErrorClass::Closed,
                    "middle of the response head",
                ),
            ];
            for (answer, class, text) in cases {
                let (conn, _server) = serve(vec![answer], usize::MAX).await;
                let small = Wanted {
                    max_body: 1024,
                    ..ALL
                };
                let err = conn
                    .exchange(get("/"), small)
                    .await
                    .err()
                    .expect("a failure");
                let (idle, (c, message)) = failure(err);
                assert!(!idle, "{message}");
                assert_eq!(c, class, "{message}");
                assert!(message.contains(text), "{message}");
            }
        });
    }

    #[test]
    fn a_kept_connection_the_server_closed_is_told_apart() {
        runtime().block_on(async {
            let (conn, server) = serve(
                vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"],
                usize::MAX,
            )
            .await;
            let (_, conn) = conn.exchange(get("/"), ALL).await.ok().expect("first");
            server.await.expect("server closed");
            let mut conn = conn.expect("kept");
            // Idle for long: the socket is asked, and it is closed.
            conn.idle_since = Instant::now() - CHECK_IDLE_AFTER * 2;
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(!conn.usable(), "the server's close is seen before reuse");
            // Used anyway: nothing came back, which the caller may retry.
            let err = conn.exchange(get("/"), ALL).await.err().expect("closed");
            let (idle, (class, message)) = failure(err);
            assert!(idle, "{message}");
            assert_eq!(class, ErrorClass::Closed);
        });
    }
}
