//! Reading one response off the connection: its head, then its body as the head frames it.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::head::{Framing, Head, shorten};
use super::{Conn, Error, MAX_HEAD, MAX_HEADERS, READ_SIZE, Response, Wanted};
use crate::metrics::ErrorClass;

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// Reads one final response (skipping interim 1xx ones). Returns it and whether the
    /// connection may be reused.
    pub(super) async fn read_response(
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
