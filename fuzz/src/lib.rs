//! Fixtures shared by the fuzz targets: the committed key set and tokens, the
//! policy and clock they are valid under, and the oracle for accepted tokens.

use std::sync::OnceLock;

use jwt_simple::reexports::ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use wasmcp_spin_authkit::config::{var, Config, ConfigError};
use wasmcp_spin_authkit::jwks::{AlgorithmSet, KeySet};
use wasmcp_spin_authkit::token::{self, Policy, VerifiedToken};

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "https://mcp.test/mcp";
/// The fixed "now" every fixture token is valid at (as in `src/test_support.rs`).
pub const NOW: u64 = 1_800_000_000;
pub const LEEWAY: u64 = 60;

/// Public keys: RSA `rsa-1` (JWK `alg` RS256), RSA `rsa-2` (no `alg`), EC P-256
/// `ec-256`, EC P-384 `ec-384`, Ed25519 `ed-1`.
pub const JWKS: &str = include_str!("../fixtures/jwks.json");
const TOKENS: &str = include_str!("../fixtures/tokens.txt");
const ED25519_KEY: &str = include_str!("../fixtures/ed25519-ed-1.key");

pub fn key_set() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::parse(JWKS.as_bytes()).expect("fixtures/jwks.json"))
}

pub fn policy() -> Policy {
    Policy {
        issuer: ISSUER.into(),
        audiences: vec![AUDIENCE.into()],
        leeway_seconds: LEEWAY,
        max_token_bytes: 16 * 1024,
        algorithms: AlgorithmSet::ALL,
    }
}

/// A valid token and what verifying it yields.
pub struct Fixture {
    pub token: &'static str,
    pub verified: VerifiedToken,
}

/// The committed tokens (RS256, PS256, RS512, ES256, ES384, EdDSA, EdDSA without
/// `kid`), each checked to verify.
pub fn tokens() -> &'static [Fixture] {
    static TOKENS_: OnceLock<Vec<Fixture>> = OnceLock::new();
    TOKENS_.get_or_init(|| {
        TOKENS
            .lines()
            .filter(|l| !l.is_empty())
            .map(|token| Fixture {
                token,
                verified: token::verify(token, key_set(), &policy(), NOW)
                    .unwrap_or_else(|e| panic!("fixture token refused: {e:?}")),
            })
            .collect()
    })
}

/// `header.payload` of a compact token: what the signature covers.
pub fn signing_input(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(input, _)| input)
}

/// The oracle for targets that cannot sign: a token accepted under the fixture keys
/// must carry the signing input of a fixture token (nothing else was signed), and
/// yield exactly what that token yields. Only the signature part may differ
/// (e.g. an ECDSA signature's other valid encoding).
pub fn assert_only_fixtures_accepted(token: &str, verified: &VerifiedToken) {
    let input = signing_input(token);
    let Some(fixture) = tokens().iter().find(|f| signing_input(f.token) == input) else {
        panic!("accepted a token that no fixture key signed: {token:?}");
    };
    assert_eq!(&fixture.verified, verified, "{token:?}");
}

/// The Ed25519 key pair behind `ed-1` (test key, committed on purpose).
pub fn ed25519_key_pair() -> ed25519_compact::KeyPair {
    let bytes = b64_decode(ED25519_KEY.trim()).expect("fixtures/ed25519-ed-1.key");
    ed25519_compact::KeyPair::from_slice(&bytes).expect("Ed25519 key pair")
}

pub fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    Base64UrlSafeNoPadding::decode_to_vec(s, None).ok()
}

/// The configuration the request-level targets run under.
pub fn config() -> Result<Config, ConfigError> {
    Config::from_lookup(|name| {
        Ok(match name {
            var::ISSUER => Some(ISSUER.into()),
            var::AUDIENCE => Some(AUDIENCE.into()),
            var::REQUIRED_SCOPES => Some("mcp:read".into()),
            _ => None,
        })
    })
}
