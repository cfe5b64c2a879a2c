use jwt_simple::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::test_support::*;

fn set() -> KeySet {
    key_set(&jwks_value())
}

fn rsa_token(extra: Value) -> String {
    keys().rsa.sign(claims(extra)).unwrap()
}

fn check(token: &str) -> Result<VerifiedToken, TokenError> {
    verify(token, &set(), &policy(), NOW)
}

#[test]
fn accepts_each_supported_algorithm() {
    let k = keys();
    let c = || claims(json!({}));
    let tokens = [
        k.rsa.sign(c()).unwrap(),
        k.es256.sign(c()).unwrap(),
        k.es384.sign(c()).unwrap(),
        k.ed25519.sign(c()).unwrap(),
    ];
    for token in tokens {
        let verified = check(&token).unwrap();
        assert_eq!(verified.subject.as_deref(), Some("user_123"));
        assert_eq!(verified.expires_at, NOW + 300);
    }
}

#[test]
fn accepts_pss_and_larger_hashes_on_an_rsa_key_without_alg() {
    let k = keys();
    let der = k.rsa.to_der().unwrap();
    let set = key_set(&json!({"keys": [rsa_jwk(&k.rsa, "rsa-1", None)]}));
    let tokens = [
        PS256KeyPair::from_der(&der)
            .unwrap()
            .with_key_id("rsa-1")
            .sign(claims(json!({})))
            .unwrap(),
        PS384KeyPair::from_der(&der)
            .unwrap()
            .with_key_id("rsa-1")
            .sign(claims(json!({})))
            .unwrap(),
        PS512KeyPair::from_der(&der)
            .unwrap()
            .with_key_id("rsa-1")
            .sign(claims(json!({})))
            .unwrap(),
        RS384KeyPair::from_der(&der)
            .unwrap()
            .with_key_id("rsa-1")
            .sign(claims(json!({})))
            .unwrap(),
        RS512KeyPair::from_der(&der)
            .unwrap()
            .with_key_id("rsa-1")
            .sign(claims(json!({})))
            .unwrap(),
    ];
    for token in tokens {
        verify(&token, &set, &policy(), NOW).unwrap();
    }
}

#[test]
fn pss_on_a_key_whose_jwk_says_rs256_is_refused() {
    let der = keys().rsa.to_der().unwrap();
    let token = PS256KeyPair::from_der(&der)
        .unwrap()
        .with_key_id("rsa-1")
        .sign(claims(json!({})))
        .unwrap();
    assert_eq!(check(&token), Err(TokenError::AlgorithmMismatch));
}

#[test]
fn signature_from_another_key_with_the_same_kid() {
    let token = keys().rsa_other.sign(claims(json!({}))).unwrap();
    assert_eq!(check(&token), Err(TokenError::BadSignature));
}

#[test]
fn tampered_payload_or_signature() {
    let token = rsa_token(json!({}));
    let (signing_input, sig) = token.rsplit_once('.').unwrap();
    let (header, _) = signing_input.split_once('.').unwrap();
    let payload = b64(serde_json::to_string(&claims(json!({"sub": "admin"})))
        .unwrap()
        .as_bytes());
    assert_eq!(
        check(&format!("{header}.{payload}.{sig}")),
        Err(TokenError::BadSignature)
    );
    let truncated = &sig[..sig.len() - 10];
    assert!(matches!(
        check(&format!("{signing_input}.{truncated}")),
        Err(TokenError::BadSignature)
    ));
    let mut flipped = sig.as_bytes().to_vec();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(
        check(&format!("{signing_input}.{flipped}")),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn header_changed_after_signing() {
    let token = rsa_token(json!({}));
    let forged = with_header(
        &token,
        &json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT", "x": 1}),
    );
    assert_eq!(check(&forged), Err(TokenError::BadSignature));
}

#[test]
fn alg_none_and_hmac_are_refused() {
    let token = rsa_token(json!({}));
    for alg in [
        "none", "None", "NONE", "nOnE", "HS256", "HS384", "HS512", "ES512", "RSA1_5", "",
    ] {
        let forged = with_header(&token, &json!({"alg": alg, "kid": "rsa-1"}));
        assert_eq!(
            check(&forged),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    // Unsecured JWS with an empty signature segment.
    let payload = token.split('.').nth(1).unwrap();
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none"}"#));
    assert_eq!(check(&none), Err(TokenError::Malformed));
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    let k = keys();
    let pem = k.rsa.public_key().to_pem().unwrap();
    let der = k.rsa.public_key().to_der().unwrap();
    let n = k.rsa.public_key().to_components().n;
    for secret in [pem.as_bytes(), &der[..], &n[..]] {
        let token = HS256Key::from_bytes(secret)
            .with_key_id("rsa-1")
            .authenticate(claims(json!({})))
            .unwrap();
        assert_eq!(check(&token), Err(TokenError::UnsupportedAlgorithm));
    }
}

#[test]
fn embedded_keys_in_the_header_are_never_trusted() {
    // An attacker signs with its own key and ships it in jwk/jku/x5u/x5c.
    let attacker = RS256KeyPair::generate(2048).unwrap().with_key_id("rsa-1");
    let jwk = rsa_jwk(&attacker, "rsa-1", Some("RS256"));
    let token = attacker.sign(claims(json!({}))).unwrap();
    assert_eq!(check(&token), Err(TokenError::BadSignature));
    for (name, value) in [
        ("jku", json!("https://evil.example/jwks")),
        ("x5u", json!("https://evil.example/cert")),
        ("x5c", json!(["MIIB"])),
        ("jwk", jwk),
    ] {
        let forged = with_header(
            &token,
            &json!({"alg": "RS256", "kid": "rsa-1", name: value}),
        );
        assert!(check(&forged).is_err(), "{name}");
    }
}

#[test]
fn crit_is_refused_even_when_empty() {
    let token = rsa_token(json!({}));
    for crit in [json!(["exp"]), json!(["b64"]), json!([])] {
        let forged = with_header(
            &token,
            &json!({"alg": "RS256", "kid": "rsa-1", "crit": crit}),
        );
        assert_eq!(check(&forged), Err(TokenError::UnsupportedCritical));
    }
}

#[test]
fn kid_unknown_empty_path_like_or_long() {
    let token = rsa_token(json!({}));
    for kid in ["nope", "", "../../etc/passwd", &"k".repeat(4000)] {
        let forged = with_header(&token, &json!({"alg": "RS256", "kid": kid}));
        assert_eq!(check(&forged), Err(TokenError::UnknownKey), "{}", kid.len());
    }
}

#[test]
fn garbage_and_malformed_shapes() {
    let token = rsa_token(json!({}));
    let (h, rest) = token.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    for bad in [
        "".to_owned(),
        "garbage".to_owned(),
        "a.b".to_owned(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.x"),
        format!("{h}.{p}.{s}.x.y"),
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}.{s}=="),
        format!("{}.{p}.{s}", h.replace('J', "+")),
        format!(
            "{h}.{p}.{}",
            s.replacen('-', "/", 1).replacen('_', "/", 1) + "/"
        ),
        format!(" {token}"),
        format!("{}.{p}.{s}", b64(b"not json")),
        format!("{}.{p}.{s}", b64(b"[1,2]")),
        format!("{}.{p}.{s}", b64(br#"{"kid":"rsa-1"}"#)),
        format!("{}.{p}.{s}", b64(br#"{"alg":"RS256","alg":"none"}"#)),
        format!(
            "{}.{p}.{s}",
            b64(br#"{"alg":"RS256","kid":"rsa-1","kid":"x"}"#)
        ),
    ] {
        let result = check(&bad);
        assert!(
            matches!(
                result,
                Err(TokenError::Malformed | TokenError::BadSignature)
            ),
            "{bad}: {result:?}"
        );
    }
}

#[test]
fn oversize_tokens_are_refused_before_parsing() {
    let token = rsa_token(json!({"pad": "x".repeat(20_000)}));
    assert_eq!(check(&token), Err(TokenError::TooLarge));
    assert_eq!(check(&"a".repeat(16 * 1024 + 1)), Err(TokenError::TooLarge));
}

#[test]
fn lifetime_rules_with_leeway() {
    assert_eq!(
        check(&rsa_token(json!({"exp": NOW - 61}))),
        Err(TokenError::Expired)
    );
    assert!(check(&rsa_token(json!({"exp": NOW - 59}))).is_ok());
    assert_eq!(
        check(&rsa_token(json!({"nbf": NOW + 61}))),
        Err(TokenError::NotYetValid)
    );
    assert!(check(&rsa_token(json!({"nbf": NOW + 59}))).is_ok());
    assert_eq!(
        check(&rsa_token(json!({"iat": NOW + 3600}))),
        Err(TokenError::NotYetValid)
    );
    assert_eq!(
        check(&rsa_token(json!({"exp": null}))),
        Err(TokenError::MissingExpiry)
    );
}

#[test]
fn odd_date_encodings() {
    assert!(check(&rsa_token(json!({"exp": (NOW + 100) as f64 + 0.5}))).is_ok());
    for exp in [
        json!("1900000000"),
        json!(-1),
        json!(1e300),
        json!(true),
        json!({"nested": 1}),
    ] {
        let result = check(&rsa_token(json!({ "exp": exp })));
        assert!(result.is_err(), "{exp}");
    }
    // Past year 9999 is an encoding error, never "valid forever".
    // (jwt-simple alone would wrap these to a date in 2106 and accept them.)
    for exp in [
        json!(1e12),
        json!(1e300),
        json!(18446744073709551615u64 as f64),
    ] {
        assert_eq!(
            check(&rsa_token(json!({ "exp": exp }))),
            Err(TokenError::InvalidClaims),
            "{exp}"
        );
    }
}

#[test]
fn issuer_must_match_exactly() {
    for iss in [
        "https://issuer.test/",
        "https://ISSUER.test",
        "https://evil.test",
        "",
    ] {
        assert_eq!(
            check(&rsa_token(json!({ "iss": iss }))),
            Err(TokenError::WrongIssuer),
            "{iss}"
        );
    }
    assert_eq!(
        check(&rsa_token(json!({"iss": null}))),
        Err(TokenError::WrongIssuer)
    );
    assert!(check(&rsa_token(json!({"iss": ["https://issuer.test"]}))).is_err());
}

#[test]
fn audience_string_or_array() {
    assert!(check(&rsa_token(json!({"aud": ["other", AUDIENCE]}))).is_ok());
    assert_eq!(
        check(&rsa_token(json!({"aud": "other"}))),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        check(&rsa_token(json!({"aud": ["a", "b"]}))),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        check(&rsa_token(json!({"aud": null}))),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        check(&rsa_token(json!({"aud": format!("{AUDIENCE}/")}))),
        Err(TokenError::WrongAudience)
    );
    // With no audience configured, any audience passes.
    let mut open = policy();
    open.audiences.clear();
    assert!(verify(&rsa_token(json!({"aud": "other"})), &set(), &open, NOW).is_ok());
}

#[test]
fn duplicate_claims_are_refused() {
    // jwt-simple cannot sign arbitrary bytes, so check our claims parser directly.
    let payload = format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{},"exp":{}}}"#,
        NOW + 300,
        NOW - 3000
    );
    let parsed: Result<super::Claims, _> = serde_json::from_str(&payload);
    assert!(parsed.is_err());
}

#[test]
fn error_descriptions_never_echo_input() {
    for err in [
        TokenError::TooLarge,
        TokenError::Malformed,
        TokenError::UnsupportedAlgorithm,
        TokenError::UnknownKey,
        TokenError::BadSignature,
        TokenError::Expired,
    ] {
        let d = err.description();
        assert!(d.is_ascii() && !d.contains('"') && !d.contains('\\'));
    }
}

/// Signs the exact header and payload texts with the Ed25519 key `ed-1`
/// (jwt-simple cannot produce duplicates or arbitrary headers).
fn sign_raw(header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = keys()
        .ed25519
        .key_pair()
        .as_ref()
        .sk
        .sign(input.as_bytes(), None);
    format!("{input}.{}", b64(&sig[..]))
}

/// Valid claims text followed by `rest` verbatim.
fn raw_claims(rest: &str) -> String {
    format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}{rest}}}"#,
        NOW + 300
    )
}

const ED_HEADER: &str = r#"{"alg":"EdDSA","kid":"ed-1"}"#;

#[test]
fn duplicate_members_are_refused_at_any_depth() {
    assert!(check(&sign_raw(ED_HEADER, &raw_claims(""))).is_ok());
    for dup in [
        r#","role":"user","role":"admin""#,
        r#","act":{"sub":"a","sub":"b"}"#,
        r#","x":[{"a":1,"a":2}]"#,
        r#","r":1,"\u0072":2"#,
    ] {
        assert_eq!(
            check(&sign_raw(ED_HEADER, &raw_claims(dup))),
            Err(TokenError::InvalidClaims),
            "{dup}"
        );
    }
    for header in [
        r#"{"alg":"EdDSA","kid":"ed-1","x":1,"x":2}"#,
        r#"{"alg":"EdDSA","kid":"ed-1","typ":"JWT","typ":"JWT"}"#,
    ] {
        assert_eq!(
            check(&sign_raw(header, &raw_claims(""))),
            Err(TokenError::Malformed),
            "{header}"
        );
    }
}

#[test]
fn typ_must_name_an_access_token() {
    let with_typ = |typ: Value| {
        let mut header = json!({"alg": "EdDSA", "kid": "ed-1"});
        if !typ.is_null() {
            header["typ"] = typ;
        }
        check(&sign_raw(&header.to_string(), &raw_claims("")))
    };
    for typ in ["JWT", "jwt", "at+jwt", "AT+JWT", "Application/AT+JWT"] {
        assert!(with_typ(json!(typ)).is_ok(), "{typ}");
    }
    assert!(with_typ(Value::Null).is_ok());
    for typ in [
        "logout+jwt",
        "secevent+jwt",
        "dpop+jwt",
        "application/logout+jwt",
        "application/jwt",
        "JOSE",
        "application/",
        "",
        "at+jwt ",
    ] {
        assert_eq!(
            with_typ(json!(typ)),
            Err(TokenError::UnsupportedType),
            "{typ}"
        );
    }
    assert_eq!(with_typ(json!(1)), Err(TokenError::Malformed));
}

#[test]
fn headers_the_verifier_cannot_read_are_malformed_before_any_key_lookup() {
    // RFC 7517 makes `jwk` an object; jwt-simple types it as a string.
    let header = json!({"alg": "EdDSA", "kid": "ed-1", "jwk": ed_jwk(&keys().ed25519, "ed-1")});
    let token = sign_raw(&header.to_string(), &raw_claims(""));
    assert_eq!(parse(&token, &policy()).err(), Some(TokenError::Malformed));
}

// --- Scopes: `scope`, else `scp`; a space-separated string or an array of strings.

fn scopes_of(extra: Value) -> Result<Vec<String>, TokenError> {
    check(&rsa_token(extra)).map(|verified| verified.scopes)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn scope_as_a_string_or_an_array_of_strings() {
    assert_eq!(
        scopes_of(json!({"scope": "openid  mcp:tools "})),
        Ok(strings(&["openid", "mcp:tools"]))
    );
    assert_eq!(
        scopes_of(json!({"scope": ["openid", "mcp:tools"]})),
        Ok(strings(&["openid", "mcp:tools"]))
    );
    assert_eq!(scopes_of(json!({"scope": []})), Ok(vec![]));
    assert_eq!(scopes_of(json!({"scope": ""})), Ok(vec![]));
    assert_eq!(scopes_of(json!({})), Ok(vec![]));
    // Array items are whole scopes: not split, and only exact matches count.
    let verified = check(&rsa_token(json!({"scope": ["a b", "", "mcp:tools"]}))).unwrap();
    assert_eq!(verified.scopes, strings(&["a b", "mcp:tools"]));
    assert!(verified.has_scopes(&strings(&["mcp:tools"])));
    assert!(!verified.has_scopes(&strings(&["a"])));
    // Only U+0020 separates (RFC 6749 §3.3).
    assert_eq!(scopes_of(json!({"scope": "a\tb"})), Ok(strings(&["a\tb"])));
}

#[test]
fn scp_as_a_string_or_an_array_of_strings() {
    // Azure AD: a space-separated string; Okta: an array.
    assert_eq!(
        scopes_of(json!({"scp": "User.Read Mail.Send"})),
        Ok(strings(&["User.Read", "Mail.Send"]))
    );
    assert_eq!(
        scopes_of(json!({"scp": ["openid", "mcp:tools"]})),
        Ok(strings(&["openid", "mcp:tools"]))
    );
}

#[test]
fn scope_when_present_wins_over_scp() {
    for (claims, granted) in [
        (json!({"scope": "a", "scp": ["b"]}), &["a"][..]),
        (json!({"scope": ["a"], "scp": "b c"}), &["a"]),
        // Present but empty: no scopes, `scp` is not consulted.
        (json!({"scope": "", "scp": "b"}), &[]),
        (json!({"scope": [], "scp": ["b"]}), &[]),
        // `null` counts as absent, like every other claim.
        (json!({"scope": null, "scp": "b"}), &["b"]),
    ] {
        let verified = check(&rsa_token(claims.clone())).unwrap();
        assert_eq!(verified.scopes, strings(granted), "{claims}");
        assert!(!verified.has_scopes(&strings(&["a", "b"])), "{claims}");
    }
}

#[test]
fn scope_claims_of_other_types_make_the_token_invalid() {
    for name in ["scope", "scp"] {
        for value in [
            json!(1),
            json!(1.5),
            json!(true),
            json!({}),
            json!({"a": "b"}),
            json!([1]),
            json!(["a", 1]),
            json!([["a"]]),
            json!(["a", null]),
            json!(["a", {"b": "c"}]),
        ] {
            assert_eq!(
                check(&rsa_token(json!({ name: value }))),
                Err(TokenError::InvalidClaims),
                "{name}: {value}"
            );
        }
    }
    // Ill-typed `scp` next to a good `scope`: still refused (parsed strictly).
    assert_eq!(
        check(&rsa_token(json!({"scope": "a", "scp": 1}))),
        Err(TokenError::InvalidClaims)
    );
}

// --- Key candidates: rotation under one `kid`, keys without `kid`.

/// The JWK without its `kid`.
fn unlabelled(mut jwk: Value) -> Value {
    jwk.as_object_mut().unwrap().remove("kid");
    jwk
}

/// The RS256 key pair `kp` with another `kid`, or none.
fn relabelled(kp: &RS256KeyPair, kid: Option<&str>) -> RS256KeyPair {
    let kp = RS256KeyPair::from_der(&kp.to_der().unwrap()).unwrap();
    match kid {
        Some(kid) => kp.with_key_id(kid),
        None => kp,
    }
}

fn check_with(token: &str, set: &Value) -> Result<VerifiedToken, TokenError> {
    verify(token, &key_set(set), &policy(), NOW)
}

#[test]
fn two_rsa_keys_under_one_kid_and_the_second_signed() {
    let k = keys();
    let set = json!({"keys": [
        rsa_jwk(&k.rsa_other, "rsa-1", Some("RS256")),
        rsa_jwk(&k.rsa, "rsa-1", Some("RS256")),
    ]});
    let token = rsa_token(json!({}));
    assert_eq!(
        check_with(&token, &set).map(|v| v.subject),
        Ok(Some("user_123".into()))
    );
    // Signed by neither: every candidate tried, the signature is bad.
    let stranger = RS256KeyPair::generate(2048).unwrap().with_key_id("rsa-1");
    assert_eq!(
        check_with(&stranger.sign(claims(json!({}))).unwrap(), &set),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn claims_are_judged_once_a_candidate_verifies() {
    // The second key signed: its verdict on the claims is final, not "bad signature".
    let k = keys();
    let set = json!({"keys": [
        rsa_jwk(&k.rsa_other, "rsa-1", None),
        rsa_jwk(&k.rsa, "rsa-1", None),
    ]});
    assert_eq!(
        check_with(&rsa_token(json!({"exp": NOW - 3600})), &set),
        Err(TokenError::Expired)
    );
    assert_eq!(
        check_with(&rsa_token(json!({"iss": "https://evil.test"})), &set),
        Err(TokenError::WrongIssuer)
    );
}

#[test]
fn keys_without_kid_and_a_token_without_kid() {
    let k = keys();
    let set = json!({"keys": [
        unlabelled(rsa_jwk(&k.rsa_other, "", None)),
        unlabelled(ed_jwk(&k.ed25519, "")),
        unlabelled(rsa_jwk(&k.rsa, "", None)),
    ]});
    let token = relabelled(&k.rsa, None).sign(claims(json!({}))).unwrap();
    assert!(check_with(&token, &set).is_ok());
    // Labelled keys are candidates too when the token names none.
    assert!(check_with(&token, &jwks_value()).is_ok());
    let stranger = RS256KeyPair::generate(2048).unwrap();
    assert_eq!(
        check_with(&stranger.sign(claims(json!({}))).unwrap(), &set),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn token_kid_naming_no_key_is_tried_on_the_keys_without_kid() {
    let k = keys();
    let token = relabelled(&k.rsa, Some("2024-rotated"))
        .sign(claims(json!({})))
        .unwrap();
    // The set does not label its keys: the token's label does not contradict it.
    let unlabelled_set = json!({"keys": [unlabelled(rsa_jwk(&k.rsa, "", None))]});
    assert!(check_with(&token, &unlabelled_set).is_ok());
    // Unverified by the unlabelled keys: an unknown key (the gate fetches the set
    // again), not a bad signature.
    let other_unlabelled = json!({"keys": [unlabelled(rsa_jwk(&k.rsa_other, "", None))]});
    assert_eq!(
        check_with(&token, &other_unlabelled),
        Err(TokenError::UnknownKey)
    );
    // The signing key labelled otherwise is not a candidate.
    let labelled_otherwise = json!({"keys": [rsa_jwk(&k.rsa, "rsa-1", None)]});
    assert_eq!(
        check_with(&token, &labelled_otherwise),
        Err(TokenError::UnknownKey)
    );
    // When a key carries the token's `kid`, the unlabelled ones are not tried.
    let named = json!({"keys": [
        rsa_jwk(&k.rsa_other, "rsa-1", None),
        unlabelled(rsa_jwk(&k.rsa, "", None)),
    ]});
    assert_eq!(
        check_with(&rsa_token(json!({})), &named),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_key_of_another_family_under_the_same_kid_is_skipped() {
    let k = keys();
    let der = k.rsa.to_der().unwrap();
    let set = json!({"keys": [
        ed_jwk(&k.ed25519, "k"),
        ec_jwk(&k.es256.public_key().public_key().to_bytes_uncompressed(), "P-256", "k"),
        rsa_jwk(&k.rsa_other, "k", Some("RS256")),
        rsa_jwk(&k.rsa, "k", None),
    ]});
    let rs256 = relabelled(&k.rsa, Some("k"))
        .sign(claims(json!({})))
        .unwrap();
    assert!(check_with(&rs256, &set).is_ok());
    let ps256 = PS256KeyPair::from_der(&der)
        .unwrap()
        .with_key_id("k")
        .sign(claims(json!({})))
        .unwrap();
    assert!(check_with(&ps256, &set).is_ok());
    let es256 = ES256KeyPair::from_bytes(&k.es256.to_bytes())
        .unwrap()
        .with_key_id("k")
        .sign(claims(json!({})))
        .unwrap();
    assert!(check_with(&es256, &set).is_ok());
    // ES384 under "k": keys carry the kid, none fits.
    let es384 = ES384KeyPair::from_bytes(&k.es384.to_bytes())
        .unwrap()
        .with_key_id("k")
        .sign(claims(json!({})))
        .unwrap();
    assert_eq!(check_with(&es384, &set), Err(TokenError::AlgorithmMismatch));
}

#[test]
fn an_unusable_key_under_the_kid_does_not_hide_a_good_one() {
    let short = json!({"kty": "RSA", "kid": "rsa-1", "n": b64(&[0xc5; 128]), "e": "AQAB"});
    let token = rsa_token(json!({}));
    let set = json!({"keys": [short.clone(), rsa_jwk(&keys().rsa, "rsa-1", None)]});
    assert!(check_with(&token, &set).is_ok());
    assert_eq!(
        check_with(&token, &json!({ "keys": [short] })),
        Err(TokenError::UnusableKey)
    );
}

// --- Header and date interop (RFC 9068 §2.1, RFC 7519 §2, RFC 7515 §4.1.11).

#[test]
fn rfc9068_typ_values_are_accepted() {
    let k = keys();
    for typ in ["at+jwt", "application/at+jwt", "JWT"] {
        let opts = HeaderOptions {
            signature_type: Some(typ.into()),
            ..HeaderOptions::default()
        };
        let rsa = k.rsa.sign_with_options(claims(json!({})), &opts).unwrap();
        let es = k.es256.sign_with_options(claims(json!({})), &opts).unwrap();
        for token in [rsa, es] {
            let parsed = parse(&token, &policy()).unwrap();
            assert_eq!(
                jwt_simple::prelude::Token::decode_metadata(parsed.compact())
                    .unwrap()
                    .signature_type(),
                Some(typ)
            );
            assert!(check(&token).is_ok(), "{typ}");
        }
    }
}

#[test]
fn fractional_numeric_dates_compare_exactly() {
    let at = |secs: f64| json!(secs);
    let now = NOW as f64;
    // exp: accepted up to `now - leeway`, fractions included.
    assert_eq!(
        check(&rsa_token(json!({"exp": 1_700_000_000.5}))),
        Err(TokenError::Expired)
    );
    assert_eq!(
        check(&rsa_token(json!({"exp": at(now - 60.5)}))),
        Err(TokenError::Expired)
    );
    assert!(check(&rsa_token(json!({"exp": at(now - 59.5)}))).is_ok());
    assert_eq!(
        check(&rsa_token(json!({"exp": at(now + 0.5)}))).map(|v| v.expires_at),
        Ok(NOW)
    );
    // nbf and iat: refused past `now + leeway`, even by half a second.
    for name in ["nbf", "iat"] {
        assert_eq!(
            check(&rsa_token(json!({ name: at(now + 60.5) }))),
            Err(TokenError::NotYetValid),
            "{name}"
        );
        assert!(
            check(&rsa_token(json!({ name: at(now + 59.5) }))).is_ok(),
            "{name}"
        );
        assert!(
            check(&rsa_token(json!({ name: at(now - 0.5) }))).is_ok(),
            "{name}"
        );
    }
}

#[test]
fn unknown_header_members_are_ignored() {
    let header = json!({
        "alg": "EdDSA",
        "kid": "ed-1",
        "typ": "at+jwt",
        // Azure AD sends x5t (and, on Graph tokens, nonce) in the header.
        "x5t": "nYgbUaXbHS2zUZQXU6ZyNZkCX5s",
        "x5t#S256": "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg",
        "nonce": "abc",
        "iss": ISSUER,
        "x-vendor": {"region": ["eu", 1], "flag": true, "n": null},
    });
    assert!(check(&sign_raw(&header.to_string(), &raw_claims(""))).is_ok());
}

#[test]
fn crit_is_refused_on_a_validly_signed_token() {
    for extension in [
        json!({"crit": ["exp"], "exp": NOW + 300}),
        json!({"crit": ["b64"], "b64": false}),
        json!({"crit": ["x-unknown"], "x-unknown": 1}),
        json!({"crit": []}),
        json!({"crit": "b64", "b64": true}),
        json!({"crit": null}),
        json!({"crit": {}}),
    ] {
        let mut header = json!({"alg": "EdDSA", "kid": "ed-1"});
        for (name, value) in extension.as_object().unwrap() {
            header[name] = value.clone();
        }
        let token = sign_raw(&header.to_string(), &raw_claims(""));
        assert_eq!(
            check(&token),
            Err(TokenError::UnsupportedCritical),
            "{header}"
        );
    }
}
