//! Fuzzer-chosen header and claims, really signed with the committed Ed25519 key
//! (`ed-1`), so that the claim checks behind the signature are reached. Input:
//! `<header JSON>\n<claims JSON>`. Asserts: no panic, and an accepted token
//! satisfies the policy when checked independently on `serde_json::Value`s:
//! `alg` EdDSA/Ed25519, no `crit`, `kid` absent or `ed-1`; `exp` present and not
//! past `NOW` beyond the leeway; `nbf`/`iat` not in the future beyond it; `iss`
//! exact; `aud` containing the audience; subject, expiry and scopes as reported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wasmcp_spin_authkit::token;
use wasmcp_spin_authkit_fuzz as fx;

fn seconds(v: &Value) -> Option<u64> {
    let f = v.as_f64()?;
    (0.0..=253_402_300_799.0).contains(&f).then_some(f as u64)
}

fuzz_target!(|data: &[u8]| {
    let (header, claims) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let input = format!("{}.{}", fx::b64(header), fx::b64(claims));
    let key_pair = fx::ed25519_key_pair();
    let signature = key_pair.sk.sign(input.as_bytes(), None);
    let jws = format!("{input}.{}", fx::b64(signature.as_ref()));

    let Ok(verified) = token::verify(&jws, fx::key_set(), &fx::policy(), fx::NOW) else {
        return;
    };
    let header: Value = serde_json::from_slice(header).expect("accepted: header is JSON");
    let claims: Value = serde_json::from_slice(claims).expect("accepted: claims are JSON");
    let (Some(header), Some(claims)) = (header.as_object(), claims.as_object()) else {
        panic!("accepted non-object header or claims: {jws}");
    };
    assert!(
        matches!(
            header.get("alg").and_then(Value::as_str),
            Some("EdDSA" | "Ed25519")
        ),
        "{jws}"
    );
    assert!(!header.contains_key("crit"), "{jws}");
    assert!(
        matches!(header.get("kid"), None | Some(Value::Null))
            || header.get("kid").and_then(Value::as_str) == Some("ed-1"),
        "{jws}"
    );

    let exp = claims
        .get("exp")
        .and_then(seconds)
        .expect("accepted without exp");
    assert!(exp + fx::LEEWAY >= fx::NOW, "expired token accepted: {jws}");
    assert_eq!(verified.expires_at, exp);
    for name in ["nbf", "iat"] {
        match claims.get(name) {
            None | Some(Value::Null) => {}
            Some(v) => {
                let t = seconds(v).unwrap_or_else(|| panic!("bad {name} accepted: {jws}"));
                assert!(t <= fx::NOW + fx::LEEWAY, "future {name} accepted: {jws}");
            }
        }
    }
    assert_eq!(
        claims.get("iss").and_then(Value::as_str),
        Some(fx::ISSUER),
        "{jws}"
    );
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == fx::AUDIENCE,
        Some(Value::Array(a)) => a.iter().any(|a| a.as_str() == Some(fx::AUDIENCE)),
        _ => false,
    };
    assert!(audience_ok, "wrong audience accepted: {jws}");
    assert_eq!(
        verified.subject.as_deref(),
        claims.get("sub").and_then(Value::as_str)
    );
    // Granted: `scope` (string or array of strings) when present, else `scp`.
    let claim = match claims.get("scope") {
        Some(Value::Null) | None => claims.get("scp"),
        scope => scope,
    };
    for scope in &verified.scopes {
        let granted = match claim {
            Some(Value::String(s)) => s.split(' ').any(|s| s == scope),
            Some(Value::Array(list)) => list.iter().any(|s| s.as_str() == Some(scope)),
            _ => false,
        };
        assert!(granted, "scope {scope:?} not granted: {jws}");
    }
});
