//! The client against real sockets: framing, reuse, and broken responses.

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
