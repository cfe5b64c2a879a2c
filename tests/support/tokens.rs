//! The test issuer's signing keys, its public JWKS and the tokens and claims it
//! mints: shared by the host's end-to-end tests (through `authkit::idp`), the
//! middleware crate's native attack-catalogue test and its unit tests
//! (`test_support`).

// Each user takes part of it.
#![allow(dead_code)]

use std::sync::OnceLock;

use jwt_simple::prelude::*;
use serde_json::{json, Value};

pub const AUDIENCE: &str = "https://mcp.test/mcp";

/// Signing keys, generated once per test binary.
pub struct Keys {
    pub rsa: RS256KeyPair,
    /// Another RSA key published under the same kid nowhere: signs "other key" tokens.
    pub rsa_other: RS256KeyPair,
    pub es256: ES256KeyPair,
    /// Published by the unit tests' key sets only.
    pub es384: ES384KeyPair,
    pub ed25519: Ed25519KeyPair,
}

/// Generated once per test binary (RSA generation is the slow part).
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: RS256KeyPair::generate(2048).unwrap().with_key_id("rsa-1"),
        rsa_other: RS256KeyPair::generate(2048).unwrap().with_key_id("rsa-1"),
        es256: ES256KeyPair::generate().with_key_id("ec-1"),
        es384: ES384KeyPair::generate().with_key_id("ec-384"),
        ed25519: Ed25519KeyPair::generate().with_key_id("ed-1"),
    })
}

pub fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

/// The public JWKS for [`keys`].
pub fn jwks() -> Value {
    let k = keys();
    let rsa = k.rsa.public_key().to_components();
    let point = k.es256.public_key().public_key().to_bytes_uncompressed();
    json!({"keys": [
        {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": b64(&rsa.n), "e": b64(&rsa.e)},
        {"kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig", "x": b64(&point[1..33]), "y": b64(&point[33..])},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": b64(&k.ed25519.public_key().to_bytes())},
    ]})
}

/// Claims valid now for `issuer` and [`AUDIENCE`].
pub fn claims(issuer: &str) -> JWTClaims<NoCustomClaims> {
    Claims::create(jwt_simple::prelude::Duration::from_mins(5))
        .with_issuer(issuer)
        .with_audience(AUDIENCE)
        .with_subject("user_123")
}

pub fn now() -> u64 {
    Clock::now_since_epoch().as_secs()
}

/// Replaces the header of a token (its signature then no longer matches).
pub fn with_header(token: &str, header: &Value) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", b64(header.to_string().as_bytes()))
}
