//! Benchmark (not a test): time per token verification natively — signature and
//! claims, `token::verify` with a key set parsed from a JWKS — for RS256 and PS256
//! (one 2048-bit key), ES256 and EdDSA. `make bench-verify` compares it with the same work inside a
//! wasm32-wasip2 component (examples/verify_loop.rs under wasmtime).
//!
//!   cargo bench -p wasmcp-spin-authkit --bench verify

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use jwt_simple::prelude::*;
use serde_json::json;
use wasmcp_spin_authkit::jwks::{AlgorithmSet, KeySet};
use wasmcp_spin_authkit::token::{self, Policy};

const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "https://mcp.bench/mcp";

fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

fn claims() -> JWTClaims<NoCustomClaims> {
    Claims::create(jwt_simple::prelude::Duration::from_hours(1))
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE)
        .with_subject("user_123")
}

fn verify(c: &mut Criterion) {
    let rsa = RS256KeyPair::generate(2048).unwrap().with_key_id("rsa-1");
    let ps256 = PS256KeyPair::from_der(&rsa.to_der().unwrap())
        .unwrap()
        .with_key_id("ps-1");
    let es256 = ES256KeyPair::generate().with_key_id("ec-1");
    let ed25519 = Ed25519KeyPair::generate().with_key_id("ed-1");
    let n_e = rsa.public_key().to_components();
    let point = es256.public_key().public_key().to_bytes_uncompressed();
    let jwks = json!({"keys": [
        {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": b64(&n_e.n), "e": b64(&n_e.e)},
        {"kty": "RSA", "kid": "ps-1", "use": "sig", "alg": "PS256", "n": b64(&n_e.n), "e": b64(&n_e.e)},
        {"kty": "EC", "crv": "P-256", "kid": "ec-1", "x": b64(&point[1..33]), "y": b64(&point[33..])},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": b64(&ed25519.public_key().to_bytes())},
    ]});
    let keys = KeySet::parse(jwks.to_string().as_bytes()).unwrap();
    let policy = Policy {
        issuer: ISSUER.into(),
        audiences: vec![AUDIENCE.into()],
        leeway_seconds: 60,
        max_token_bytes: 16 * 1024,
        algorithms: AlgorithmSet::ALL,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tokens = [
        ("RS256", rsa.sign(claims()).unwrap()),
        ("PS256", ps256.sign(claims()).unwrap()),
        ("ES256", es256.sign(claims()).unwrap()),
        ("EdDSA", ed25519.sign(claims()).unwrap()),
    ];

    let mut group = c.benchmark_group("verify");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (alg, jwt) in &tokens {
        token::verify(jwt, &keys, &policy, now).expect("the token verifies");
        group.bench_function(*alg, |b| {
            b.iter(|| token::verify(black_box(jwt), &keys, &policy, now).is_ok())
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
