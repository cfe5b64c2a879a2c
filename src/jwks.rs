//! JSON Web Key Sets (RFC 7517 §5) parsed into algorithm-pinned verification keys.
//!
//! A key's type (`kty`/`crv`) and, when present, its JWK `alg` fix which algorithms
//! it verifies; the token header can only pick among those (RFC 8725 §3.1). Keys
//! that cannot verify signatures for us (`oct`, `use: enc`, unknown curves or
//! algorithms) are skipped while parsing.
//!
//! A token is tried against its *candidate* keys ([`KeySet::candidates`]): those its
//! `kid` names, or all keys when it has none, that fit its algorithm. Several
//! candidates are normal (rotation under one `kid`, sets without `kid`s); each is
//! decoded and tried in turn, so a token costs at most one signature check per key
//! of the set, and key material is decoded only for the keys actually tried.

use std::fmt;

use jwt_simple::prelude::*;
use jwt_simple::reexports::ct_codecs::{Base64UrlSafe, Base64UrlSafeNoPadding, Decoder};
use serde::Deserialize;

/// Most keys kept from one set; providers publish a handful.
pub const MAX_KEYS: usize = 64;

/// JWS algorithms this middleware verifies (RFC 7518 §3.1, RFC 8037 §3.1).
/// `none` and the HMAC family are deliberately absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (RFC 7518 §3.3).
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (RFC 7518 §3.3).
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256 (RFC 7518 §3.5).
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384 (RFC 7518 §3.5).
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512 (RFC 7518 §3.5).
    PS512,
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
    ES256,
    /// ECDSA on P-384 with SHA-384 (RFC 7518 §3.4).
    ES384,
    /// EdDSA on Ed25519 (RFC 8037 §3.1); the only EdDSA curve verified here.
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 9] = [
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// Parses a JWS `alg` value, case-sensitively (RFC 7515 §4.1.1).
    /// `Ed25519` is the fully-specified name of EdDSA over Ed25519 (RFC 9864).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "EdDSA" | "Ed25519" => Self::EdDSA,
            _ => return None,
        })
    }

    /// The registered JWS name.
    pub fn name(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The only key type this algorithm verifies with.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                KeyKind::Rsa
            }
            Self::ES256 => KeyKind::P256,
            Self::ES384 => KeyKind::P384,
            Self::EdDSA => KeyKind::Ed25519,
        }
    }
}

/// A set of algorithms (`authkit_algorithms` narrows the supported ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// No algorithm (a starting point for [`with`](Self::with)).
    pub const EMPTY: Self = Self(0);
    /// Every supported algorithm: the default.
    pub const ALL: Self = Self((1 << Algorithm::ALL.len()) - 1);

    fn bit(alg: Algorithm) -> u16 {
        1 << (alg as u16)
    }

    /// This set plus `alg`.
    pub fn with(self, alg: Algorithm) -> Self {
        Self(self.0 | Self::bit(alg))
    }

    /// Whether `alg` is in the set.
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & Self::bit(alg) != 0
    }

    /// Whether the set holds no algorithm.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Key type and curve of a JWK (`kty`, `crv`): what fixes the algorithms a key
/// may verify (RFC 8725 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `kty: RSA` (RFC 7518 §6.3).
    Rsa,
    /// `kty: EC`, `crv: P-256` (RFC 7518 §6.2).
    P256,
    /// `kty: EC`, `crv: P-384` (RFC 7518 §6.2).
    P384,
    /// `kty: OKP`, `crv: Ed25519` (RFC 8037 §2).
    Ed25519,
}

/// Why a JWKS document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// Not a JSON object with a `keys` array.
    NotAKeySet,
    /// Valid JSON, but no key we can verify signatures with.
    NoUsableKeys,
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAKeySet => "the document is not a JSON Web Key Set",
            Self::NoUsableKeys => "the key set has no usable signature verification key",
        })
    }
}

impl std::error::Error for JwksError {}

/// Why no key could be found for a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySelectionError {
    /// No candidate: no key has the token's `kid` and no key without a `kid` fits its
    /// algorithm (or, without `kid`, no key fits its algorithm). The set may predate a
    /// rotation: worth fetching again.
    UnknownKey,
    /// The `kid` names keys whose type or JWK `alg` all forbid the token's algorithm.
    AlgorithmMismatch,
    /// A candidate's material is invalid or too weak (e.g. RSA under 2048 bits).
    UnusableKey,
}

/// One JWK we can verify signatures with, its key material kept encoded until a
/// token is tried against it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Jwk {
    kid: Option<String>,
    kind: KeyKind,
    /// The JWK's own `alg`, which narrows the key to that one algorithm.
    alg: Option<Algorithm>,
    material: Material,
}

/// The public key members of a JWK, base64url-encoded as published.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Material {
    /// Modulus and exponent (RFC 7518 §6.3.1).
    Rsa { n: String, e: String },
    /// The point's coordinates (RFC 7518 §6.2.1).
    Ec { x: String, y: String },
    /// The public key (RFC 8037 §2).
    Okp { x: String },
}

impl Jwk {
    fn fits(&self, alg: Algorithm) -> bool {
        self.kind == alg.key_kind() && self.alg.is_none_or(|pinned| pinned == alg)
    }
}

/// A parsed key set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<Jwk>,
    /// SHA-256 of the document: what a remembered signature check is bound to.
    fingerprint: [u8; 32],
}

/// The members of a JWK we read; others (`x5c`, `x5t`, ...) are ignored.
#[derive(Deserialize)]
struct JwkFields {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    /// Present only in private keys, which a JWKS must never publish.
    #[serde(default)]
    d: Option<serde::de::IgnoredAny>,
}

/// Keys stay raw JSON slices of the document until read one by one, so that one
/// malformed key is skipped rather than failing the set (and no value tree is built).
#[derive(Deserialize)]
struct JwksDocument<'a> {
    #[serde(borrow)]
    keys: Vec<&'a serde_json::value::RawValue>,
}

impl KeySet {
    /// Parses a JWKS document. Individual keys that are malformed or of a kind we
    /// do not verify with are skipped, as RFC 7517 §5 asks; a set left empty is an error.
    pub fn parse(document: &[u8]) -> Result<Self, JwksError> {
        let doc: JwksDocument =
            serde_json::from_slice(document).map_err(|_| JwksError::NotAKeySet)?;
        let keys: Vec<Jwk> = doc
            .keys
            .into_iter()
            .filter_map(|key| serde_json::from_str::<JwkFields>(key.get()).ok())
            .filter_map(Jwk::from_fields)
            .take(MAX_KEYS)
            .collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(Self {
            keys,
            fingerprint: hmac_sha256::Hash::hash(document),
        })
    }

    /// SHA-256 of the exact document the set was parsed from: two documents that
    /// differ in any byte (a key added, removed or replaced, or only white space)
    /// have different fingerprints. A remembered signature check is bound to it,
    /// so that any change to the set forgets every earlier check.
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether some key carries this `kid`.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|e| e.kid.as_deref() == Some(kid))
    }

    /// The keys that may have signed a token with this `alg` and `kid`, in set order.
    ///
    /// `kid` is a hint to pick among the issuer's keys (RFC 7515 §4.1.4), matched
    /// exactly against the JWK `kid` (RFC 7517 §4.5); it never widens trust beyond the
    /// set, since each candidate must still verify the signature. Candidates are the keys
    /// that fit `alg` (type, curve and JWK `alg`; `use`/`key_ops` were checked when
    /// parsing) and:
    /// - the token has a `kid` that some key carries: the keys carrying it, all of them
    ///   (a provider may publish the old and new key under one `kid` while rotating).
    ///   Keys without a `kid` are not candidates then: the token names another key.
    ///   If none of them fits `alg`: [`KeySelectionError::AlgorithmMismatch`].
    /// - the token has a `kid` that no key carries: the keys without a `kid` (a set
    ///   that does not label its keys, e.g. inline keys converted from PEM, is not
    ///   contradicted by the token's label); never a key labelled otherwise.
    ///   [`Candidates::kid_unmatched`] tells the caller, which reports a failure to
    ///   verify as an unknown key, so that a rotated set is fetched again.
    /// - the token has no `kid`: every key (RFC 7515 §4.1.4 makes `kid` optional).
    ///
    /// No candidate at all is [`KeySelectionError::UnknownKey`].
    pub fn candidates<'a>(
        &'a self,
        alg: Algorithm,
        kid: Option<&'a str>,
    ) -> Result<Candidates<'a>, KeySelectionError> {
        let any_fits = |by: KidMatch<'_>| self.keys.iter().any(|e| by.matches(e) && e.fits(alg));
        let by = match kid {
            None => KidMatch::Any,
            Some(kid) if self.contains_kid(kid) => {
                if !any_fits(KidMatch::Exactly(kid)) {
                    return Err(KeySelectionError::AlgorithmMismatch);
                }
                KidMatch::Exactly(kid)
            }
            Some(_) => KidMatch::Unlabelled,
        };
        if !any_fits(by) {
            return Err(KeySelectionError::UnknownKey);
        }
        Ok(Candidates {
            keys: self.keys.iter(),
            alg,
            by,
        })
    }
}

/// Which keys a token's `kid` lets through (see [`KeySet::candidates`]).
#[derive(Clone, Copy, Debug)]
enum KidMatch<'a> {
    /// The token has no `kid`.
    Any,
    /// Keys carrying this `kid`.
    Exactly(&'a str),
    /// Keys without a `kid` (the token's `kid` names no key).
    Unlabelled,
}

impl KidMatch<'_> {
    fn matches(self, jwk: &Jwk) -> bool {
        match self {
            Self::Any => true,
            Self::Exactly(kid) => jwk.kid.as_deref() == Some(kid),
            Self::Unlabelled => jwk.kid.is_none(),
        }
    }
}

/// The candidate keys for one token, decoded one at a time as iterated; an item is
/// [`KeySelectionError::UnusableKey`] when that key's material is bad. Yields at most
/// as many items as the set holds keys, and at least one.
#[derive(Clone, Debug)]
pub struct Candidates<'a> {
    keys: std::slice::Iter<'a, Jwk>,
    alg: Algorithm,
    by: KidMatch<'a>,
}

impl Candidates<'_> {
    /// Whether the token's `kid` named no key, so that the candidates are the keys
    /// without a `kid`.
    pub fn kid_unmatched(&self) -> bool {
        matches!(self.by, KidMatch::Unlabelled)
    }
}

impl Iterator for Candidates<'_> {
    type Item = Result<VerifyingKey, KeySelectionError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (by, alg) = (self.by, self.alg);
        let jwk = self.keys.find(|e| by.matches(e) && e.fits(alg))?;
        Some(VerifyingKey::from_jwk(jwk, alg).ok_or(KeySelectionError::UnusableKey))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.keys.len()))
    }
}

impl Jwk {
    fn from_fields(f: JwkFields) -> Option<Self> {
        if f.d.is_some() {
            return None;
        }
        if f.key_use.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        if let Some(ops) = &f.key_ops {
            if !ops.iter().any(|op| op == "verify") {
                return None;
            }
        }
        let kind = match (f.kty.as_str(), f.crv.as_deref()) {
            ("RSA", None) => KeyKind::Rsa,
            ("EC", Some("P-256")) => KeyKind::P256,
            ("EC", Some("P-384")) => KeyKind::P384,
            ("OKP", Some("Ed25519")) => KeyKind::Ed25519,
            _ => return None,
        };
        let alg = match f.alg.as_deref() {
            None => None,
            Some(name) => {
                let alg = Algorithm::from_name(name)?;
                if alg.key_kind() != kind {
                    return None;
                }
                Some(alg)
            }
        };
        let material = match kind {
            KeyKind::Rsa => Material::Rsa { n: f.n?, e: f.e? },
            KeyKind::P256 | KeyKind::P384 => Material::Ec { x: f.x?, y: f.y? },
            KeyKind::Ed25519 => Material::Okp { x: f.x? },
        };
        Some(Self {
            kid: f.kid,
            kind,
            alg,
            material,
        })
    }
}

/// A public key bound to exactly one algorithm: each variant holds jwt-simple's
/// key type for that algorithm, which refuses tokens whose header names another.
pub enum VerifyingKey {
    /// An RSA key for [`Algorithm::RS256`].
    RS256(RS256PublicKey),
    /// An RSA key for [`Algorithm::RS384`].
    RS384(RS384PublicKey),
    /// An RSA key for [`Algorithm::RS512`].
    RS512(RS512PublicKey),
    /// An RSA key for [`Algorithm::PS256`].
    PS256(PS256PublicKey),
    /// An RSA key for [`Algorithm::PS384`].
    PS384(PS384PublicKey),
    /// An RSA key for [`Algorithm::PS512`].
    PS512(PS512PublicKey),
    /// A P-256 key for [`Algorithm::ES256`].
    ES256(ES256PublicKey),
    /// A P-384 key for [`Algorithm::ES384`].
    ES384(ES384PublicKey),
    /// An Ed25519 key for [`Algorithm::EdDSA`].
    EdDSA(Ed25519PublicKey),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.algorithm().name())
    }
}

impl VerifyingKey {
    /// The key for `alg` from `jwk`, which [`Jwk::fits`] `alg`; `None` when its
    /// material does not decode or is refused (jwt-simple takes RSA moduli of
    /// 2048 to 4096 bits and e = 65537 only).
    fn from_jwk(jwk: &Jwk, alg: Algorithm) -> Option<Self> {
        Some(match &jwk.material {
            Material::Rsa { n, e } => {
                let (n, e) = (decode_b64url(n)?, decode_b64url(e)?);
                match alg {
                    Algorithm::RS256 => Self::RS256(RS256PublicKey::from_components(&n, &e).ok()?),
                    Algorithm::RS384 => Self::RS384(RS384PublicKey::from_components(&n, &e).ok()?),
                    Algorithm::RS512 => Self::RS512(RS512PublicKey::from_components(&n, &e).ok()?),
                    Algorithm::PS256 => Self::PS256(PS256PublicKey::from_components(&n, &e).ok()?),
                    Algorithm::PS384 => Self::PS384(PS384PublicKey::from_components(&n, &e).ok()?),
                    Algorithm::PS512 => Self::PS512(PS512PublicKey::from_components(&n, &e).ok()?),
                    _ => return None,
                }
            }
            Material::Ec { x, y } => match alg {
                Algorithm::ES256 => {
                    Self::ES256(ES256PublicKey::from_bytes(&ec_point(x, y, 32)?).ok()?)
                }
                Algorithm::ES384 => {
                    Self::ES384(ES384PublicKey::from_bytes(&ec_point(x, y, 48)?).ok()?)
                }
                _ => return None,
            },
            Material::Okp { x } => {
                let x = decode_b64url(x)?;
                if alg != Algorithm::EdDSA || x.len() != 32 {
                    return None;
                }
                Self::EdDSA(Ed25519PublicKey::from_bytes(&x).ok()?)
            }
        })
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::RS256(_) => Algorithm::RS256,
            Self::RS384(_) => Algorithm::RS384,
            Self::RS512(_) => Algorithm::RS512,
            Self::PS256(_) => Algorithm::PS256,
            Self::PS384(_) => Algorithm::PS384,
            Self::PS512(_) => Algorithm::PS512,
            Self::ES256(_) => Algorithm::ES256,
            Self::ES384(_) => Algorithm::ES384,
            Self::EdDSA(_) => Algorithm::EdDSA,
        }
    }

    /// Verifies the signature (and jwt-simple's own claim checks under `options`).
    pub fn verify_token(
        &self,
        token: &str,
        options: VerificationOptions,
    ) -> Result<JWTClaims<NoCustomClaims>, jwt_simple::Error> {
        let options = Some(options);
        match self {
            Self::RS256(k) => k.verify_token(token, options),
            Self::RS384(k) => k.verify_token(token, options),
            Self::RS512(k) => k.verify_token(token, options),
            Self::PS256(k) => k.verify_token(token, options),
            Self::PS384(k) => k.verify_token(token, options),
            Self::PS512(k) => k.verify_token(token, options),
            Self::ES256(k) => k.verify_token(token, options),
            Self::ES384(k) => k.verify_token(token, options),
            Self::EdDSA(k) => k.verify_token(token, options),
        }
    }
}

/// Base64url (RFC 7515 §2), unpadded as JWKs should be; padding is tolerated
/// because the set comes from the trusted issuer, not from the token.
fn decode_b64url(value: &str) -> Option<Vec<u8>> {
    Base64UrlSafeNoPadding::decode_to_vec(value, None)
        .or_else(|_| Base64UrlSafe::decode_to_vec(value, None))
        .ok()
        .filter(|bytes| !bytes.is_empty())
}

/// SEC1 uncompressed point from JWK `x`/`y` (RFC 7518 §6.2.1.2: full-length coordinates).
fn ec_point(x: &str, y: &str, size: usize) -> Option<Vec<u8>> {
    let (x, y) = (decode_b64url(x)?, decode_b64url(y)?);
    if x.len() != size || y.len() != size {
        return None;
    }
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Some(point)
}

#[cfg(test)]
mod tests;
