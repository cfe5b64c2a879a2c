//! Keys and tokens for unit tests: jwt-simple mints, the core verifies.

use jwt_simple::prelude::*;
use serde_json::{json, Value};

use crate::jwks::{AlgorithmSet, KeySet};
use crate::token::Policy;

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "https://mcp.test/mcp";
/// A fixed "now" for deterministic time checks.
pub const NOW: u64 = 1_800_000_000;

// The keys are those of the integration tests (one definition of the test issuer).
#[path = "../tests/support/tokens.rs"]
mod tokens;
pub use tokens::{b64, keys};

/// RSA public JWK built from components, with optional `alg`.
pub fn rsa_jwk(kp: &RS256KeyPair, kid: &str, alg: Option<&str>) -> Value {
    let c = kp.public_key().to_components();
    let mut jwk = json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&c.n), "e": b64(&c.e)});
    if let Some(alg) = alg {
        jwk["alg"] = json!(alg);
    }
    jwk
}

pub fn ec_jwk(point: &[u8], crv: &str, kid: &str) -> Value {
    let size = (point.len() - 1) / 2;
    json!({"kty": "EC", "crv": crv, "kid": kid,
           "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..])})
}

pub fn ed_jwk(kp: &Ed25519KeyPair, kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(&kp.public_key().to_bytes())})
}

/// A JWKS with one key of each supported type.
pub fn jwks_value() -> Value {
    let k = keys();
    json!({"keys": [
        rsa_jwk(&k.rsa, "rsa-1", Some("RS256")),
        ec_jwk(&k.es256.public_key().public_key().to_bytes_uncompressed(), "P-256", "ec-1"),
        ec_jwk(&k.es384.public_key().public_key().to_bytes_uncompressed(), "P-384", "ec-384"),
        ed_jwk(&k.ed25519, "ed-1"),
    ]})
}

pub fn key_set(value: &Value) -> KeySet {
    KeySet::parse(value.to_string().as_bytes()).unwrap()
}

pub fn policy() -> Policy {
    Policy {
        issuer: ISSUER.into(),
        audiences: vec![AUDIENCE.into()],
        leeway_seconds: 60,
        max_token_bytes: 16 * 1024,
        algorithms: AlgorithmSet::ALL,
    }
}

/// Claims valid at [`NOW`] for [`policy`], with extra members merged in
/// (a `null` member removes the claim).
pub fn claims(extra: Value) -> JWTClaims<serde_json::Map<String, Value>> {
    let mut custom = serde_json::Map::new();
    let mut claims = JWTClaims {
        issued_at: Some(UnixTimeStamp::from_secs(NOW - 10)),
        expires_at: Some(UnixTimeStamp::from_secs(NOW + 300)),
        invalid_before: None,
        issuer: Some(ISSUER.into()),
        subject: Some("user_123".into()),
        audiences: Some(Audiences::AsString(AUDIENCE.into())),
        jwt_id: None,
        nonce: None,
        custom: serde_json::Map::new(),
    };
    for (name, value) in extra.as_object().unwrap() {
        match (name.as_str(), value) {
            ("exp", Value::Null) => claims.expires_at = None,
            ("iat", Value::Null) => claims.issued_at = None,
            ("iss", Value::Null) => claims.issuer = None,
            ("aud", Value::Null) => claims.audiences = None,
            ("exp", Value::Number(n)) if n.is_u64() => {
                claims.expires_at = Some(UnixTimeStamp::from_secs(n.as_u64().unwrap()))
            }
            ("nbf", Value::Number(n)) if n.is_u64() => {
                claims.invalid_before = Some(UnixTimeStamp::from_secs(n.as_u64().unwrap()))
            }
            ("iat", Value::Number(n)) if n.is_u64() => {
                claims.issued_at = Some(UnixTimeStamp::from_secs(n.as_u64().unwrap()))
            }
            ("iss", Value::String(s)) => claims.issuer = Some(s.clone()),
            ("aud", Value::String(s)) => claims.audiences = Some(Audiences::AsString(s.clone())),
            ("aud", Value::Array(a)) => {
                claims.audiences = Some(Audiences::AsSet(
                    a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
                ))
            }
            // Anything else (odd types included) goes in verbatim; the standard
            // field must then be cleared to avoid a duplicate member.
            (name, value) => {
                match name {
                    "exp" => claims.expires_at = None,
                    "iat" => claims.issued_at = None,
                    "nbf" => claims.invalid_before = None,
                    _ => {}
                }
                custom.insert(name.to_owned(), value.clone());
            }
        }
    }
    claims.custom = custom;
    claims
}

/// Replaces the header of a signed token (its signature no longer matches).
pub fn with_header(token: &str, header: &Value) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", b64(header.to_string().as_bytes()))
}

/// A key-value store in memory.
#[derive(Default)]
pub struct MemoryStore(pub std::collections::HashMap<String, Vec<u8>>);

impl crate::cache::Store for MemoryStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn set(&mut self, key: &str, value: &[u8]) {
        self.0.insert(key.to_owned(), value.to_vec());
    }
    fn update(&mut self, key: &str, update: crate::cache::Update<'_>) -> bool {
        match update(self.0.get(key).map(Vec::as_slice)) {
            Some(value) => {
                self.0.insert(key.to_owned(), value);
                true
            }
            None => false,
        }
    }
}

/// Web sites in memory: scripted responses by URL (`HTTP status 404` for any
/// other URL), and every fetch recorded in order.
#[derive(Default)]
pub struct Sites {
    responses: std::collections::HashMap<String, Result<crate::cache::Fetched, String>>,
    /// The URLs fetched, in order.
    pub fetched: Vec<String>,
}

impl Sites {
    /// From now on `url` answers with `response`.
    pub fn respond(&mut self, url: &str, response: Result<crate::cache::Fetched, String>) {
        self.responses.insert(url.to_owned(), response);
    }

    /// From now on `url` serves `body` (no `Cache-Control`).
    pub fn serve(&mut self, url: &str, body: impl Into<Vec<u8>>) {
        let body = body.into();
        self.respond(
            url,
            Ok(crate::cache::Fetched {
                body,
                max_age: None,
            }),
        );
    }

    /// From now on fetching `url` fails with `error`.
    pub fn fail(&mut self, url: &str, error: &str) {
        self.respond(url, Err(error.to_owned()));
    }
}

impl crate::cache::Fetcher for Sites {
    fn fetch(&mut self, url: &url::Url) -> Result<crate::cache::Fetched, String> {
        self.fetched.push(url.to_string());
        self.responses
            .get(url.as_str())
            .cloned()
            .unwrap_or_else(|| Err("HTTP status 404".to_owned()))
    }
}
