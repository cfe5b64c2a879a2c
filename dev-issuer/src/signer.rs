//! The development issuer's signing key (ES256, generated at startup, never
//! stored), its JWKS, and RFC 9068 access tokens.

use jwt_simple::prelude::*;
use jwt_simple::reexports::ct_codecs::Base64UrlSafeNoPadding;
use jwt_simple::reexports::rand::{self, Rng as _};
use serde_json::{json, Value};

/// `typ` of an RFC 9068 access token.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// What goes into one access token besides `iss` (RFC 9068 §2.2).
pub(crate) struct AccessToken<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    /// Space-separated; empty: no `scope` claim.
    pub scope: &'a str,
    /// One entry: `aud` is a string; several: an array.
    pub audiences: &'a [String],
    /// Seconds since the epoch.
    pub issued_at: u64,
    pub lifetime_seconds: u64,
}

pub(crate) struct Signer {
    key: ES256KeyPair,
    kid: String,
}

impl Signer {
    pub(crate) fn generate() -> Self {
        let key = ES256KeyPair::generate();
        // RFC 7638 thumbprint: stable for the key, different after every restart.
        let thumbprint = key.public_key().jwk_thumbprint();
        let kid = format!("dev-es256-{}", &thumbprint[..thumbprint.len().min(16)]);
        Self {
            key: key.with_key_id(&kid),
            kid,
        }
    }

    #[cfg(test)]
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key set (`/jwks`).
    pub(crate) fn jwks(&self) -> Value {
        let point = self.key.public_key().public_key().to_bytes_uncompressed();
        json!({"keys": [{
            "kty": "EC",
            "crv": "P-256",
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
            "x": b64url(&point[1..33]),
            "y": b64url(&point[33..65]),
        }]})
    }

    /// Signs an access token for `issuer`.
    pub(crate) fn sign(&self, issuer: &str, token: &AccessToken<'_>) -> String {
        let mut custom = serde_json::Map::new();
        custom.insert("client_id".into(), json!(token.client_id));
        if !token.scope.is_empty() {
            custom.insert("scope".into(), json!(token.scope));
        }
        let mut claims = Claims::with_custom_claims(custom, Duration::from_secs(0))
            .with_issuer(issuer)
            .with_subject(token.subject)
            .with_jwt_id(random_token(16));
        claims = match token.audiences {
            [one] => claims.with_audience(one),
            many => claims.with_audiences(many.iter().cloned().collect::<HashSet<_>>()),
        };
        claims.issued_at = Some(Duration::from_secs(token.issued_at));
        claims.expires_at = Some(Duration::from_secs(
            token.issued_at.saturating_add(token.lifetime_seconds),
        ));
        // RFC 9068 lists no `nbf`; `iat` already says when the token starts.
        claims.invalid_before = None;
        let header = HeaderOptions {
            signature_type: Some(ACCESS_TOKEN_TYPE.to_string()),
            content_type: None,
        };
        self.key
            .sign_with_options(claims, &header)
            .expect("signing with a freshly generated P-256 key cannot fail")
    }
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).expect("base64 of a small buffer")
}

/// `bytes` random bytes (thread RNG: a CSPRNG seeded by the OS), base64url.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    b64url(&buf)
}

/// base64url(SHA-256(verifier)): the PKCE S256 transform (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    b64url(&hmac_sha256::Hash::hash(verifier.as_bytes()))
}

/// Compares secrets without an early exit on the first differing byte (only the
/// length, which is public, may end it early). `black_box` keeps the optimiser
/// from turning the fold back into a short-circuiting comparison.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// The map key under which a bearer secret (authorization code, refresh token) is
/// stored and looked up: base64url(SHA-256(secret)). Hash-map lookups end in an
/// ordinary `==` on the key; on a digest, its timing reveals nothing usable about
/// the secret (finding a secret from digest prefixes is a preimage search).
pub(crate) fn secret_key(secret: &str) -> String {
    s256(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_verify_with_the_published_key() {
        let signer = Signer::generate();
        let audiences = vec!["http://127.0.0.1:3000/mcp".to_string()];
        let token = signer.sign(
            "http://127.0.0.1:3001",
            &AccessToken {
                subject: "dev-user",
                client_id: "c1",
                scope: "mcp",
                audiences: &audiences,
                issued_at: jwt_simple::prelude::Clock::now_since_epoch().as_secs(),
                lifetime_seconds: 60,
            },
        );
        let meta = Token::decode_metadata(&token).unwrap();
        assert_eq!(meta.signature_type(), Some("at+jwt"));
        assert_eq!(meta.key_id(), Some(signer.kid()));
        assert_eq!(meta.algorithm(), "ES256");
        let jwk = &signer.jwks()["keys"][0];
        let x = jwt_simple::reexports::ct_codecs::Base64UrlSafeNoPadding::decode_to_vec(
            jwk["x"].as_str().unwrap(),
            None,
        )
        .unwrap();
        let y = jwt_simple::reexports::ct_codecs::Base64UrlSafeNoPadding::decode_to_vec(
            jwk["y"].as_str().unwrap(),
            None,
        )
        .unwrap();
        let public = ES256PublicKey::from_bytes(&[&[4u8][..], &x, &y].concat()).unwrap();
        let claims = public
            .verify_token::<Value>(&token, None)
            .expect("verifies with the JWKS key");
        assert_eq!(claims.custom["client_id"], "c1");
        assert_eq!(claims.custom["scope"], "mcp");
        assert_eq!(claims.invalid_before, None);
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(random_token(32).len(), 43);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn secrets_are_stored_as_digests() {
        let code = random_token(32);
        assert_eq!(secret_key(&code), secret_key(&code));
        assert_ne!(secret_key(&code), code);
        assert_ne!(secret_key(&code), secret_key(&random_token(32)));
    }
}
