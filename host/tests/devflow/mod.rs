//! An OAuth client for the development issuer's tests: registration, the
//! authorization request (whose consent is automatic), token requests, and
//! token verification against the published JWKS; and running the commands
//! that print a token.

#![allow(dead_code)] // each test binary uses a different part of this

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use jwt_simple::prelude::*;
use jwt_simple::reexports::ct_codecs::{Base64, Base64UrlSafeNoPadding, Decoder, Encoder};
use serde_json::{json, Value};

use crate::authkit::client::{get, send, Response};

pub const REDIRECT: &str = "http://127.0.0.1:6274/oauth/callback";

pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub fn register(addr: SocketAddr, meta: &Value) -> Response {
    send(
        addr,
        "POST",
        "/register",
        &[("Content-Type", b"application/json")],
        meta.to_string().as_bytes(),
    )
}

/// Registers a public client (`none`) for [`REDIRECT`]; returns its id.
pub fn public_client(addr: SocketAddr) -> String {
    let r = register(
        addr,
        &json!({
            "client_name": "test",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["client_id"].as_str().unwrap().to_owned()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    jwt_simple::reexports::rand::fill(&mut bytes[..]);
    let verifier = Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap();
    let challenge =
        Base64UrlSafeNoPadding::encode_to_string(hmac_sha256::Hash::hash(verifier.as_bytes()))
            .unwrap();
    (verifier, challenge)
}

pub fn authorize(addr: SocketAddr, params: &[(&str, &str)]) -> Response {
    get(addr, &format!("/authorize?{}", form(params)), &[])
}

/// The query parameters of a redirect's `Location`.
pub fn redirect_params(r: &Response) -> HashMap<String, String> {
    assert_eq!(r.status, 302, "expected a redirect: {}", r.text());
    let location = url::Url::parse(r.header("location").expect("Location")).unwrap();
    location.query_pairs().into_owned().collect()
}

pub fn token(addr: SocketAddr, params: &[(&str, &str)], basic: Option<(&str, &str)>) -> Response {
    let auth = basic.map(|(id, secret)| {
        format!(
            "Basic {}",
            Base64::encode_to_string(format!("{}:{}", form_escape(id), form_escape(secret)))
                .unwrap()
        )
    });
    let mut headers: Vec<(&str, &[u8])> =
        vec![("Content-Type", b"application/x-www-form-urlencoded")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_bytes()));
    }
    send(addr, "POST", "/token", &headers, form(params).as_bytes())
}

fn form_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A code for `client_id` (automatic consent), with its verifier.
pub fn code(addr: SocketAddr, client_id: &str, resource: Option<&str>) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
    ];
    if let Some(resource) = resource {
        params.push(("resource", resource));
    }
    let got = redirect_params(&authorize(addr, &params));
    (got["code"].clone(), verifier)
}

/// The whole authorization-code flow for a new public client: the token response.
pub fn code_flow(addr: SocketAddr, resource: Option<&str>) -> Value {
    let client = public_client(addr);
    let (code, verifier) = code(addr, &client, resource);
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", client.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    if let Some(resource) = resource {
        params.push(("resource", resource));
    }
    let r = token(addr, &params, None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Verifies `token` with the key the issuer publishes (selected by `kid`),
/// requiring `iss` and `aud`.
pub fn verify(addr: SocketAddr, token: &str, audience: &str) -> JWTClaims<Value> {
    let meta = Token::decode_metadata(token).unwrap();
    let jwks = get(addr, "/jwks", &[]).json();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"].as_str() == meta.key_id())
        .expect("the token's kid is in the JWKS");
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    let coord =
        |c: &str| Base64UrlSafeNoPadding::decode_to_vec(jwk[c].as_str().unwrap(), None).unwrap();
    let point = [vec![4u8], coord("x"), coord("y")].concat();
    let key = ES256PublicKey::from_bytes(&point).unwrap();
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from_strings(&[format!("http://{addr}")])),
        allowed_audiences: Some(HashSet::from_strings(&[audience])),
        time_tolerance: Some(Duration::from_secs(0)),
        ..Default::default()
    };
    key.verify_token::<Value>(token, Some(options))
        .unwrap_or_else(|e| panic!("token does not verify: {e}"))
}

/// The decoded JOSE header and payload, unverified.
pub fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let mut decode = || -> Value {
        serde_json::from_slice(
            &Base64UrlSafeNoPadding::decode_to_vec(it.next().unwrap(), None).unwrap(),
        )
        .unwrap()
    };
    (decode(), decode())
}

// --- Commands that print a token ---------------------------------------------

/// Kills the process when the test ends.
pub struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bin args...` and reads stdout up to and including the line `until`
/// starts with; returns the lines read.
pub fn run_until(bin: &str, args: &[&str], until: &str) -> (Process, Vec<String>) {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let process = Process(child);
    // Keep draining stdout after `until`: a closed pipe would make the child's
    // next print fail and take the server down mid-test.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(120)) {
        let done = line.starts_with(until);
        lines.push(line);
        if done {
            return (process, lines);
        }
    }
    panic!("no line starting with {until:?} in {lines:#?}");
}

/// The bearer token printed after the `Bearer token` line.
pub fn token_in(lines: &[String]) -> String {
    let i = lines
        .iter()
        .position(|l| l.starts_with("Bearer token"))
        .expect("a Bearer token line");
    lines[i + 1].trim().to_owned()
}

/// The address after `prefix` on `line`.
pub fn addr_in(line: &str, prefix: &str) -> SocketAddr {
    line.strip_prefix(prefix)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line:?}"))
        .parse()
        .unwrap()
}
