//! Writes the fuzzing fixtures: `fixtures/jwks.json` (public keys: RSA with and
//! without a JWK `alg`, EC P-256, EC P-384, Ed25519), `fixtures/tokens.txt` (tokens
//! valid at `fuzz::NOW` for `fuzz::policy()`, one per line) and the Ed25519 key pair
//! that `token_claims` signs with. Test keys only: they protect nothing.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example gen_fixtures
//!
//! Regenerating changes every token: refresh the seed corpora afterwards.

use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};
use wasmcp_spin_authkit_fuzz as fx;

fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

fn claims(extra: Value) -> JWTClaims<Map<String, Value>> {
    let mut claims = JWTClaims {
        issued_at: Some(UnixTimeStamp::from_secs(fx::NOW - 10)),
        expires_at: Some(UnixTimeStamp::from_secs(fx::NOW + 300)),
        invalid_before: None,
        issuer: Some(fx::ISSUER.into()),
        subject: Some("user_123".into()),
        audiences: Some(Audiences::AsString(fx::AUDIENCE.into())),
        jwt_id: None,
        nonce: None,
        custom: extra.as_object().unwrap().clone(),
    };
    if let Some(Value::Array(auds)) = claims.custom.remove("aud") {
        claims.audiences = Some(Audiences::AsSet(
            auds.iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
        ));
    }
    if let Some(nbf) = claims.custom.remove("nbf") {
        claims.invalid_before = Some(UnixTimeStamp::from_secs(nbf.as_u64().unwrap()));
    }
    claims
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let rsa1 = RS256KeyPair::generate(2048).unwrap().with_key_id("rsa-1");
    let rsa2 = RS256KeyPair::generate(2048).unwrap();
    let ps256 = PS256KeyPair::from_der(&rsa2.to_der().unwrap())
        .unwrap()
        .with_key_id("rsa-2");
    let rs512 = RS512KeyPair::from_der(&rsa2.to_der().unwrap())
        .unwrap()
        .with_key_id("rsa-2");
    let es256 = ES256KeyPair::generate().with_key_id("ec-256");
    let es384 = ES384KeyPair::generate().with_key_id("ec-384");
    let ed = Ed25519KeyPair::generate().with_key_id("ed-1");
    let ed_nokid = Ed25519KeyPair::from_bytes(&ed.to_bytes()).unwrap();

    let rsa_jwk = |kp: &RS256KeyPair, kid: &str| {
        let c = kp.public_key().to_components();
        json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&c.n), "e": b64(&c.e)})
    };
    let ec_jwk = |point: Vec<u8>, crv: &str, kid: &str| {
        let size = (point.len() - 1) / 2;
        json!({"kty": "EC", "crv": crv, "kid": kid,
               "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..])})
    };
    let mut rsa1_jwk = rsa_jwk(&rsa1, "rsa-1");
    rsa1_jwk["alg"] = json!("RS256");
    let jwks = json!({"keys": [
        rsa1_jwk,
        rsa_jwk(&rsa2, "rsa-2"),
        ec_jwk(es256.public_key().public_key().to_bytes_uncompressed(), "P-256", "ec-256"),
        ec_jwk(es384.public_key().public_key().to_bytes_uncompressed(), "P-384", "ec-384"),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "use": "sig",
               "x": b64(&ed.public_key().to_bytes())}),
    ]});
    std::fs::write(
        dir.join("jwks.json"),
        serde_json::to_string_pretty(&jwks).unwrap() + "\n",
    )
    .unwrap();

    let scoped = json!({"scope": "mcp:read mcp:write"});
    let tokens = [
        rsa1.sign(claims(scoped.clone())).unwrap(),
        ps256
            .sign(claims(json!({"aud": [fx::AUDIENCE, "https://other.test"]})))
            .unwrap(),
        rs512.sign(claims(scoped.clone())).unwrap(),
        es256
            .sign(claims(json!({"scp": ["mcp:read"], "nbf": fx::NOW - 5})))
            .unwrap(),
        es384.sign(claims(scoped.clone())).unwrap(),
        ed.sign(claims(scoped)).unwrap(),
        ed_nokid.sign(claims(json!({"scp": "mcp:read"}))).unwrap(),
    ];
    std::fs::write(dir.join("tokens.txt"), tokens.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("ed25519-ed-1.key"), b64(&ed.to_bytes()) + "\n").unwrap();
    println!("wrote {}", dir.display());
}
