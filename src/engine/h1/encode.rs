//! Encoding a request onto the wire: request line, headers, `content-length` when due, body.

use bytes::Bytes;
use http::{Method, Request};
use tokio::io::{AsyncRead, AsyncWrite};

use super::Conn;

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub(super) fn write_request(&mut self, request: &Request<Bytes>) {
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
}
