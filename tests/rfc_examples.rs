//! RFC 7515 Appendix A and RFC 7520 §4 JWS examples, run through the public API
//! (`jwks::KeySet::parse` + `token::verify`).
//!
//! The vectors are the RFCs' own, character for character. They were transcribed from
//! the verbatim RFC data in jwcrypto 1.6.1 (`tests.py` for RFC 7515 Appendix A,
//! `tests-cookbook.py` for RFC 7520), and every signature and MAC below was checked
//! against its key with pyca/cryptography (and Python's `hmac`) when transcribed. The
//! tests re-prove fidelity where the middleware itself cannot: the refused HMAC
//! examples are verified with jwt-simple's own `HS256Key`, and RFC 7520 §4.1/§4.2
//! reach the claims stage only if their signatures verify.
//!
//! The compact serializations are split over several lines for reading only (as the
//! RFCs display them); `concat!` joins them without any separator.

use jwt_simple::prelude::{HS256Key, MACLike, NoCustomClaims, UnixTimeStamp, VerificationOptions};
use jwt_simple::reexports::ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use jwt_simple::JWTError;
use serde_json::{json, Value};
use wasmcp_spin_authkit::jwks::{AlgorithmSet, JwksError, KeySet};
use wasmcp_spin_authkit::token::{verify, Policy, TokenError, VerifiedToken};

// ---------------------------------------------------------------------------------
// RFC 7515 Appendix A
// ---------------------------------------------------------------------------------

/// `exp` of the RFC 7515 Appendix A claims set:
/// `{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}`.
const A_EXP: u64 = 1_300_819_380;
/// A "now" before that expiry.
const A_NOW: u64 = 1_300_819_000;

/// RFC 7515 §A.1.1: JWS using HMAC SHA-256, header `{"typ":"JWT",\r\n "alg":"HS256"}`
/// (§A.1.1 final compact serialization).
const A1: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
);

/// RFC 7515 §A.1.1: the HMAC key (JWK member `k`), as a symmetric JWK.
/// (Also RFC 7517 §A.3, kid "HMAC key used in JWS A.1 example".)
const A1_K: &str = concat!(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0i",
    "PS4hcgUuTwjAzZr1Z9CAow",
);

/// RFC 7515 §A.2.1: JWS using RSASSA-PKCS1-v1_5 SHA-256, header `{"alg":"RS256"}`
/// (§A.2.1 final compact serialization).
const A2: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9",
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
    "p0igcN_IoypGlUPQGe77Rw",
);

/// RFC 7515 §A.2.1: the RSA key's public members `n` and `e` (2048-bit modulus).
const A2_N: &str = concat!(
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp",
    "-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOW",
    "vG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUs",
    "LA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9k",
    "G4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2",
    "PAcDTW9gb54h4FRWyuXpoQ",
);

const A2_E: &str = "AQAB";

/// RFC 7515 §A.3.1: JWS using ECDSA P-256 SHA-256, header `{"alg":"ES256"}` (no `kid`)
/// (§A.3.1 final compact serialization).
const A3: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9",
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA",
    "pmWQxfKTUJqPP3-Kg6NU1Q",
);

/// RFC 7515 §A.3.1: the P-256 key's public members `x` and `y`.
const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";

const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// RFC 7515 §A.4.1: JWS using ECDSA P-521 SHA-512, header `{"alg":"ES512"}`, payload
/// "Payload" (§A.4.1 final compact serialization).
const A4: &str = concat!(
    "eyJhbGciOiJFUzUxMiJ9",
    ".UGF5bG9hZA",
    ".AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq",
    "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp",
    "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn",
);

/// RFC 7515 §A.4.1: the P-521 key's public members `x` and `y`.
const A4_X: &str = concat!(
    "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvL",
    "FV1jSfS9tsz4qUxcWceqwQGk",
);

const A4_Y: &str = concat!(
    "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4K",
    "kd0AZMaZmh9ubmf63e3kyMj2",
);

/// RFC 7515 §A.5: Unsecured JWS, header `{"alg":"none"}`, same claims as §A.1, empty
/// signature (so the serialization ends with a period).
const A5: &str = concat!(
    "eyJhbGciOiJub25lIn0",
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
);

/// RFC 7517 §A.1: the first public key of that example set (a P-256 key), used here as
/// a second P-256 key to show key selection without `kid`.
const RFC7517_A1_EC_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
const RFC7517_A1_EC_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";

// ---------------------------------------------------------------------------------
// RFC 7520 §3 keys and §4 JWS examples
// ---------------------------------------------------------------------------------

const BILBO: &str = "bilbo.baggins@hobbiton.example";

/// RFC 7520 §4: the payload, "It’s a dangerous business, Frodo, ..." with
/// U+2019 apostrophes. It is not a JSON claims set.
const RFC7520_PAYLOAD: &str = "It\u{2019}s a dangerous business, Frodo, going out your door. \
You step onto the road, and if you don't keep your feet, there\u{2019}s no knowing where \
you might be swept off to.";

/// RFC 7520 §3.1: EC P-521 public key, kid "bilbo.baggins@hobbiton.example".
const R3_1_X: &str = concat!(
    "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqv",
    "jyekWF-7ytDyRXYgCF5cj0Kt",
);

const R3_1_Y: &str = concat!(
    "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgD",
    "PrwQrJmbnX9cwlGfP-HqHZR1",
);

/// RFC 7520 §3.3: RSA public key (2048 bits), kid "bilbo.baggins@hobbiton.example".
const R3_3_N: &str = concat!(
    "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRoj",
    "dNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2l",
    "bzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6c",
    "S6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3",
    "-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwU",
    "kRz5iaiQkqgc5gHdrNP5zw",
);

const R3_3_E: &str = "AQAB";

/// RFC 7520 §3.5: HMAC SHA-256 key, kid "018c0ae5-4d9b-471b-bfd6-eef314bc7037".
const R3_5_K: &str = "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg";

/// RFC 7520 §4.1.3: RSA v1.5 signature, compact serialization. Header
/// `{"alg":"RS256","kid":"bilbo.baggins@hobbiton.example"}`.
const R4_1: &str = concat!(
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhh",
    "bXBsZSJ9",
    ".SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv",
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n",
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91",
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4",
    ".MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZo",
    "pdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmD",
    "LJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9e",
    "Ro4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2",
    "aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH8",
    "4ogoree7vjbU5y18kDquDg",
);

/// RFC 7520 §4.2.3: RSA-PSS signature, compact serialization. Header
/// `{"alg":"PS384","kid":"bilbo.baggins@hobbiton.example"}`.
const R4_2: &str = concat!(
    "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhh",
    "bXBsZSJ9",
    ".SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv",
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n",
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91",
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4",
    ".cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN",
    "6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvW",
    "Xzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ij",
    "Q7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6ui",
    "P1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmW",
    "jwZ6oD4ifKo8DYM-X72Eaw",
);

/// RFC 7520 §4.3.3: ECDSA signature, compact serialization. Header
/// `{"alg":"ES512","kid":"bilbo.baggins@hobbiton.example"}`.
const R4_3: &str = concat!(
    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhh",
    "bXBsZSJ9",
    ".SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv",
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n",
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91",
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4",
    ".AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9",
    "Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD89",
    "0jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2",
);

/// RFC 7520 §4.4.3: HMAC-SHA2 integrity protection, compact serialization.
/// Header `{"alg":"HS256","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037"}`.
const R4_4: &str = concat!(
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVl",
    "ZjMxNGJjNzAzNyJ9",
    ".SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv",
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n",
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91",
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4",
    ".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0",
);

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

fn policy() -> Policy {
    Policy {
        issuer: "joe".into(),
        audiences: vec![],
        leeway_seconds: 60,
        max_token_bytes: 16384,
        algorithms: AlgorithmSet::ALL,
    }
}

fn key_set(keys: &[Value]) -> KeySet {
    KeySet::parse(json!({ "keys": keys }).to_string().as_bytes()).expect("usable key set")
}

fn parse_error(keys: &[Value]) -> JwksError {
    KeySet::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap_err()
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

fn unb64(segment: &str) -> Vec<u8> {
    Base64UrlSafeNoPadding::decode_to_vec(segment, None).unwrap()
}

/// The same token with the least significant bit of its signature's last byte flipped
/// (decoded and re-encoded, so the base64url stays canonical).
fn flip_signature_bit(token: &str) -> String {
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = unb64(signature);
    *signature.last_mut().unwrap() ^= 1;
    format!("{signing_input}.{}", b64(&signature))
}

/// The same token with another protected header (its signature no longer covers it).
fn with_header(token: &str, header: &str) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", b64(header.as_bytes()))
}

fn a2_rsa_jwk() -> Value {
    json!({"kty": "RSA", "n": A2_N, "e": A2_E})
}

fn a3_ec_jwk() -> Value {
    json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y})
}

fn a4_ec_jwk() -> Value {
    json!({"kty": "EC", "crv": "P-521", "x": A4_X, "y": A4_Y})
}

fn a1_oct_jwk() -> Value {
    json!({"kty": "oct", "kid": "HMAC key used in JWS A.1 example", "k": A1_K})
}

fn rfc7520_ec_jwk() -> Value {
    json!({"kty": "EC", "kid": BILBO, "use": "sig", "crv": "P-521", "x": R3_1_X, "y": R3_1_Y})
}

fn rfc7520_rsa_jwk() -> Value {
    json!({"kty": "RSA", "kid": BILBO, "use": "sig", "n": R3_3_N, "e": R3_3_E})
}

fn rfc7520_oct_jwk() -> Value {
    json!({"kty": "oct", "kid": "018c0ae5-4d9b-471b-bfd6-eef314bc7037", "use": "sig",
           "alg": "HS256", "k": R3_5_K})
}

/// jwt-simple's own HS256 verification, at a fixed time: proves an HMAC vector is
/// intact even though the middleware refuses HMAC.
fn hs256_check(key_b64: &str, token: &str, now: u64) -> Result<(), jwt_simple::Error> {
    let options = VerificationOptions {
        artificial_time: Some(UnixTimeStamp::from_secs(now)),
        ..VerificationOptions::default()
    };
    HS256Key::from_bytes(&unb64(key_b64))
        .verify_token::<NoCustomClaims>(token, Some(options))
        .map(|_| ())
}

fn is_invalid_mac(err: &jwt_simple::Error) -> bool {
    matches!(
        err.downcast_ref::<JWTError>(),
        Some(JWTError::InvalidAuthenticationTag)
    )
}

// ---------------------------------------------------------------------------------
// RFC 7515 Appendix A
// ---------------------------------------------------------------------------------

#[test]
fn rfc7515_a2_rs256_verifies() {
    let accepted = Ok(VerifiedToken {
        subject: None,
        expires_at: A_EXP,
        scopes: vec![],
    });
    let keys = key_set(&[a2_rsa_jwk()]);
    assert_eq!(verify(A2, &keys, &policy(), A_NOW), accepted);
    // No `kid`: the one key that fits RS256 is chosen, whatever else the set holds.
    let mixed = key_set(&[a3_ec_jwk(), a2_rsa_jwk(), a4_ec_jwk(), a1_oct_jwk()]);
    assert_eq!(verify(A2, &mixed, &policy(), A_NOW), accepted);

    assert_eq!(
        verify(&flip_signature_bit(A2), &keys, &policy(), A_NOW),
        Err(TokenError::BadSignature)
    );
    // `exp` = 1300819380 with 60 s leeway: accepted up to exp + 60, expired after.
    assert_eq!(verify(A2, &keys, &policy(), A_EXP + 60), accepted);
    assert_eq!(
        verify(A2, &keys, &policy(), A_EXP + 61),
        Err(TokenError::Expired)
    );
    // The claims are checked only after the signature: a wrong issuer is refused.
    let other_issuer = Policy {
        issuer: "Joe".into(),
        ..policy()
    };
    assert_eq!(
        verify(A2, &keys, &other_issuer, A_NOW),
        Err(TokenError::WrongIssuer)
    );
    // The RFC 7520 RSA key does not verify it.
    let wrong_key = key_set(&[json!({"kty": "RSA", "n": R3_3_N, "e": R3_3_E})]);
    assert_eq!(
        verify(A2, &wrong_key, &policy(), A_NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn rfc7515_a3_es256_verifies_without_kid() {
    let accepted = Ok(VerifiedToken {
        subject: None,
        expires_at: A_EXP,
        scopes: vec![],
    });
    // The header is `{"alg":"ES256"}` (no `kid`): the single P-256 key is used.
    let keys = key_set(&[a3_ec_jwk()]);
    assert_eq!(verify(A3, &keys, &policy(), A_NOW), accepted);
    let mixed = key_set(&[a2_rsa_jwk(), a3_ec_jwk(), a4_ec_jwk()]);
    assert_eq!(verify(A3, &mixed, &policy(), A_NOW), accepted);

    assert_eq!(
        verify(&flip_signature_bit(A3), &keys, &policy(), A_NOW),
        Err(TokenError::BadSignature)
    );
    assert_eq!(
        verify(A3, &keys, &policy(), A_EXP + 61),
        Err(TokenError::Expired)
    );
    // Two P-256 keys and no `kid`: each is tried in turn, the signing one verifies.
    let two = key_set(&[
        json!({"kty": "EC", "crv": "P-256", "x": RFC7517_A1_EC_X, "y": RFC7517_A1_EC_Y}),
        a3_ec_jwk(),
    ]);
    assert_eq!(verify(A3, &two, &policy(), A_NOW), accepted);
    // Only the other P-256 key: a valid key, the wrong one.
    let other = key_set(&[json!({"kty": "EC", "crv": "P-256",
                                 "x": RFC7517_A1_EC_X, "y": RFC7517_A1_EC_Y})]);
    assert_eq!(
        verify(A3, &other, &policy(), A_NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn rfc7515_a1_hs256_is_refused() {
    // The vector is intact: jwt-simple's HS256 verifies it with the RFC's key.
    hs256_check(A1_K, A1, A_NOW).expect("RFC 7515 A.1 verifies with its HMAC key");
    assert!(is_invalid_mac(
        &hs256_check(A1_K, &flip_signature_bit(A1), A_NOW).unwrap_err()
    ));

    // A set holding the HMAC key (and an RSA key, to be non-empty): refused on `alg`.
    let keys = key_set(&[a1_oct_jwk(), a2_rsa_jwk()]);
    assert_eq!(keys.len(), 1, "the oct key is not a verification key");
    assert_eq!(
        verify(A1, &keys, &policy(), A_NOW),
        Err(TokenError::UnsupportedAlgorithm)
    );
    assert_eq!(
        verify(A1, &key_set(&[a3_ec_jwk()]), &policy(), A_NOW),
        Err(TokenError::UnsupportedAlgorithm)
    );
    // A set of only the HMAC key is no key set at all for us.
    assert_eq!(parse_error(&[a1_oct_jwk()]), JwksError::NoUsableKeys);
}

#[test]
fn rfc7515_a4_es512_is_refused() {
    // The P-521 key is skipped; with a usable key next to it, ES512 is refused on `alg`.
    let keys = key_set(&[a4_ec_jwk(), a3_ec_jwk()]);
    assert_eq!(keys.len(), 1);
    assert_eq!(
        verify(A4, &keys, &policy(), A_NOW),
        Err(TokenError::UnsupportedAlgorithm)
    );
    assert_eq!(parse_error(&[a4_ec_jwk()]), JwksError::NoUsableKeys);
}

#[test]
fn rfc7515_a5_unsecured_is_refused() {
    let keys = key_set(&[a2_rsa_jwk(), a3_ec_jwk()]);
    // As published: empty signature segment.
    assert_eq!(
        verify(A5, &keys, &policy(), A_NOW),
        Err(TokenError::Malformed)
    );
    // With some signature bytes attached, `none` (in any case) is still refused.
    let a2_signature = A2.rsplit_once('.').unwrap().1;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = format!(
            "{}{a2_signature}",
            with_header(A5, &format!(r#"{{"alg":"{alg}"}}"#))
        );
        assert_eq!(
            verify(&token, &keys, &policy(), A_NOW),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

// ---------------------------------------------------------------------------------
// RFC 7520 §4
// ---------------------------------------------------------------------------------

#[test]
fn rfc7520_payload_is_the_cookbook_text() {
    for token in [R4_1, R4_2, R4_3, R4_4] {
        let payload = token.split('.').nth(1).unwrap();
        assert_eq!(String::from_utf8(unb64(payload)).unwrap(), RFC7520_PAYLOAD);
    }
}

/// RFC 7520 §4.1 and §4.2 carry a non-JSON payload, so `token::verify` can only refuse
/// them; `InvalidClaims` (claims refused after the signature verified) against
/// `BadSignature` (one signature bit flipped, or another key) proves the signature check.
fn assert_signature_verifies_then_claims_refused(token: &str) {
    // The set as RFC 7520 §3 publishes it: the P-521 key shares the kid, and is skipped.
    let keys = key_set(&[rfc7520_ec_jwk(), rfc7520_rsa_jwk()]);
    assert_eq!(keys.len(), 1);
    assert_eq!(
        verify(token, &keys, &policy(), A_NOW),
        Err(TokenError::InvalidClaims)
    );
    assert_eq!(
        verify(&flip_signature_bit(token), &keys, &policy(), A_NOW),
        Err(TokenError::BadSignature)
    );
    let wrong_key = key_set(&[json!({"kty": "RSA", "kid": BILBO, "n": A2_N, "e": A2_E})]);
    assert_eq!(
        verify(token, &wrong_key, &policy(), A_NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn rfc7520_4_1_rs256_signature_verifies() {
    assert_signature_verifies_then_claims_refused(R4_1);
    // The key pinned to another RSA algorithm by its JWK `alg` is not used.
    let pinned = key_set(&[json!({"kty": "RSA", "kid": BILBO, "alg": "PS256",
                                  "n": R3_3_N, "e": R3_3_E})]);
    assert_eq!(
        verify(R4_1, &pinned, &policy(), A_NOW),
        Err(TokenError::AlgorithmMismatch)
    );
}

#[test]
fn rfc7520_4_2_ps384_signature_verifies() {
    assert_signature_verifies_then_claims_refused(R4_2);
}

#[test]
fn rfc7520_4_3_es512_is_refused() {
    let keys = key_set(&[rfc7520_ec_jwk(), rfc7520_rsa_jwk()]);
    assert_eq!(
        verify(R4_3, &keys, &policy(), A_NOW),
        Err(TokenError::UnsupportedAlgorithm)
    );
    assert_eq!(parse_error(&[rfc7520_ec_jwk()]), JwksError::NoUsableKeys);
}

#[test]
fn rfc7520_4_4_hs256_is_refused() {
    // The vector is intact: jwt-simple's HS256 accepts the MAC (then fails on the
    // non-JSON payload), and refuses a flipped MAC as an invalid authentication tag.
    let err = hs256_check(R3_5_K, R4_4, A_NOW).unwrap_err();
    assert!(!is_invalid_mac(&err), "{err}");
    assert!(err.downcast_ref::<serde_json::Error>().is_some(), "{err}");
    assert!(is_invalid_mac(
        &hs256_check(R3_5_K, &flip_signature_bit(R4_4), A_NOW).unwrap_err()
    ));

    let keys = key_set(&[rfc7520_oct_jwk(), rfc7520_rsa_jwk()]);
    assert_eq!(keys.len(), 1);
    assert_eq!(
        verify(R4_4, &keys, &policy(), A_NOW),
        Err(TokenError::UnsupportedAlgorithm)
    );
    assert_eq!(parse_error(&[rfc7520_oct_jwk()]), JwksError::NoUsableKeys);
}
