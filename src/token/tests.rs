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
