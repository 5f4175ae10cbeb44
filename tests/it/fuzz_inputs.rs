//! Fuzzing what parses untrusted bytes: the HTTP/1.1 response parser (`engine::h1`, fed the
//! bytes in arbitrary pieces as a socket delivers them) and the profile, results and baseline
//! loaders, with arbitrary inputs and valid seeds mutated (bits flipped, bytes inserted,
//! deleted and duplicated, words replaced by hostile tokens). Each property asserts no panic
//! and bounds: a response never holds more bytes than were received nor more than the body
//! limit, and an error message stays short. Case counts are modest: the file runs in seconds
//! in a debug build (`PROPTEST_CASES` raises them for a longer hunt).

use crate::support::synthetic as common;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use loadgate::baseline::Baseline;
use loadgate::compare::{GateInput, evaluate};
use loadgate::engine::h1::{self, Conn, Wanted};
use loadgate::profile::{DataFiles, GateConfig, NoEnvVars, Profile};
use loadgate::results::RunResult;
use proptest::prelude::*;
use proptest::sample::Index;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

// ---------------------------------------------------------------------------------------------
// Mutations

/// Words a mutation puts in place of one of the seed's: extremes for numbers, YAML and JSON
/// specials, HTTP framing words.
const TOKENS: &[&str] = &[
    "0",
    "-1",
    "-0",
    "0.0",
    "1e308",
    "-1e308",
    "1e-320",
    "1e400",
    "4294967296",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "NaN",
    "null",
    "true",
    "\"\"",
    "[]",
    "{}",
    "~",
    "*a",
    "&a",
    "!!binary",
    "0s",
    "1/s",
    "0/s",
    "100000000h",
    "1ms..0ms",
    "{{",
    "}}",
    "\u{0}",
    "\u{feff}",
    "é",
    "\"\\ud800\"",
    "ffffffffffffffff",
    "10000000000000000",
    ";",
    "\r\n",
    "\n",
    "\r",
    "chunked",
    "close",
    "content-length",
    "transfer-encoding",
    "HTTP/1.0",
    "100",
    "204",
    "304",
];

/// One edit of a seed; positions are relative, so any edit applies to any input.
#[derive(Debug, Clone)]
enum Edit {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index, usize),
    Duplicate(Index, usize),
    /// Replaces the word (letters, digits, `.`, `-`, `+`) at a position, or inserts there.
    Token(Index, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Edit::Flip(i, bit)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        1 => (any::<Index>(), 1usize..32).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => (any::<Index>(), 1usize..256).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        3 => (any::<Index>(), prop::sample::select(TOKENS)).prop_map(|(i, t)| Edit::Token(i, t)),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..6)
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for e in edits {
        let len = bytes.len();
        match e {
            Edit::Flip(i, bit) if len > 0 => bytes[i.index(len)] ^= 1 << bit,
            Edit::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
            Edit::Delete(i, n) if len > 0 => {
                let at = i.index(len);
                bytes.drain(at..(at + n).min(len));
            }
            Edit::Duplicate(i, n) if len > 0 => {
                let at = i.index(len);
                let end = (at + n).min(len);
                let copy = bytes[at..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Edit::Token(i, token) => {
                let word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+');
                let at = i.index(len + 1);
                let start = at - bytes[..at].iter().rev().take_while(|b| word(b)).count();
                let end = at + bytes[at..].iter().take_while(|b| word(b)).count();
                bytes.splice(start..end, token.bytes());
            }
            _ => {}
        }
    }
    bytes
}

/// Values a structural mutation puts in a JSON document: extremes for every number, strings
/// where numbers go and the reverse, empties.
const JSON_VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "0.5",
    "-0.0",
    "1e308",
    "-1e308",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "null",
    "true",
    "\"\"",
    "\"x\"",
    "\"HISTFAAAAA\"",
    "\"\\u0000\"",
    "[]",
    "{}",
    "[0]",
];

/// One structural edit of a JSON document, at one of its values (in document order).
#[derive(Debug, Clone)]
enum JsonEdit {
    Replace(Index, &'static str),
    Remove(Index),
    /// Duplicates an array element (or a whole object as an array's element).
    Duplicate(Index),
}

fn json_edits() -> impl Strategy<Value = Vec<JsonEdit>> {
    let edit = prop_oneof![
        3 => (any::<Index>(), prop::sample::select(JSON_VALUES))
            .prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        1 => any::<Index>().prop_map(JsonEdit::Remove),
        1 => any::<Index>().prop_map(JsonEdit::Duplicate),
    ];
    prop::collection::vec(edit, 1..4)
}

/// The JSON pointers of every value below the root.
fn pointers(value: &serde_json::Value, at: &str, all: &mut Vec<String>) {
    let children: Vec<(String, &serde_json::Value)> = match value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        let pointer = format!("{at}/{key}");
        all.push(pointer.clone());
        pointers(child, &pointer, all);
    }
}

fn apply_json(seed: &str, edits: &[JsonEdit]) -> String {
    let mut doc: serde_json::Value = serde_json::from_str(seed).expect("the seed is JSON");
    for e in edits {
        let mut all = Vec::new();
        pointers(&doc, "", &mut all);
        if all.is_empty() {
            break;
        }
        let (JsonEdit::Replace(i, _) | JsonEdit::Remove(i) | JsonEdit::Duplicate(i)) = e;
        let pointer = &all[i.index(all.len())];
        let (parent, key) = pointer.rsplit_once('/').expect("below the root");
        match e {
            JsonEdit::Replace(_, value) => {
                *doc.pointer_mut(pointer).expect("a value") =
                    serde_json::from_str(value).expect("hostile values are JSON");
            }
            JsonEdit::Remove(_) => match doc.pointer_mut(parent).expect("a parent") {
                serde_json::Value::Object(map) => {
                    map.remove(&key.replace("~1", "/").replace("~0", "~"));
                }
                serde_json::Value::Array(items) => {
                    items.remove(key.parse::<usize>().expect("an index"));
                }
                _ => {}
            },
            JsonEdit::Duplicate(_) => {
                let copy = doc.pointer(pointer).expect("a value").clone();
                if let Some(serde_json::Value::Array(items)) = doc.pointer_mut(parent) {
                    items.insert(key.parse::<usize>().expect("an index"), copy);
                } else {
                    // An object's member becomes a two-element array of itself.
                    *doc.pointer_mut(pointer).expect("a value") =
                        serde_json::Value::Array(vec![copy.clone(), copy]);
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc).expect("serializes")
}

/// Cuts `bytes` at the given points into non-empty pieces.
fn split(bytes: &[u8], cuts: &[Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
}

// ---------------------------------------------------------------------------------------------
// The HTTP/1.1 response parser

/// A server that sent `pieces` (one per read, as a socket may deliver them) and closed; what
/// the client writes is dropped.
struct Pieces(VecDeque<Vec<u8>>);

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(front) = self.0.front_mut() {
            let n = front.len().min(buf.remaining());
            buf.put_slice(&front[..n]);
            front.drain(..n);
            if front.is_empty() {
                self.0.pop_front();
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Pieces {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What one exchange came to (a response, or the failure's class and message).
#[derive(Debug, PartialEq)]
enum Outcome {
    Response {
        status: u16,
        headers: http::HeaderMap,
        body: Vec<u8>,
        kept: bool,
    },
    Failed(String),
}

impl Outcome {
    /// The outcome without whether the connection was kept (which depends on where the
    /// pieces end: bytes beyond a response that arrived with it make a connection unusable).
    fn without_kept(&self) -> Outcome {
        match self {
            Outcome::Response {
                status,
                headers,
                body,
                ..
            } => Outcome::Response {
                status: *status,
                headers: headers.clone(),
                body: body.clone(),
                kept: false,
            },
            Outcome::Failed(m) => Outcome::Failed(m.clone()),
        }
    }
}

/// Sends requests over a connection whose server answers with `pieces`, for as long as the
/// connection is kept (at most four exchanges).
fn exchanges(pieces: Vec<Vec<u8>>, head: bool, wanted: Wanted) -> Vec<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut conn = Some(Conn::new(Pieces(pieces.into())));
        let mut outcomes = Vec::new();
        while let Some(c) = conn.take() {
            if outcomes.len() == 4 {
                break;
            }
            let request = http::Request::builder()
                .method(if head { "HEAD" } else { "GET" })
                .uri("/")
                .header("host", "fuzz.test")
                .body(Bytes::new())
                .expect("a request");
            match c.exchange(request, wanted).await {
                Ok((r, next)) => {
                    outcomes.push(Outcome::Response {
                        status: r.status,
                        headers: r.headers,
                        body: r.body,
                        kept: next.is_some(),
                    });
                    conn = next;
                }
                Err(h1::Error::ClosedIdle((class, m)) | h1::Error::Failed((class, m))) => {
                    outcomes.push(Outcome::Failed(format!("{class:?}: {m}")));
                }
            }
        }
        outcomes
    })
}

fn wanted() -> impl Strategy<Value = Wanted> {
    (any::<bool>(), any::<bool>(), 0usize..2048).prop_map(|(headers, body, max_body)| Wanted {
        headers,
        body,
        max_body,
    })
}

/// Exchanges over `input` whole and in `cuts` pieces: no panic (proptest reports one as a
/// failure), the bounds, and the same first outcome however the bytes arrive.
fn check_response(input: &[u8], cuts: &[Index], head: bool, wanted: Wanted) {
    let whole = exchanges(vec![input.to_vec()], head, wanted);
    let pieces = exchanges(split(input, cuts), head, wanted);
    for outcomes in [&whole, &pieces] {
        let mut body_bytes = 0;
        for outcome in outcomes {
            match outcome {
                Outcome::Response {
                    status,
                    headers,
                    body,
                    ..
                } => {
                    assert!(*status <= 999, "status {status}");
                    assert!(
                        body.len() <= if wanted.body { wanted.max_body } else { 0 },
                        "a body of {} bytes kept with {wanted:?}",
                        body.len()
                    );
                    assert!(wanted.headers || headers.is_empty());
                    body_bytes += body.len();
                }
                Outcome::Failed(message) => {
                    assert!(message.len() <= 200, "a long message: {message}");
                }
            }
        }
        assert!(
            body_bytes == 0 || body_bytes < input.len(),
            "{body_bytes} body bytes from {} received",
            input.len()
        );
    }
    assert_eq!(
        whole[0].without_kept(),
        pieces[0].without_kept(),
        "whole vs in pieces"
    );
    if let Outcome::Response { kept: true, .. } = whole[0] {
        assert!(
            matches!(pieces[0], Outcome::Response { kept: true, .. }),
            "kept when whole, so kept in pieces"
        );
    }
}

/// Valid responses, the seeds of the mutations.
const RESPONSES: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Id: 7\r\n\r\nok",
    b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe body runs to the end",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 99\r\n\r\n1\r\na\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
];

/// Starts for arbitrary bytes, so that some get past the status line.
const PREFIXES: &[&[u8]] = &[
    b"",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: 16\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn h1_arbitrary_bytes_in_any_pieces(
        prefix in prop::sample::select(PREFIXES),
        rest in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
        head in prop::bool::weighted(0.1),
        wanted in wanted(),
    ) {
        let input = [prefix, rest.as_slice()].concat();
        check_response(&input, &cuts, head, wanted);
    }

    #[test]
    fn h1_mutated_responses_in_any_pieces(
        seed in prop::sample::select(RESPONSES),
        edits in edits(),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
        head in prop::bool::weighted(0.1),
        wanted in wanted(),
    ) {
        check_response(&apply(seed, &edits), &cuts, head, wanted);
    }
}

#[test]
fn h1_valid_seeds_parse_the_same_byte_by_byte() {
    let all = Wanted {
        headers: true,
        body: true,
        max_body: 1024,
    };
    for seed in RESPONSES {
        let cuts: Vec<Index> = Vec::new();
        check_response(seed, &cuts, false, all);
        let bytes: Vec<Vec<u8>> = seed.iter().map(|b| vec![*b]).collect();
        assert_eq!(
            exchanges(bytes, false, all)[0].without_kept(),
            exchanges(vec![seed.to_vec()], false, all)[0].without_kept()
        );
        assert!(
            matches!(
                exchanges(vec![seed.to_vec()], false, all)[0],
                Outcome::Response { .. }
            ),
            "{}",
            String::from_utf8_lossy(seed)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Loaders

/// A message a user reads: proportionate to what it is about.
fn assert_short(message: &str, input: &str) {
    assert!(
        message.len() <= 2 * input.len() + 4096,
        "{} bytes of error for {} bytes of input: {}",
        message.len(),
        input.len(),
        message.chars().take(2000).collect::<String>()
    );
}

/// Any data file reads as a small CSV.
struct AnyFile;

impl DataFiles for AnyFile {
    fn read(&self, path: &str) -> Result<String, String> {
        if std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
        {
            Ok("{\"id\": 1}\n{\"id\": \"x\"}\n".into())
        } else {
            Ok("email,id\na@x.io,1\nb@x.io,2\n".into())
        }
    }
}

const FEEDS: &str = r#"name: mixed
setup:
  - name: login
    post: /login
    json: { user: admin, password: "{{ env.HOME }}" }
    extract: { token: { json: /token } }
auth: { bearer: "{{ vars.token }}" }
data:
  users: { file: users.csv, mode: random }
load:
  model: closed
  think_time: 1s
  stages: [ { duration: 1m, users: 10 } ]
requests:
  - { name: health, get: /health, weight: 2 }
scenarios:
  - name: browse
    weight: 6
    steps:
      - { name: home, get: "/u/{{ data.users.id }}", think_time: 1s..2s }
      - { name: cart, post: /cart, form: { id: "{{ data.users.id }}" }, extract: { cart: { json: /id } } }
"#;

const PROFILES: &[&str] = &[
    include_str!("../../examples/demo.yaml"),
    include_str!("../../examples/journey.yaml"),
    include_str!("../../examples/capacity.yaml"),
    include_str!("../../examples/starter.yaml"),
    FEEDS,
];

/// What the commands do with profile text: its name, the profile for a run, the settings.
fn load_profile(text: &str) {
    let _ = Profile::name_of(text);
    for loaded in [
        Profile::from_yaml(text, "profile.yaml"),
        Profile::settings_from_yaml_with_files(text, "profile.yaml", &AnyFile, &NoEnvVars),
    ] {
        if let Err(e) = loaded {
            assert_short(&e.to_string(), text);
        }
    }
}

/// A small results file, the seed of the mutations.
fn results_seed() -> String {
    let mut spec = common::Spec::new(5);
    spec.per_second = 20;
    spec.warmup_s = 2;
    spec.measured_s = 4;
    spec.errors_per_second = 1;
    common::run(&spec).to_json()
}

fn baseline_seed() -> String {
    let runs: Vec<RunResult> = (1..=2)
        .map(|seed| {
            let mut spec = common::Spec::new(seed);
            spec.per_second = 20;
            spec.warmup_s = 2;
            spec.measured_s = 4;
            common::run(&spec)
        })
        .collect();
    common::baseline_of(&runs).to_json()
}

/// What `compare` and `report` do with a loaded run: summarize it, gate it against itself.
fn use_results(result: &RunResult, baseline: Option<&Baseline>) {
    let _ = loadgate::report::terminal::summary(result);
    let _ = evaluate(GateInput {
        current: result,
        baseline,
        gate: &GateConfig::default(),
        thresholds: &[],
    });
}

/// A results file loads as a run and as a baseline; what loads is used as the commands use it.
fn load_results(text: &str) {
    let result = RunResult::from_json(text);
    let baseline = Baseline::from_json(text);
    if let Err(e) = &result {
        assert_short(&e.to_string(), text);
    }
    if let Err(e) = &baseline {
        assert_short(&e.to_string(), text);
    }
    if let Ok(result) = &result {
        use_results(result, baseline.as_ref().ok());
    }
}

fn load_baseline(text: &str, current: &RunResult) {
    match Baseline::from_json(text) {
        Ok(baseline) => use_results(current, Some(&baseline)),
        Err(e) => assert_short(&e.to_string(), text),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn profiles_arbitrary_text(text in "\\PC{0,400}") {
        load_profile(&text);
    }

    #[test]
    fn profiles_mutated(seed in prop::sample::select(PROFILES), edits in edits()) {
        load_profile(&String::from_utf8_lossy(&apply(seed.as_bytes(), &edits)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn results_mutated(edits in edits()) {
        thread_local!(static SEED: String = results_seed());
        let text = SEED.with(|seed| apply(seed.as_bytes(), &edits));
        load_results(&String::from_utf8_lossy(&text));
    }

    #[test]
    fn baselines_mutated(edits in edits()) {
        thread_local!(static SEEDS: (String, RunResult) = {
            let current = RunResult::from_json(&results_seed()).expect("the seed loads");
            (baseline_seed(), current)
        });
        SEEDS.with(|(seed, current)| {
            let text = apply(seed.as_bytes(), &edits);
            load_baseline(&String::from_utf8_lossy(&text), current);
        });
    }

    #[test]
    fn results_mutated_as_json(edits in json_edits()) {
        thread_local!(static SEED: String = results_seed());
        let text = SEED.with(|seed| apply_json(seed, &edits));
        eprintln!("CASE {edits:?}");
        load_results(&text);
    }

    #[test]
    fn baselines_mutated_as_json(edits in json_edits()) {
        thread_local!(static SEEDS: (String, RunResult) = {
            let current = RunResult::from_json(&results_seed()).expect("the seed loads");
            (baseline_seed(), current)
        });
        eprintln!("CASE {edits:?}");
        SEEDS.with(|(seed, current)| load_baseline(&apply_json(seed, &edits), current));
    }

    #[test]
    fn json_arbitrary_text(text in "\\PC{0,300}") {
        load_results(&text);
    }
}

#[test]
fn the_seeds_load() {
    for text in PROFILES {
        Profile::settings_from_yaml_with_files(text, "profile.yaml", &AnyFile, &NoEnvVars)
            .expect("a profile");
    }
    let result = RunResult::from_json(&results_seed()).expect("results");
    Baseline::from_json(&baseline_seed()).expect("a baseline");
    use_results(&result, None);
}

#[test]
fn hostile_texts_are_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let deep = format!(
        "name: x\nrequests: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let e = Profile::from_yaml(&deep, "p.yaml").expect_err("too deep");
    assert!(e.to_string().contains("recursion limit"), "{e}");
    // A billion laughs: ten aliases of ten aliases, nine levels deep.
    let mut laughs = String::from("name: x\nrequests:\n  - &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        writeln!(laughs, "  - &a{i} [{refs}]").expect("to a String");
    }
    Profile::from_yaml(&laughs, "p.yaml").expect_err("not requests");
    assert_eq!(Profile::name_of(&laughs).as_deref(), Some("x"));
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    RunResult::from_json(&deep).expect_err("too deep");
    Baseline::from_json(&deep).expect_err("too deep");
}

/// Found by `results_mutated_as_json`: one count near `u64::MAX` loaded, then overflowed a sum
/// (a panic in a debug build, a wrapped sum in a release build): the generator's planned
/// arrivals (`RunResult::generator_totals`), an endpoint's stored summary (the terminal
/// summary's total). Such files are refused when loaded.
#[test]
fn counts_that_cannot_add_up_are_refused() {
    let seed: serde_json::Value = serde_json::from_str(&results_seed()).expect("JSON");
    for (pointer, names) in [
        ("/generator/intervals/0/planned", "`generator.intervals`"),
        ("/endpoints/1/summary/requests", "endpoint `add json`"),
    ] {
        let mut doc = seed.clone();
        *doc.pointer_mut(pointer).expect("in the seed") = u64::MAX.into();
        let e = RunResult::from_json(&doc.to_string()).expect_err("refused");
        assert!(e.to_string().contains(names), "{e}");
        // A single count beyond 2^53 is named with its field; sums beyond 2^60 as a total.
        let text = e.to_string();
        assert!(
            text.contains("beyond 2^60") || text.contains("expected at most"),
            "{e}"
        );
        Baseline::from_json(&doc.to_string()).expect_err("refused as a baseline too");
    }
    let mut doc: serde_json::Value = serde_json::from_str(&baseline_seed()).expect("JSON");
    doc["runs"][1]["endpoints"][0]["intervals"][0]["requests"] = u64::MAX.into();
    let e = Baseline::from_json(&doc.to_string()).expect_err("refused");
    assert!(e.to_string().contains("beyond 2^60"), "{e}");
}

/// Found by `results_mutated_as_json`: the last interval's index set to `u32::MAX` loaded, and
/// the gate then allocated a block per few intervals up to it (13.7 GB: the process was
/// killed). Such files are refused when loaded.
#[test]
fn interval_indices_beyond_any_run_are_refused() {
    let seed: serde_json::Value = serde_json::from_str(&results_seed()).expect("JSON");
    for (pointer, names) in [
        ("/endpoints/1/intervals/5/index", "endpoint `add json`"),
        ("/generator/intervals/5/index", "`generator.intervals`"),
    ] {
        let mut doc = seed.clone();
        *doc.pointer_mut(pointer).expect("in the seed") = u32::MAX.into();
        let e = RunResult::from_json(&doc.to_string()).expect_err("refused");
        assert!(e.to_string().contains(names), "{e}");
        assert!(
            e.to_string().contains("beyond the 1048576 intervals"),
            "{e}"
        );
        Baseline::from_json(&doc.to_string()).expect_err("refused as a baseline too");
    }
    let mut doc: serde_json::Value = serde_json::from_str(&baseline_seed()).expect("JSON");
    let intervals = doc["runs"][0]["endpoints"][0]["intervals"]
        .as_array_mut()
        .expect("intervals");
    let last = intervals.len() - 1;
    intervals[last]["index"] = u32::MAX.into();
    let e = Baseline::from_json(&doc.to_string()).expect_err("refused");
    assert!(
        e.to_string().contains("beyond the 1048576 intervals"),
        "{e}"
    );
}
