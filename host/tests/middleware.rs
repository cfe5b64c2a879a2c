//! The composed server (middleware + gateway) in the Spin-like host, with a JWKS
//! served by the test and tokens minted by the test. Run by `make integration-test`.

mod authkit;

use std::time::Duration;

use authkit::client::{get, post_json, send};
use authkit::idp::{self, keys, Canned, Idp, AUDIENCE};
use authkit::{echo_server, mcp_server, mcp_server_020, serve};
use jwt_simple::prelude::*;
use serde_json::{json, Value};
use wasmcp_spin_authkit::response;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn vars<'a>(idp: &'a Idp, jwks: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![("authkit_jwks_uri", jwks), ("authkit_audience", AUDIENCE)]
        .into_iter()
        .chain(std::iter::once(("authkit_issuer", leak(idp.issuer()))))
        .collect()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn rsa_token(idp: &Idp) -> String {
    keys().rsa.sign(idp::claims(&idp.issuer())).unwrap()
}

fn challenge_of(resp: &authkit::client::Response) -> &str {
    resp.header("www-authenticate").expect("WWW-Authenticate")
}

#[test]
fn metadata_documents_are_public() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    let server = serve(&mcp_server(), &vars(&idp, &jwks));
    let base = server.url();
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource", base.clone()),
        (
            "/.well-known/oauth-protected-resource/mcp",
            format!("{base}/mcp"),
        ),
    ] {
        let r = get(server.addr(), path, &[]);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            r.json(),
            json!({"resource": resource, "authorization_servers": [idp.issuer()], "bearer_methods_supported": ["header"]})
        );
    }
    assert_eq!(idp.hits("/jwks"), 0, "metadata needs no keys");
}

#[test]
fn missing_token_gets_401_with_resource_metadata() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    let server = serve(&mcp_server(), &vars(&idp, &jwks));
    let r = post_json(server.addr(), "/mcp?access_token=abc", None, INITIALIZE);
    assert_eq!(r.status, 401);
    assert_eq!(
        challenge_of(&r),
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            server.url()
        )
    );
    assert_eq!(
        r.json(),
        json!({"error": "unauthorized", "error_description": "Missing authorization header"})
    );
    assert_eq!(idp.hits("/jwks"), 0);
}

#[test]
fn valid_tokens_reach_the_gateway() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    let server = serve(&mcp_server(), &vars(&idp, &jwks));
    let k = keys();
    let c = || idp::claims(&idp.issuer());
    for token in [
        k.rsa.sign(c()).unwrap(),
        k.es256.sign(c()).unwrap(),
        k.ed25519.sign(c()).unwrap(),
    ] {
        let r = post_json(server.addr(), "/mcp", Some(&token), INITIALIZE);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.json()["result"]["serverInfo"]["name"],
            "mcp-gateway-example"
        );
        assert!(r.header("mcp-session-id").is_some());
    }
    let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":40}}}"#;
    let r = post_json(server.addr(), "/mcp", Some(&rsa_token(&idp)), call);
    assert_eq!(r.json()["result"]["content"][0]["text"], "42");
    assert_eq!(
        idp.hits("/jwks"),
        1,
        "the JWKS is cached across per-request instances"
    );
}

#[test]
fn every_rejection_class_is_a_401_invalid_token() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    let server = serve(&mcp_server(), &vars(&idp, &jwks));
    let k = keys();
    let iss = idp.issuer();
    let valid = rsa_token(&idp);
    let (signing_input, signature) = valid.rsplit_once('.').unwrap();
    let payload = signing_input.split_once('.').unwrap().1;
    let mut flipped = signature.as_bytes().to_vec();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let mut expired = idp::claims(&iss);
    expired.expires_at = Some(UnixTimeStamp::from_secs(idp::now() - 3600));
    let mut future = idp::claims(&iss);
    future.invalid_before = Some(UnixTimeStamp::from_secs(idp::now() + 3600));
    let mut no_exp = idp::claims(&iss);
    no_exp.expires_at = None;
    let pem = k.rsa.public_key().to_pem().unwrap();

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "bad signature",
            format!("{signing_input}.{}", String::from_utf8(flipped).unwrap()),
            "Invalid token signature",
        ),
        (
            "other key, same kid",
            k.rsa_other.sign(idp::claims(&iss)).unwrap(),
            "Invalid token signature",
        ),
        (
            "alg none",
            format!("{}.{payload}.", idp::b64(br#"{"alg":"none"}"#)),
            "Invalid token format",
        ),
        (
            "alg none with signature",
            idp::with_header(&valid, &json!({"alg": "none", "kid": "rsa-1"})),
            "Unsupported token algorithm",
        ),
        (
            "HS256 keyed with the public key",
            HS256Key::from_bytes(pem.as_bytes())
                .with_key_id("rsa-1")
                .authenticate(idp::claims(&iss))
                .unwrap(),
            "Unsupported token algorithm",
        ),
        ("expired", k.rsa.sign(expired).unwrap(), "Token has expired"),
        (
            "not yet valid",
            k.rsa.sign(future).unwrap(),
            "Token is not yet valid",
        ),
        (
            "wrong issuer",
            k.rsa.sign(idp::claims("https://evil.example")).unwrap(),
            "Invalid token issuer",
        ),
        (
            "issuer with trailing slash",
            k.rsa.sign(idp::claims(&format!("{iss}/"))).unwrap(),
            "Invalid token issuer",
        ),
        (
            "wrong audience",
            k.rsa
                .sign(idp::claims(&iss).with_audience("https://other.example"))
                .unwrap(),
            "Invalid token audience",
        ),
        (
            "missing exp",
            k.rsa.sign(no_exp).unwrap(),
            "Token has no expiration",
        ),
        (
            "unknown kid",
            idp::with_header(&valid, &json!({"alg": "RS256", "kid": "nope"})),
            "Unknown signing key",
        ),
        ("garbage", "garbage".to_owned(), "Invalid token format"),
        ("oversize", "a".repeat(17 * 1024), "Token too large"),
        (
            "crit",
            idp::with_header(
                &valid,
                &json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]}),
            ),
            "Unsupported critical token header",
        ),
        (
            "ES256 header on the RSA key",
            idp::with_header(&valid, &json!({"alg": "ES256", "kid": "rsa-1"})),
            "Token algorithm does not match the signing key",
        ),
    ];
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", server.url());
    for (name, token, description) in cases {
        let r = post_json(server.addr(), "/mcp", Some(&token), INITIALIZE);
        assert_eq!(r.status, 401, "{name}: {}", r.text());
        assert_eq!(
            challenge_of(&r),
            format!("Bearer error=\"invalid_token\", error_description=\"{description}\", resource_metadata=\"{metadata}\""),
            "{name}"
        );
        assert_eq!(
            r.json(),
            json!({"error": "invalid_token", "error_description": description}),
            "{name}"
        );
    }
}

#[test]
fn jwks_fetch_failures_are_503_never_a_pass() {
    let idp = Idp::start();
    let token = rsa_token(&idp);
    idp.route("/jwks-500", Canned::status(500));
    idp.route(
        "/jwks-html",
        Canned {
            content_type: "text/html",
            body: b"<html>hi</html>".to_vec(),
            ..Canned::status(200)
        },
    );
    idp.route("/jwks-empty", Canned::json(&json!({"keys": []})));
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/jwks")
    };
    for jwks in [
        idp.url("/jwks-500"),
        idp.url("/jwks-html"),
        idp.url("/jwks-empty"),
        idp.url("/missing"),
        refused,
    ] {
        let server = serve(&mcp_server(), &vars(&idp, &jwks));
        let r = post_json(server.addr(), "/mcp", Some(&token), INITIALIZE);
        assert_eq!(r.status, 503, "{jwks}: {}", r.text());
        assert_eq!(r.json()["error"], "temporarily_unavailable");
        assert!(!r.text().contains(&jwks), "no internal detail in the body");
    }
}

#[test]
fn slow_jwks_times_out_with_503() {
    let idp = Idp::start();
    // Never answered while the request waits: a 503 proves the fetch deadline cut
    // it short (without one, the client's read would time out and fail the test).
    idp.route("/slow", Canned::json(&idp::jwks()).held());
    let jwks = idp.url("/slow");
    let server = serve(&mcp_server(), &vars(&idp, &jwks));
    let r = post_json(server.addr(), "/mcp", Some(&rsa_token(&idp)), INITIALIZE);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(idp.hits("/slow"), 1);
    idp.release();
}

#[test]
fn keys_are_discovered_from_the_issuer_when_no_jwks_uri() {
    let idp = Idp::start();
    let server = serve(
        &mcp_server(),
        &[
            ("authkit_issuer", &idp.issuer()),
            ("authkit_audience", AUDIENCE),
        ],
    );
    let r = post_json(server.addr(), "/mcp", Some(&rsa_token(&idp)), INITIALIZE);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(idp.hits("/.well-known/oauth-authorization-server"), 1);
    assert_eq!(idp.hits("/jwks"), 1);

    // OIDC discovery is the fallback.
    let oidc = Idp::empty();
    oidc.route("/keys", Canned::json(&idp::jwks()));
    oidc.route(
        "/.well-known/openid-configuration",
        Canned::json(&json!({"issuer": oidc.issuer(), "jwks_uri": oidc.url("/keys")})),
    );
    let server = serve(
        &mcp_server(),
        &[
            ("authkit_issuer", &oidc.issuer()),
            ("authkit_audience", AUDIENCE),
        ],
    );
    let token = keys().rsa.sign(idp::claims(&oidc.issuer())).unwrap();
    let r = post_json(server.addr(), "/mcp", Some(&token), INITIALIZE);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(oidc.hits("/.well-known/oauth-authorization-server"), 1);
    assert_eq!(oidc.hits("/keys"), 1);

    // Metadata naming another issuer is not trusted.
    let liar = Idp::empty();
    liar.route("/jwks", Canned::json(&idp::jwks()));
    liar.route(
        "/.well-known/oauth-authorization-server",
        Canned::json(&json!({"issuer": "https://evil.example", "jwks_uri": liar.url("/jwks")})),
    );
    let server = serve(
        &mcp_server(),
        &[
            ("authkit_issuer", &liar.issuer()),
            ("authkit_audience", AUDIENCE),
        ],
    );
    let token = keys().rsa.sign(idp::claims(&liar.issuer())).unwrap();
    assert_eq!(
        post_json(server.addr(), "/mcp", Some(&token), INITIALIZE).status,
        503
    );
    assert_eq!(liar.hits("/jwks"), 0);
}

#[test]
fn config_errors_are_500_naming_the_variable() {
    let idp = Idp::start();
    let token = rsa_token(&idp);
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[], "authkit_issuer"),
        (&[("authkit_issuer", "not a url")], "authkit_issuer"),
        (
            &[
                ("authkit_issuer", "https://a.example"),
                ("authkit_jwks_uri", "::"),
            ],
            "authkit_jwks_uri",
        ),
    ];
    for (vars, variable) in cases {
        let server = serve(&mcp_server(), vars);
        for r in [
            post_json(server.addr(), "/mcp", Some(&token), INITIALIZE),
            post_json(server.addr(), "/mcp", None, INITIALIZE),
        ] {
            assert_eq!(r.status, 500, "{vars:?}");
            assert_eq!(r.json()["error"], "server_error");
            assert!(
                r.json()["error_description"]
                    .as_str()
                    .unwrap()
                    .contains(variable),
                "{}",
                r.text()
            );
        }
    }
}

#[test]
fn accepted_requests_reach_the_gateway_byte_for_byte() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    let server = serve(&echo_server(), &vars(&idp, &jwks));
    let token = rsa_token(&idp);
    let auth = format!("Bearer {token}");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 256) as u8).collect();
    let headers: Vec<(&str, &[u8])> = vec![
        ("Authorization", auth.as_bytes()),
        ("Content-Type", b"application/octet-stream"),
        ("X-Custom", b"one"),
        ("X-Custom", b"two"),
        ("Mcp-Session-Id", b"abc-123"),
        ("Cookie", b"a=b; c=d"),
    ];
    let r = send(
        server.addr(),
        "PUT",
        "/some/path?q=1&access_token=x",
        &headers,
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let echo = r.json();
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["path_with_query"], "/some/path?q=1&access_token=x");
    let got: Vec<(String, String)> = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (name, value) in &headers {
        let value = String::from_utf8(value.to_vec()).unwrap();
        assert!(
            got.contains(&(name.to_ascii_lowercase(), value.clone())),
            "{name}: {value} missing from {got:?}"
        );
    }
    let custom: Vec<_> = got
        .iter()
        .filter(|(n, _)| n == "x-custom")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(custom, ["one", "two"], "repeated headers keep their order");
    assert_eq!(decode_base64(echo["body_base64"].as_str().unwrap()), body);
}

#[test]
fn gateway_responses_come_back_unchanged_and_streamed() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    let server = serve(&echo_server(), &vars(&idp, &jwks));
    let auth = format!("Bearer {}", rsa_token(&idp));
    let h: Vec<(&str, &[u8])> = vec![("Authorization", auth.as_bytes())];

    let teapot = get(server.addr(), "/status/418", &h);
    assert_eq!(teapot.status, 418);
    assert_eq!(teapot.header("x-echo"), Some("yes"));
    assert_eq!(teapot.text(), "status 418");

    let big = get(server.addr(), "/big?bytes=3000000", &h);
    assert_eq!(big.body.len(), 3_000_000);
    assert!(big
        .body
        .iter()
        .enumerate()
        .all(|(i, b)| *b == (i % 251) as u8));

    let sse = get(server.addr(), "/stream?n=5&delay_ms=0", &h);
    assert_eq!(sse.status, 200);
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    assert_eq!(sse.text().matches("data: ").count(), 5);

    // Streamed both ways, in lock step: the client sends the next piece of the
    // body only after the gateway's event for the previous one came back. A
    // middleware that buffered either body would never let the first event out.
    let pieces = ["ping 1", "ping 2", "ping 3"];
    let body = relay_in_lock_step(server.addr(), &auth, &pieces);
    assert_eq!(body, "data: ping 1\n\ndata: ping 2\n\ndata: ping 3\n\n");
}

/// `POST /relay` with a chunked body sent one piece per gateway event; returns
/// the response body. (The read timeout only guards against a hang.)
fn relay_in_lock_step(addr: std::net::SocketAddr, auth: &str, pieces: &[&str]) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        conn,
        "POST /relay HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut received = Vec::new();
    for piece in pieces {
        write!(conn, "{:x}\r\n{piece}\r\n", piece.len()).unwrap();
        let event = format!("data: {piece}\n\n");
        while !String::from_utf8_lossy(&received).contains(&event) {
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0, "closed before {piece:?} came back");
            received.extend_from_slice(&buf[..n]);
        }
    }
    conn.write_all(b"0\r\n\r\n").unwrap();
    conn.read_to_end(&mut received).unwrap();
    let text = String::from_utf8_lossy(&received);
    let (head, mut chunked) = text.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    // Undo the chunked transfer coding (RFC 9112 §7.1).
    let mut body = String::new();
    while let Some((size, rest)) = chunked.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        body.push_str(&rest[..size]);
        chunked = &rest[size + 2..];
    }
    body
}

#[test]
fn wraps_gateways_exporting_wasi_http_0_2_0_and_0_2_4() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    for host in [mcp_server(), mcp_server_020()] {
        let server = serve(&host, &vars(&idp, &jwks));
        assert_eq!(
            post_json(server.addr(), "/mcp", None, INITIALIZE).status,
            401
        );
        let r = post_json(server.addr(), "/mcp", Some(&rsa_token(&idp)), INITIALIZE);
        assert_eq!(r.status, 200, "{}", r.text());
        let list = post_json(
            server.addr(),
            "/mcp",
            Some(&rsa_token(&idp)),
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        );
        let tools: Vec<Value> = list.json()["result"]["tools"].as_array().unwrap().clone();
        assert!(tools.iter().any(|t| t["name"] == "echo"));
        let note = post_json(
            server.addr(),
            "/mcp",
            Some(&rsa_token(&idp)),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        );
        assert_eq!(note.status, 202);
    }
}

#[test]
fn cors_preflight_is_answered_by_the_middleware() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    let server = serve(&mcp_server(), &vars(&idp, &jwks));
    let r = send(
        server.addr(),
        "OPTIONS",
        "/mcp",
        &[
            ("Origin", b"http://localhost:6274"),
            ("Access-Control-Request-Method", b"POST"),
            (
                "Access-Control-Request-Headers",
                b"authorization, content-type",
            ),
        ],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some(response::ALLOW_HEADERS)
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some(response::EXPOSE_HEADERS)
    );
    let unauthorized = post_json(server.addr(), "/mcp", None, INITIALIZE);
    assert_eq!(
        unauthorized.header("access-control-allow-origin"),
        Some("*")
    );
}

#[test]
fn hostile_headers_never_trap_the_component() {
    let idp = Idp::start();
    let jwks = idp.url("/jwks");
    let server = serve(&mcp_server(), &vars(&idp, &jwks));
    let token = rsa_token(&idp);
    let two = format!("Bearer {token}");
    type Headers<'a> = Vec<(&'a str, &'a [u8])>;
    // Spin's trigger refuses a request whose header values are not UTF-8 before
    // the component runs (an empty 500); hosts that pass the bytes get a 401.
    let non_utf8 = if server.on_spin() { 500 } else { 401 };
    let cases: Vec<(Headers, u16)> = vec![
        (vec![("Authorization", b"Bearer \xff\xfe\xfd")], non_utf8),
        (vec![("Authorization", b"Basic dXNlcjpwYXNz")], 401),
        (vec![("Authorization", b"Bearer")], 401),
        (
            vec![
                ("Authorization", two.as_bytes()),
                ("Authorization", two.as_bytes()),
            ],
            400,
        ),
    ];
    for (headers, status) in cases {
        let r = send(
            server.addr(),
            "POST",
            "/mcp",
            &headers,
            INITIALIZE.as_bytes(),
        );
        assert_eq!(r.status, status, "{headers:?}: {}", r.text());
        if status == 500 {
            assert!(r.body.is_empty(), "Spin's own refusal: {}", r.text());
        } else {
            assert!(r.json()["error_description"].is_string());
        }
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
