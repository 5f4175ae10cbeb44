//! An in-process server (hyper, port 0) answering like GitHub's REST API for issue comments,
//! built from the fixture payloads in `tests/fixtures/github/rest/`. It stores comments, pages
//! the listing with a `Link` header (100 per page, ascending ids, next pages under
//! `/repositories/{id}/…` as GitHub does), records every request, and can answer scripted
//! faults (status, headers, body) to the next matching requests. `GET …/pulls/{n}` answers for
//! the pull requests a test adds ([`FakeGithub::add_pull`]) with the `pull_request` object of
//! the `pull_request.opened` event fixture (the REST API's pull request shape).
#![allow(dead_code)] // each test file uses a different part

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const LIST_FIXTURE: &str = include_str!("../../fixtures/github/rest/list-issue-comments.200.json");
const CREATE_FIXTURE: &str =
    include_str!("../../fixtures/github/rest/create-issue-comment.201.json");
const UPDATE_FIXTURE: &str =
    include_str!("../../fixtures/github/rest/update-issue-comment.200.json");
const PULL_EVENT_FIXTURE: &str =
    include_str!("../../fixtures/github/events/pull_request.opened.json");

/// The repository id used in `/repositories/{id}/…` page links.
const REPO_ID: u64 = 186_853_002;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

/// What `GET /user` answers.
#[derive(Debug, Clone)]
pub enum UserEndpoint {
    /// 403 "Resource not accessible by integration", as for the default `GITHUB_TOKEN`.
    InstallationToken,
    /// 200 with this login, as for a personal access token.
    Login(String),
}

/// A scripted answer to the next request matching `method` and a path containing `path`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Method,
    pub path: &'static str,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Handle the request normally (e.g. store the comment) and then answer the fault anyway.
    pub apply_anyway: bool,
}

impl Fault {
    pub fn new(method: Method, path: &'static str, status: u16, message: &str) -> Fault {
        Fault {
            method,
            path,
            status,
            headers: Vec::new(),
            body: json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest"
            })
            .to_string(),
            apply_anyway: false,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Fault {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Debug)]
struct State {
    /// Stored comments (full JSON objects), ascending id.
    comments: Vec<Value>,
    next_id: u64,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    user: UserEndpoint,
    /// Pull requests `GET …/pulls/{n}` knows: number → head commit.
    pulls: Vec<(u64, String)>,
}

/// The running server; stops when dropped.
pub struct FakeGithub {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A user object from the fixture, with another login (and `type`).
pub fn user(login: &str) -> Value {
    let mut user = fixture(LIST_FIXTURE)[0]["user"].clone();
    user["login"] = json!(login);
    if login.ends_with("[bot]") {
        user["type"] = json!("Bot");
        user["id"] = json!(41_898_282);
    }
    user
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

impl FakeGithub {
    pub async fn start(user: UserEndpoint) -> FakeGithub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            comments: Vec::new(),
            next_id: 1_000,
            requests: Vec::new(),
            faults: VecDeque::new(),
            user,
            pulls: Vec::new(),
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, addr, req).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeGithub { addr, state, task }
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stores a comment on issue `number` (the list fixture's item with this id, body and
    /// author); returns its id.
    pub fn seed(&self, number: u64, login: &str, body: &str) -> u64 {
        let mut state = self.state.lock().expect("lock");
        let id = state.next_id;
        state.next_id += 1;
        let mut comment = fixture(LIST_FIXTURE)[0].clone();
        set_comment(&mut comment, id, number, body);
        comment["user"] = user(login);
        state.comments.push(comment);
        id
    }

    /// Adds pull request `number` with head commit `head_sha`.
    pub fn add_pull(&self, number: u64, head_sha: &str) {
        let mut state = self.state.lock().expect("lock");
        state.pulls.push((number, head_sha.to_string()));
    }

    /// Replaces the body of stored comment `id`.
    pub fn set_body(&self, id: u64, body: &str) {
        let mut state = self.state.lock().expect("lock");
        let comment = state
            .comments
            .iter_mut()
            .find(|c| c["id"].as_u64() == Some(id))
            .expect("a stored comment");
        comment["body"] = json!(body);
    }

    pub fn fault(&self, fault: Fault) {
        self.state.lock().expect("lock").faults.push_back(fault);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("lock").requests.clone()
    }

    /// `METHOD path` of every request, in order.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// (id, author login, body) of every stored comment.
    pub fn comments(&self) -> Vec<(u64, String, String)> {
        self.state
            .lock()
            .expect("lock")
            .comments
            .iter()
            .map(|c| {
                (
                    c["id"].as_u64().expect("id"),
                    c["user"]["login"].as_str().expect("login").to_string(),
                    c["body"].as_str().expect("body").to_string(),
                )
            })
            .collect()
    }
}

fn set_comment(comment: &mut Value, id: u64, number: u64, body: &str) {
    let repo = "https://api.github.com/repos/Codertocat/Hello-World";
    comment["id"] = json!(id);
    comment["body"] = json!(body);
    comment["url"] = json!(format!("{repo}/issues/comments/{id}"));
    comment["issue_url"] = json!(format!("{repo}/issues/{number}"));
    comment["html_url"] = json!(format!(
        "https://github.com/Codertocat/Hello-World/pull/{number}#issuecomment-{id}"
    ));
}

fn reply(status: u16, headers: &[(&str, String)], body: String) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).expect("status"))
        .header("content-type", "application/json; charset=utf-8");
    for (name, value) in headers {
        response = response.header(*name, value.as_str());
    }
    response
        .body(Full::new(Bytes::from(body)))
        .expect("response")
}

fn not_found() -> Response<Full<Bytes>> {
    reply(
        404,
        &[],
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
            .to_string(),
    )
}

async fn handle(
    state: &Mutex<State>,
    addr: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let mut state = state.lock().expect("lock");
    state.requests.push(Recorded {
        method: parts.method.clone(),
        path: path.clone(),
        authorization: parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: serde_json::from_slice(&bytes).ok(),
    });
    let fault = state
        .faults
        .iter()
        .position(|f| f.method == parts.method && path.contains(f.path))
        .and_then(|i| state.faults.remove(i));
    if let Some(fault) = &fault
        && !fault.apply_anyway
    {
        return reply(fault.status, &fault.headers, fault.body.clone());
    }
    let json_body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let response = route(&mut state, addr, &parts.method, &path, json_body.as_ref());
    match fault {
        Some(fault) => reply(fault.status, &fault.headers, fault.body),
        None => response,
    }
}

fn route(
    state: &mut State,
    addr: SocketAddr,
    method: &Method,
    path_and_query: &str,
    body: Option<&Value>,
) -> Response<Full<Bytes>> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse::<usize>().ok())
    };
    match (method, segments.as_slice()) {
        (&Method::GET, ["user"]) => match &state.user {
            UserEndpoint::InstallationToken => reply(
                403,
                &[],
                json!({
                    "message": "Resource not accessible by integration",
                    "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                    "status": "403"
                })
                .to_string(),
            ),
            UserEndpoint::Login(login) => reply(200, &[], user(login).to_string()),
        },
        (
            &Method::GET,
            ["repos", "Codertocat", "Hello-World", "issues", n, "comments"]
            | ["repositories", _, "issues", n, "comments"],
        ) => {
            let Ok(number) = n.parse::<u64>() else {
                return not_found();
            };
            let per_page = param("per_page").unwrap_or(30).clamp(1, 100);
            let page = param("page").unwrap_or(1).max(1);
            let suffix = format!("/issues/{number}");
            let on_issue: Vec<&Value> = state
                .comments
                .iter()
                .filter(|c| c["issue_url"].as_str().is_some_and(|u| u.ends_with(&suffix)))
                .collect();
            let items: Vec<&Value> = on_issue
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .copied()
                .collect();
            let last = on_issue.len().div_ceil(per_page).max(1);
            let link = |p: usize, rel: &str| {
                format!(
                    "<http://{addr}/repositories/{REPO_ID}/issues/{number}/comments?per_page={per_page}&page={p}>; rel=\"{rel}\""
                )
            };
            let mut links = Vec::new();
            if page < last {
                links.push(link(page + 1, "next"));
                links.push(link(last, "last"));
            }
            if page > 1 {
                links.push(link(1, "first"));
                links.push(link(page - 1, "prev"));
            }
            let headers: Vec<(&str, String)> = if links.is_empty() {
                Vec::new()
            } else {
                vec![("link", links.join(", "))]
            };
            reply(200, &headers, serde_json::to_string(&items).expect("json"))
        }
        (&Method::GET, ["repos", "Codertocat", "Hello-World", "pulls", n]) => {
            let Some((number, sha)) = state
                .pulls
                .iter()
                .find(|(number, _)| number.to_string() == *n)
            else {
                return not_found();
            };
            let mut pull = fixture(PULL_EVENT_FIXTURE)["pull_request"].clone();
            pull["number"] = json!(number);
            pull["head"]["sha"] = json!(sha);
            reply(200, &[], pull.to_string())
        }
        (&Method::POST, ["repos", "Codertocat", "Hello-World", "issues", n, "comments"]) => {
            let (Ok(number), Some(text)) = (
                n.parse::<u64>(),
                body.and_then(|b| b["body"].as_str()),
            ) else {
                return reply(422, &[], json!({"message": "Validation Failed"}).to_string());
            };
            let id = state.next_id;
            state.next_id += 1;
            let mut comment = fixture(CREATE_FIXTURE);
            set_comment(&mut comment, id, number, text);
            comment["user"] = user("github-actions[bot]");
            state.comments.push(comment.clone());
            let location = format!("http://{addr}/repos/Codertocat/Hello-World/issues/comments/{id}");
            reply(201, &[("location", location)], comment.to_string())
        }
        (&Method::PATCH, ["repos", "Codertocat", "Hello-World", "issues", "comments", id]) => {
            let Some(text) = body.and_then(|b| b["body"].as_str()) else {
                return reply(422, &[], json!({"message": "Validation Failed"}).to_string());
            };
            let Some(stored) = state
                .comments
                .iter_mut()
                .find(|c| c["id"].as_u64().map(|i| i.to_string()).as_deref() == Some(*id))
            else {
                return not_found();
            };
            stored["body"] = json!(text);
            // The answer is the update fixture with the stored comment's identity.
            let mut answer = fixture(UPDATE_FIXTURE);
            for key in ["id", "body", "url", "html_url", "issue_url", "user"] {
                answer[key] = stored[key].clone();
            }
            reply(200, &[], answer.to_string())
        }
        _ => not_found(),
    }
}
