//! Logging and secrets: no bearer token ever shows up in the middleware's answers
//! (bodies, headers) nor in the log (the guest's stderr, which the host passes
//! through, plus the host's own request lines), whatever goes wrong with it.
//!
//! The composed server runs in the `authkit-host` binary so that the test reads
//! the process's real stderr. Run by `make hygiene-test` (needs the fixtures).

mod authkit;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use authkit::client::{self, Response};
use authkit::idp::{self, keys, Canned, Idp, AUDIENCE};
use jwt_simple::prelude::*;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_authkit-host");
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn composed_server() -> PathBuf {
    let path = std::env::var("AUTHKIT_TEST_SERVER_MCP").unwrap_or_else(|_| {
        panic!("AUTHKIT_TEST_SERVER_MCP is not set: run these tests with `make hygiene-test`")
    });
    PathBuf::from(path)
}

/// `authkit-host serve` in a child process; its stderr is collected until it stops.
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Served {
    fn start(args: &[String]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg(composed_server())
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("AUTHKIT_ISSUER")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start authkit-host");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("Serving http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Self {
            child,
            addr,
            stderr,
            reader: Some(reader),
        }
    }

    /// Stops the server and returns everything it wrote to stderr.
    fn stop(mut self) -> String {
        // Nothing to wait for: the host writes a request's log line (and the guest
        // its own) before it sends the response, which every caller has read.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let log = String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned();
        log
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn var(name: &str, value: &str) -> [String; 2] {
    ["--var".to_owned(), format!("{name}={value}")]
}

/// Pieces of a token that must never be repeated: the whole value and, for a
/// compact JWS, each segment (a signature alone is still the token's secret part).
fn secret_pieces(token: &str) -> Vec<&str> {
    let mut pieces = vec![token];
    pieces.extend(token.split('.').filter(|s| s.len() >= 16));
    pieces
}

fn assert_not_echoed(what: &str, token: &str, haystack: &str) {
    for piece in secret_pieces(token) {
        assert!(
            !haystack.contains(piece),
            "{what} repeats (part of) the token {piece:?}:\n{haystack}"
        );
    }
}

fn answer_text(r: &Response) -> String {
    let mut text = String::new();
    for (name, value) in &r.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push_str(&String::from_utf8_lossy(&r.body));
    text
}

/// A request: method, target, headers.
type Sent<'a> = (&'a str, String, Vec<(&'a str, Vec<u8>)>);

/// Sends `token` every way a client might (and some it should not), checks the
/// answers, and returns them.
fn send_everywhere(addr: SocketAddr, token: &str, expected_status: &[u16]) {
    let bearer = format!("Bearer {token}");
    let requests: Vec<Sent> = vec![
        (
            "POST",
            "/mcp".into(),
            vec![("Authorization", bearer.clone().into_bytes())],
        ),
        // Scheme in other case, extra blanks, a quote to try to break the challenge.
        (
            "POST",
            "/mcp".into(),
            vec![("Authorization", format!("bEaReR   {token}\"x").into_bytes())],
        ),
        // Two Authorization headers.
        (
            "POST",
            "/mcp".into(),
            vec![
                ("Authorization", bearer.clone().into_bytes()),
                ("Authorization", bearer.clone().into_bytes()),
            ],
        ),
        // Not a bearer scheme.
        (
            "POST",
            "/mcp".into(),
            vec![("Authorization", format!("Token {token}").into_bytes())],
        ),
        // Tokens in the query string are never used, and not logged either.
        ("POST", format!("/mcp?access_token={token}"), vec![]),
        // The metadata endpoints answer without looking at the token.
        (
            "GET",
            "/.well-known/oauth-protected-resource/mcp".into(),
            vec![("Authorization", bearer.clone().into_bytes())],
        ),
    ];
    for (method, target, headers) in requests {
        let mut all: Vec<(&str, &[u8])> = vec![
            ("Content-Type", b"application/json"),
            ("Accept", b"application/json, text/event-stream"),
        ];
        all.extend(headers.iter().map(|(n, v)| (*n, v.as_slice())));
        let r = client::send(addr, method, &target, &all, INITIALIZE.as_bytes());
        assert_not_echoed(
            &format!("the answer to {method} {target}"),
            token,
            &answer_text(&r),
        );
        if method == "POST"
            && target == "/mcp"
            && headers.len() == 1
            && headers[0].1 == bearer.as_bytes()
        {
            assert!(
                expected_status.contains(&r.status),
                "{}: {}",
                r.status,
                r.text()
            );
        }
    }
}

fn rsa_token(issuer: &str) -> String {
    keys().rsa.sign(idp::claims(issuer)).unwrap()
}

/// Every kind of bad (and one good) token against a working server.
#[test]
fn refused_tokens_appear_in_no_answer_and_no_log() {
    let idp = Idp::start();
    let iss = idp.issuer();
    let k = keys();
    let valid = rsa_token(&iss);
    let mut expired = idp::claims(&iss);
    expired.expires_at = Some(UnixTimeStamp::from_secs(idp::now() - 3600));
    let (signing_input, _) = valid.rsplit_once('.').unwrap();
    let tokens: Vec<(String, &[u16])> = vec![
        (valid.clone(), &[200]),
        (k.rsa.sign(expired).unwrap(), &[401]),
        (k.rsa_other.sign(idp::claims(&iss)).unwrap(), &[401]),
        (
            k.rsa.sign(idp::claims("https://evil.example")).unwrap(),
            &[401],
        ),
        (
            k.rsa
                .sign(idp::claims(&iss).with_audience("https://other.example"))
                .unwrap(),
            &[401],
        ),
        // An unknown kid makes the middleware refetch the JWKS.
        (
            idp::with_header(&valid, &json!({"alg": "RS256", "kid": "no-such-key"})),
            &[401],
        ),
        (format!("{signing_input}.{}", "A".repeat(342)), &[401]),
        ("a".repeat(20 * 1024), &[401]),
        (
            "not-a-jwt-but-a-long-opaque-access-token-0123456789".into(),
            &[401],
        ),
    ];
    let mut args = Vec::new();
    args.extend(var("authkit_issuer", &iss));
    args.extend(var("authkit_jwks_uri", &idp.url("/jwks")));
    args.extend(var("authkit_audience", AUDIENCE));
    let server = Served::start(&args);
    for (token, status) in &tokens {
        send_everywhere(server.addr, token, status);
    }
    let log = server.stop();
    assert!(
        log.contains("POST /mcp -> 401"),
        "the host logs requests:\n{log}"
    );
    for (token, _) in &tokens {
        assert_not_echoed("the log", token, &log);
    }
}

/// Failures that the middleware does log (unreachable keys, a bad configuration,
/// no key-value store) still log no token.
#[test]
fn logged_failures_do_not_log_the_token() {
    let idp = Idp::start();
    let iss = idp.issuer();
    let token = rsa_token(&iss);
    idp.route("/jwks-500", Canned::status(500));

    // Keys unavailable (503), with and without discovery, no key-value store.
    for jwks in [Some(idp.url("/jwks-500")), None] {
        let mut args = vec!["--no-key-value-store".to_owned()];
        args.extend(var("authkit_issuer", &iss));
        args.extend(var("authkit_audience", AUDIENCE));
        if let Some(jwks) = &jwks {
            args.extend(var("authkit_jwks_uri", jwks));
        } else {
            idp.route(
                "/.well-known/oauth-authorization-server",
                Canned::status(500),
            );
        }
        let server = Served::start(&args);
        send_everywhere(server.addr, &token, &[503]);
        let log = server.stop();
        assert!(
            log.contains("authkit: authorization server unavailable"),
            "the guest's log is captured:\n{log}"
        );
        assert!(log.contains("authkit: key-value store"), "{log}");
        assert_not_echoed("the log", &token, &log);
    }

    // An unusable configuration (500 naming the variable).
    let mut args = Vec::new();
    args.extend(var("authkit_issuer", &iss));
    args.extend(var("authkit_audience", AUDIENCE));
    args.extend(var("authkit_algorithms", "HS256"));
    let server = Served::start(&args);
    send_everywhere(server.addr, &token, &[500]);
    let log = server.stop();
    assert!(log.contains("authkit: configuration error"), "{log}");
    assert!(log.contains("authkit_algorithms"), "{log}");
    assert_not_echoed("the log", &token, &log);
}

/// What the middleware keeps in the key-value store across requests (the JWKS
/// cache, remembered signature checks) holds no token either: only digests.
#[test]
fn the_key_value_store_keeps_no_token() {
    let idp = Idp::start();
    let iss = idp.issuer();
    let jwks = idp.url("/jwks");
    let host = authkit_host::Host::load(composed_server()).expect("load the composed server");
    let config = authkit_host::HostConfig::default()
        .with_variable("authkit_issuer", iss.as_str())
        .with_variable("authkit_jwks_uri", jwks.as_str())
        .with_variable("authkit_audience", AUDIENCE);
    let server = host
        .serve(config, authkit::loopback())
        .expect("start the composed server");
    let token = rsa_token(&iss);
    for _ in 0..2 {
        let r = client::post_json(server.addr(), "/mcp", Some(&token), INITIALIZE);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let snapshot = server.key_value().snapshot();
    assert!(!snapshot.is_empty(), "the middleware caches in the store");
    for (store, entries) in snapshot {
        for (key, value) in entries {
            let entry = format!("{store}/{key} = {}", String::from_utf8_lossy(&value));
            assert_not_echoed("the key-value store", &token, &entry);
        }
    }
}

/// Limits: without a key-value store, a token naming an unknown `kid` costs the
/// one discovery and one JWKS fetch of any request, not a second discovery.
#[test]
fn without_a_store_an_unknown_kid_costs_no_second_discovery() {
    let idp = Idp::start();
    let iss = idp.issuer();
    let host = authkit_host::Host::load(composed_server()).expect("load the composed server");
    let config = authkit_host::HostConfig::default()
        .with_key_value_stores(Vec::<String>::new())
        .with_variable("authkit_issuer", iss.as_str())
        .with_variable("authkit_audience", AUDIENCE);
    let server = host
        .serve(config, authkit::loopback())
        .expect("start the composed server");
    let token = idp::with_header(
        &rsa_token(&iss),
        &json!({"alg": "RS256", "kid": "no-such-key"}),
    );
    let r = client::post_json(server.addr(), "/mcp", Some(&token), INITIALIZE);
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(idp.hits("/.well-known/oauth-authorization-server"), 1);
    assert_eq!(idp.hits("/jwks"), 1);
}
