use serde_json::{json, Value};

use super::*;
use crate::test_support::*;

/// The first candidate (the key a set of one key per `kid` would pick).
fn select(
    set: &KeySet,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<VerifyingKey, KeySelectionError> {
    set.candidates(alg, kid)?
        .next()
        .expect("candidates yield at least one key")
}

/// The RSA modulus of each candidate, in order (`None` for an unusable one).
fn rsa_candidates(
    set: &KeySet,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<Vec<Option<Vec<u8>>>, KeySelectionError> {
    Ok(set
        .candidates(alg, kid)?
        .map(|key| match key {
            Ok(VerifyingKey::RS256(k)) => Some(k.to_components().n),
            Ok(VerifyingKey::PS256(k)) => Some(k.to_components().n),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(KeySelectionError::UnusableKey) => None,
            Err(err) => panic!("unexpected {err:?}"),
        })
        .collect())
}

fn modulus(kp: &RS256KeyPair) -> Option<Vec<u8>> {
    Some(kp.public_key().to_components().n)
}

/// The JWK without its `kid`.
fn unlabelled(mut jwk: Value) -> Value {
    jwk.as_object_mut().unwrap().remove("kid");
    jwk
}

#[test]
fn parses_one_key_of_each_type() {
    let set = key_set(&jwks_value());
    assert_eq!(set.len(), 4);
    assert!(set.contains_kid("rsa-1") && set.contains_kid("ed-1"));
    assert_eq!(
        select(&set, Algorithm::RS256, Some("rsa-1"))
            .unwrap()
            .algorithm(),
        Algorithm::RS256
    );
    assert_eq!(
        select(&set, Algorithm::ES256, Some("ec-1"))
            .unwrap()
            .algorithm(),
        Algorithm::ES256
    );
    assert_eq!(
        select(&set, Algorithm::ES384, Some("ec-384"))
            .unwrap()
            .algorithm(),
        Algorithm::ES384
    );
    assert_eq!(
        select(&set, Algorithm::EdDSA, Some("ed-1"))
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
        select(&set, Algorithm::PS256, Some("rsa-1")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    assert_eq!(
        select(&set, Algorithm::RS512, Some("rsa-1")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    // ES256 header on the RSA key and the reverse.
    assert_eq!(
        select(&set, Algorithm::ES256, Some("rsa-1")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    assert_eq!(
        select(&set, Algorithm::RS256, Some("ec-1")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    assert_eq!(
        select(&set, Algorithm::ES384, Some("ec-1")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    assert_eq!(
        select(&set, Algorithm::RS256, Some("missing")).unwrap_err(),
        KeySelectionError::UnknownKey
    );
    assert_eq!(
        select(&set, Algorithm::RS256, Some("")).unwrap_err(),
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
        assert_eq!(select(&set, alg, Some("r")).unwrap().algorithm(), alg);
    }
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        assert_eq!(
            select(&set, alg, Some("r")).unwrap_err(),
            KeySelectionError::AlgorithmMismatch
        );
    }
}

#[test]
fn without_kid_every_fitting_key_is_a_candidate() {
    let k = keys();
    let single = key_set(&json!({"keys": [rsa_jwk(&k.rsa, "a", None), ed_jwk(&k.ed25519, "e")]}));
    assert!(select(&single, Algorithm::RS256, None).is_ok());
    assert!(select(&single, Algorithm::EdDSA, None).is_ok());
    assert_eq!(
        select(&single, Algorithm::ES256, None).unwrap_err(),
        KeySelectionError::UnknownKey
    );
    // Two RSA keys (labelled or not) and a token without `kid`: both are tried, in
    // set order; the Ed25519 key is not.
    let two = key_set(&json!({"keys": [
        rsa_jwk(&k.rsa, "a", None),
        ed_jwk(&k.ed25519, "e"),
        unlabelled(rsa_jwk(&k.rsa_other, "b", None)),
    ]}));
    assert_eq!(
        rsa_candidates(&two, Algorithm::RS256, None),
        Ok(vec![modulus(&k.rsa), modulus(&k.rsa_other)])
    );
    assert!(!two
        .candidates(Algorithm::RS256, None)
        .unwrap()
        .kid_unmatched());
}

#[test]
fn keys_under_one_kid_are_all_candidates_in_set_order() {
    // Rotation: the old and the new key published under the same `kid`.
    let k = keys();
    let set = key_set(&json!({"keys": [
        rsa_jwk(&k.rsa, "k", Some("RS256")),
        ec_jwk(&k.es256.public_key().public_key().to_bytes_uncompressed(), "P-256", "k"),
        rsa_jwk(&k.rsa_other, "k", None),
        rsa_jwk(&k.rsa, "other", None),
        unlabelled(rsa_jwk(&k.rsa, "", None)),
    ]}));
    assert_eq!(
        rsa_candidates(&set, Algorithm::RS256, Some("k")),
        Ok(vec![modulus(&k.rsa), modulus(&k.rsa_other)])
    );
    // The first key is pinned to RS256 by its JWK `alg`: PS256 may use the other only.
    assert_eq!(
        rsa_candidates(&set, Algorithm::PS256, Some("k")),
        Ok(vec![modulus(&k.rsa_other)])
    );
    // The EC key under the same `kid` is the only ES256 candidate.
    let es: Vec<_> = set
        .candidates(Algorithm::ES256, Some("k"))
        .unwrap()
        .map(|key| key.unwrap().algorithm())
        .collect();
    assert_eq!(es, [Algorithm::ES256]);
    // The `kid` names keys, none of them Ed25519 (and none in the set is).
    assert_eq!(
        select(&set, Algorithm::EdDSA, Some("k")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
}

#[test]
fn unknown_kid_falls_back_to_keys_without_kid_only() {
    let k = keys();
    let set = key_set(&json!({"keys": [
        rsa_jwk(&k.rsa, "a", None),
        unlabelled(rsa_jwk(&k.rsa_other, "", None)),
        ec_jwk(&k.es256.public_key().public_key().to_bytes_uncompressed(), "P-256", "e"),
    ]}));
    // A `kid` no key carries: the unlabelled key only, never the one labelled "a".
    assert_eq!(
        rsa_candidates(&set, Algorithm::RS256, Some("new")),
        Ok(vec![modulus(&k.rsa_other)])
    );
    assert!(set
        .candidates(Algorithm::RS256, Some("new"))
        .unwrap()
        .kid_unmatched());
    // A `kid` a key carries: that key only, not the unlabelled one.
    assert_eq!(
        rsa_candidates(&set, Algorithm::RS256, Some("a")),
        Ok(vec![modulus(&k.rsa)])
    );
    assert!(!set
        .candidates(Algorithm::RS256, Some("a"))
        .unwrap()
        .kid_unmatched());
    // ... even when it does not fit the algorithm: no fallback to the unlabelled RSA key.
    assert_eq!(
        select(&set, Algorithm::RS256, Some("e")).unwrap_err(),
        KeySelectionError::AlgorithmMismatch
    );
    // An unknown `kid` and no unlabelled key of the token's type.
    assert_eq!(
        select(&set, Algorithm::ES256, Some("new")).unwrap_err(),
        KeySelectionError::UnknownKey
    );
    // Every key labelled: an unknown `kid` has no candidate (the gate refetches).
    let labelled = key_set(&jwks_value());
    assert_eq!(
        select(&labelled, Algorithm::RS256, Some("new")).unwrap_err(),
        KeySelectionError::UnknownKey
    );
}

#[test]
fn candidates_never_outnumber_the_keys() {
    let jwk = rsa_jwk(&keys().rsa, "k", None);
    let many: Vec<_> = (0..200).map(|_| jwk.clone()).collect();
    let set = key_set(&json!({ "keys": many }));
    for kid in [Some("k"), None] {
        let candidates = set.candidates(Algorithm::RS256, kid).unwrap();
        assert_eq!(candidates.size_hint(), (0, Some(MAX_KEYS)));
        assert_eq!(candidates.count(), MAX_KEYS);
    }
}

#[test]
fn an_unusable_key_under_the_kid_does_not_hide_the_next() {
    let k = keys();
    let set = key_set(&json!({"keys": [
        {"kty": "RSA", "kid": "k", "n": b64(&[0xc5; 128]), "e": "AQAB"},
        rsa_jwk(&k.rsa, "k", None),
    ]}));
    assert_eq!(
        rsa_candidates(&set, Algorithm::RS256, Some("k")),
        Ok(vec![None, modulus(&k.rsa)])
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
        select(&set, Algorithm::EdDSA, Some("shared"))
            .unwrap()
            .algorithm(),
        Algorithm::EdDSA
    );
    assert_eq!(
        select(&set, Algorithm::RS256, Some("shared"))
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
            select(&set, Algorithm::RS256, Some(kid)).unwrap_err(),
            KeySelectionError::UnusableKey,
            "{kid}"
        );
    }
    assert_eq!(
        select(&set, Algorithm::ES256, Some("off-curve")).unwrap_err(),
        KeySelectionError::UnusableKey
    );
    assert_eq!(
        select(&set, Algorithm::ES256, Some("short-x")).unwrap_err(),
        KeySelectionError::UnusableKey
    );
    assert_eq!(
        select(&set, Algorithm::EdDSA, Some("ed-short")).unwrap_err(),
        KeySelectionError::UnusableKey
    );
    assert_eq!(
        select(&set, Algorithm::RS256, Some("not-b64")).unwrap_err(),
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

#[test]
fn the_fingerprint_covers_every_byte_of_the_document() {
    let document = jwks_value().to_string();
    let spaced = document.replacen(':', ": ", 1);
    let a = KeySet::parse(document.as_bytes()).unwrap();
    let b = KeySet::parse(spaced.as_bytes()).unwrap();
    assert_eq!(a, KeySet::parse(document.as_bytes()).unwrap());
    assert_eq!(a.len(), b.len());
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_eq!(
        a.fingerprint(),
        &hmac_sha256::Hash::hash(document.as_bytes())
    );
}
