use serde_json::json;

use super::*;
use crate::test_support::*;

#[test]
fn parses_one_key_of_each_type() {
    let set = key_set(&jwks_value());
    assert_eq!(set.len(), 4);
    assert!(set.contains_kid("rsa-1") && set.contains_kid("ed-1"));
    assert_eq!(
        set.select(Algorithm::RS256, Some("rsa-1"))
            .unwrap()
            .algorithm(),
        Algorithm::RS256
    );
    assert_eq!(
        set.select(Algorithm::ES256, Some("ec-256"))
            .unwrap()
            .algorithm(),
        Algorithm::ES256
    );
    assert_eq!(
        set.select(Algorithm::ES384, Some("ec-384"))
            .unwrap()
            .algorithm(),
        Algorithm::ES384
    );
    assert_eq!(
        set.select(Algorithm::EdDSA, Some("ed-1"))
            .unwrap()
            .algorithm(),
        Algorithm::EdDSA
    );
}

#[test]
fn documents_that_are_not_key_sets() {
    for doc in [
        &b"<html>nope</html>"[..],
        b"{}",
        b"[]",
        b"{\"keys\": {}}",
        b"null",
        b"",
    ] {
        assert_eq!(KeySet::parse(doc), Err(JwksError::NotAKeySet), "{doc:?}");
    }
    assert_eq!(
        KeySet::parse(b"{\"keys\": []}"),
        Err(JwksError::NoUsableKeys)
    );
}

#[test]
fn skips_keys_we_cannot_verify_with() {
    let k = keys();
    let rsa = rsa_jwk(&k.rsa, "good", None);
    let mut enc = rsa_jwk(&k.rsa, "enc", None);
    enc["use"] = json!("enc");
    let mut no_verify = rsa_jwk(&k.rsa, "ops", None);
    no_verify["key_ops"] = json!(["encrypt"]);
    let mut private = rsa_jwk(&k.rsa, "private", None);
    private["d"] = json!("AQAB");
    let mut hmac_alg = rsa_jwk(&k.rsa, "hs", Some("HS256"));
    hmac_alg["kty"] = json!("RSA");
    let mut wrong_alg = rsa_jwk(&k.rsa, "es-on-rsa", Some("ES256"));
    wrong_alg["use"] = json!("sig");
    let set = key_set(&json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
        {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521"},
        {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA", "kid": "k1"},
        {"kty": "OKP", "crv": "X25519", "x": "AA", "kid": "x25519"},
        {"kty": "RSA", "kid": "no-n", "e": "AQAB"},
        {"kid": "no-kty"},
        "not an object",
        enc, no_verify, private, hmac_alg, wrong_alg, rsa,
    ]}));
    assert_eq!(set.len(), 1);
    assert!(set.contains_kid("good"));
}

#[test]
fn kid_selects_and_key_pins_the_algorithm() {
    let set = key_set(&jwks_value());
    // The JWK says RS256: PS256 and RS512 on that key are refused.
    assert_eq!(
        set.select(Algorithm::PS256, Some("rsa-1")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    assert_eq!(
        set.select(Algorithm::RS512, Some("rsa-1")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    // ES256 header on the RSA key and the reverse.
    assert_eq!(
        set.select(Algorithm::ES256, Some("rsa-1")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    assert_eq!(
        set.select(Algorithm::RS256, Some("ec-256")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    assert_eq!(
        set.select(Algorithm::ES384, Some("ec-256")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    assert_eq!(
        set.select(Algorithm::RS256, Some("missing")).unwrap_err(),
        KeySelectionError::UnknownKey
    );
    assert_eq!(
        set.select(Algorithm::RS256, Some("")).unwrap_err(),
        KeySelectionError::UnknownKey
    );
}

#[test]
fn rsa_key_without_alg_serves_the_rsa_family_only() {
    let set = key_set(&json!({"keys": [rsa_jwk(&keys().rsa, "r", None)]}));
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        assert_eq!(set.select(alg, Some("r")).unwrap().algorithm(), alg);
    }
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        assert_eq!(
            set.select(alg, Some("r")).unwrap_err(),
            KeySelectionError::AlgorithmMismatch
        );
    }
}

#[test]
fn without_kid_only_a_single_fitting_key_is_used() {
    let k = keys();
    let single = key_set(&json!({"keys": [rsa_jwk(&k.rsa, "a", None), ed_jwk(&k.ed25519, "e")]}));
    assert!(single.select(Algorithm::RS256, None).is_ok());
    assert!(single.select(Algorithm::EdDSA, None).is_ok());
    assert_eq!(
        single.select(Algorithm::ES256, None).unwrap_err(),
        KeySelectionError::UnknownKey
    );
    let two =
        key_set(&json!({"keys": [rsa_jwk(&k.rsa, "a", None), rsa_jwk(&k.rsa_other, "b", None)]}));
    assert_eq!(
        two.select(Algorithm::RS256, None).unwrap_err(),
        KeySelectionError::AmbiguousKey
    );
}

#[test]
fn same_kid_on_two_key_types_picks_the_fitting_one() {
    let k = keys();
    let set = key_set(&json!({"keys": [
        rsa_jwk(&k.rsa, "shared", Some("RS256")),
        ed_jwk(&k.ed25519, "shared"),
    ]}));
    assert_eq!(
        set.select(Algorithm::EdDSA, Some("shared"))
            .unwrap()
            .algorithm(),
        Algorithm::EdDSA
    );
    assert_eq!(
        set.select(Algorithm::RS256, Some("shared"))
            .unwrap()
            .algorithm(),
        Algorithm::RS256
    );
}

#[test]
fn weak_or_broken_material_is_unusable() {
    // 1024-bit modulus: under RFC 8725 / jwt-simple's 2048-bit floor.
    let short_n = b64(&[0xc5; 128]);
    let set = key_set(&json!({"keys": [
        {"kty": "RSA", "kid": "short", "n": short_n, "e": "AQAB"},
        {"kty": "RSA", "kid": "e3", "n": rsa_jwk(&keys().rsa, "x", None)["n"], "e": "Aw"},
        {"kty": "EC", "crv": "P-256", "kid": "off-curve", "x": b64(&[1; 32]), "y": b64(&[2; 32])},
        {"kty": "EC", "crv": "P-256", "kid": "short-x", "x": b64(&[1; 31]), "y": b64(&[2; 32])},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed-short", "x": b64(&[1; 31])},
        {"kty": "RSA", "kid": "not-b64", "n": "!!!", "e": "AQAB"},
    ]}));
    for kid in ["short", "e3"] {
        assert_eq!(
            set.select(Algorithm::RS256, Some(kid)).unwrap_err(),
            KeySelectionError::UnusableKey,
            "{kid}"
        );
    }
    assert_eq!(
        set.select(Algorithm::ES256, Some("off-curve")).unwrap_err(),
        KeySelectionError::UnusableKey
    );
    assert_eq!(
        set.select(Algorithm::ES256, Some("short-x")).unwrap_err(),
        KeySelectionError::UnusableKey
    );
    assert_eq!(
        set.select(Algorithm::EdDSA, Some("ed-short")).unwrap_err(),
        KeySelectionError::UnusableKey
    );
    assert_eq!(
        set.select(Algorithm::RS256, Some("not-b64")).unwrap_err(),
        KeySelectionError::UnusableKey
    );
}

#[test]
fn key_count_is_bounded() {
    let jwk = rsa_jwk(&keys().rsa, "k", None);
    let many: Vec<_> = (0..200).map(|_| jwk.clone()).collect();
    assert_eq!(key_set(&json!({ "keys": many })).len(), MAX_KEYS);
}

#[test]
fn algorithm_names_round_trip() {
    for alg in Algorithm::ALL {
        assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
    }
    assert_eq!(Algorithm::from_name("Ed25519"), Some(Algorithm::EdDSA));
    for refused in [
        "none", "None", "NONE", "HS256", "HS384", "HS512", "ES512", "rs256", "", "RSA-OAEP",
    ] {
        assert_eq!(Algorithm::from_name(refused), None, "{refused}");
    }
}
