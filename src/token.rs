//! Access-token verification: a pure function of the token, the key set, the
//! policy and the current time (no clock, no I/O).
//!
//! Order of checks: shape and size, header (`alg` allow-list, `crit`), candidate keys
//! by `kid` with the algorithm pinned by each key, signature (jwt-simple, each
//! candidate in turn until one verifies), then the claims, parsed strictly by this
//! module rather than trusting library defaults (jwt-simple tolerates 15 minutes of
//! skew and a missing `exp`).

use std::fmt;

use jwt_simple::prelude::{Duration, UnixTimeStamp, VerificationOptions};
use jwt_simple::reexports::ct_codecs::{Base64UrlSafeNoPadding, Decoder};
use jwt_simple::JWTError;
use serde::Deserialize;

use crate::jwks::{Algorithm, AlgorithmSet, KeySelectionError, KeySet};

/// What a token must satisfy besides its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Exact expected `iss`.
    pub issuer: String,
    /// `aud` must contain one of these; empty: not checked.
    pub audiences: Vec<String>,
    /// Skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u64,
    /// Largest token accepted, in bytes.
    pub max_token_bytes: usize,
    /// Algorithms accepted; others are refused as unsupported.
    pub algorithms: AlgorithmSet,
}

/// Why a token was refused. Each maps to a fixed, non-echoing description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than [`Policy::max_token_bytes`].
    TooLarge,
    /// Not three base64url segments, or a header that is not a JSON object.
    Malformed,
    /// `alg` is not an asymmetric algorithm we verify (`none`, HMAC, unknown).
    UnsupportedAlgorithm,
    /// The header lists critical extensions (`crit`); we understand none (RFC 7515 §4.1.11).
    UnsupportedCritical,
    /// `typ` names another kind of JWT than an access token (RFC 8725 §3.11).
    UnsupportedType,
    /// No key in the set may have signed the token: none carries its `kid` (and no
    /// key without a `kid` verifies it), or none fits its `alg`.
    UnknownKey,
    /// The keys named by `kid` do not allow the token's `alg`.
    AlgorithmMismatch,
    /// Every candidate key is unusable (bad or weak material).
    UnusableKey,
    /// The signature does not verify with any candidate key.
    BadSignature,
    /// The payload is not a valid claims set (types, duplicates, out-of-range dates).
    InvalidClaims,
    /// No `exp` claim.
    MissingExpiry,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is missing or differs from the configured issuer.
    WrongIssuer,
    /// `aud` is missing or does not contain an accepted audience.
    WrongAudience,
}

impl TokenError {
    /// Human-readable reason, safe for `error_description` (never includes input).
    pub fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "Token too large",
            Self::Malformed => "Invalid token format",
            Self::UnsupportedAlgorithm => "Unsupported token algorithm",
            Self::UnsupportedCritical => "Unsupported critical token header",
            Self::UnsupportedType => "Unsupported token type",
            Self::UnknownKey => "Unknown signing key",
            Self::AlgorithmMismatch => "Token algorithm does not match the signing key",
            Self::UnusableKey => "Signing key is not usable",
            Self::BadSignature => "Invalid token signature",
            Self::InvalidClaims => "Invalid token claims",
            Self::MissingExpiry => "Token has no expiration",
            Self::Expired => "Token has expired",
            Self::NotYetValid => "Token is not yet valid",
            Self::WrongIssuer => "Invalid token issuer",
            Self::WrongAudience => "Invalid token audience",
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for TokenError {}

impl From<KeySelectionError> for TokenError {
    fn from(e: KeySelectionError) -> Self {
        match e {
            KeySelectionError::UnknownKey => Self::UnknownKey,
            KeySelectionError::AlgorithmMismatch => Self::AlgorithmMismatch,
            KeySelectionError::UnusableKey => Self::UnusableKey,
        }
    }
}

/// What a verified token says about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The `sub` claim, if any.
    pub subject: Option<String>,
    /// The `exp` claim in whole seconds (rounded down): how long a remembered
    /// signature check of this token is worth keeping.
    pub expires_at: u64,
    /// Granted scopes: the `scope` claim (RFC 8693 §4.2 / RFC 9068 §2.2.3) when
    /// present, else `scp` (never their union); each a space-separated string or an
    /// array of strings.
    pub scopes: Vec<String>,
}

impl VerifiedToken {
    /// Whether every scope in `required` was granted.
    pub fn has_scopes(&self, required: &[String]) -> bool {
        required.iter().all(|r| self.scopes.iter().any(|s| s == r))
    }
}

/// The JOSE header members we act on; duplicates are rejected by serde.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Any `crit`, even empty (which RFC 7515 §4.1.11 forbids) or `null`, refuses the
    /// token: we implement no extension, so every listed one is unknown to us.
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` for a member that is present, whatever its value (`null` included,
/// which `Option` would read as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

/// The registered claims we check, parsed strictly.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    exp: Option<NumericDate>,
    #[serde(default)]
    nbf: Option<NumericDate>,
    #[serde(default)]
    iat: Option<NumericDate>,
    /// The granted scopes are `scope` when present (not `null`), else `scp`; never
    /// their union. `scope` is the registered claim (RFC 8693 §4.2, RFC 9068 §2.2.3);
    /// `scp` is the name some providers use instead (Azure AD: a space-separated
    /// string; Okta: an array). When an issuer sends both, the standard claim is the
    /// one it vouches for under the standard's meaning, and a union could grant what
    /// `scope` withholds (e.g. a token exchange that narrows `scope` but carries a
    /// wider provider `scp` along): the narrower reading wins. Both must be well
    /// typed ([`Scopes`]) even when only one is used.
    #[serde(default)]
    scope: Option<Scopes>,
    #[serde(default)]
    scp: Option<Scopes>,
}

/// A scope claim: one string of scopes separated by spaces (RFC 6749 §3.3: U+0020
/// only; empty items are dropped), or an array of strings, one scope each (taken
/// verbatim; empty strings dropped). Any other type (number, boolean, object, an
/// array holding a non-string) makes the claims invalid. Parsed straight into the
/// list, without a copy of the whole claim.
struct Scopes(Vec<String>);

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScopesVisitor)
    }
}

struct ScopesVisitor;

impl<'de> serde::de::Visitor<'de> for ScopesVisitor {
    type Value = Scopes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a space-separated string or an array of strings")
    }
    fn visit_str<E>(self, spaced: &str) -> Result<Scopes, E> {
        Ok(Scopes(
            spaced
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scopes, A::Error> {
        let mut scopes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(scope) = seq.next_element::<String>()? {
            if !scope.is_empty() {
                scopes.push(scope);
            }
        }
        Ok(Scopes(scopes))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains_any(&self, accepted: &[String]) -> bool {
        match self {
            Self::One(aud) => accepted.iter().any(|a| a == aud),
            Self::Many(auds) => auds.iter().any(|aud| accepted.iter().any(|a| a == aud)),
        }
    }
}

/// RFC 7519 §2 NumericDate: non-negative seconds, fractions allowed; anything
/// past year 9999 is treated as an encoding error, not as "valid forever".
#[derive(Clone, Copy)]
struct NumericDate(f64);

impl NumericDate {
    /// Whole seconds rounded down, for `exp`: with an integer `now` and leeway,
    /// `floor(exp) + leeway < now` exactly when `exp + leeway < now`.
    fn floor(self) -> u64 {
        self.0 as u64
    }

    /// Whole seconds rounded up, for `nbf` and `iat`: `ceil(t) > now + leeway`
    /// exactly when `t > now + leeway` (rounding down would accept a token up to a
    /// second early).
    fn ceil(self) -> u64 {
        self.0.ceil() as u64
    }
}

const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        if !(0.0..=MAX_NUMERIC_DATE).contains(&secs) {
            return Err(serde::de::Error::custom("NumericDate out of range"));
        }
        Ok(Self(secs))
    }
}

/// A token whose shape and header passed the checks that need no keys.
#[derive(Debug)]
pub struct ParsedToken<'a> {
    token: &'a str,
    payload_b64: &'a str,
    alg: Algorithm,
    kid: Option<String>,
}

impl ParsedToken<'_> {
    /// The compact serialization, as received.
    pub fn compact(&self) -> &str {
        self.token
    }
}

/// The checks that need no keys: size, compact shape, header (`alg` allowed,
/// no `crit`). Done before any key is fetched, so junk costs no JWKS lookup.
pub fn parse<'a>(token: &'a str, policy: &Policy) -> Result<ParsedToken<'a>, TokenError> {
    if token.len() > policy.max_token_bytes {
        return Err(TokenError::TooLarge);
    }
    let (header_b64, payload_b64) = split_compact(token)?;
    let header: Header = decode_json(header_b64).ok_or(TokenError::Malformed)?;
    if header.crit {
        return Err(TokenError::UnsupportedCritical);
    }
    let alg = Algorithm::from_name(&header.alg)
        .filter(|alg| policy.algorithms.contains(*alg))
        .ok_or(TokenError::UnsupportedAlgorithm)?;
    // jwt-simple reads the header again with its own types (`jwk` as a string,
    // `typ`, `x5c`): a header it would refuse is malformed here, before any key
    // fetch, rather than reported as "invalid claims" after it.
    let jose =
        jwt_simple::prelude::Token::decode_metadata(token).map_err(|_| TokenError::Malformed)?;
    if !jose.signature_type().is_none_or(is_access_token_type) {
        return Err(TokenError::UnsupportedType);
    }
    Ok(ParsedToken {
        token,
        payload_b64,
        alg,
        kid: header.kid,
    })
}

/// Verifies a compact JWS access token at time `now` (Unix seconds).
pub fn verify(
    token: &str,
    keys: &KeySet,
    policy: &Policy,
    now: u64,
) -> Result<VerifiedToken, TokenError> {
    verify_parsed(&parse(token, policy)?, keys, policy, now)
}

/// Signature and claims of a token that passed [`parse`].
pub fn verify_parsed(
    parsed: &ParsedToken<'_>,
    keys: &KeySet,
    policy: &Policy,
    now: u64,
) -> Result<VerifiedToken, TokenError> {
    let candidates = keys.candidates(parsed.alg, parsed.kid.as_deref())?;
    let kid_unmatched = candidates.kid_unmatched();
    let mut failure = TokenError::UnusableKey;
    for key in candidates {
        let Ok(key) = key else {
            continue;
        };
        match key
            .verify_token(parsed.token, library_options(policy, now))
            .map_err(map_library_error)
        {
            Ok(_) => return verified_claims(parsed, policy, now),
            // Not this key: try the next one.
            Err(TokenError::BadSignature) => failure = TokenError::BadSignature,
            // Checked before the signature (the same for every key) or after it (the
            // signature verified with this key): final either way.
            Err(err) => return Err(err),
        }
    }
    // A `kid` that named no key, unverified by the keys without a `kid`: an unknown
    // key, which may be one the set predates (the gate fetches the set again).
    Err(if kid_unmatched {
        TokenError::UnknownKey
    } else {
        failure
    })
}

/// The claims of a token whose signature is known to be good (just checked, or
/// remembered from an earlier request: [`crate::verified`]), held to the policy
/// at time `now`.
pub fn verified_claims(
    parsed: &ParsedToken<'_>,
    policy: &Policy,
    now: u64,
) -> Result<VerifiedToken, TokenError> {
    let claims: Claims = decode_json(parsed.payload_b64).ok_or(TokenError::InvalidClaims)?;
    check_claims(&claims, policy, now)?;
    Ok(VerifiedToken {
        subject: claims.sub,
        expires_at: claims.exp.map_or(0, NumericDate::floor),
        scopes: claims.scope.or(claims.scp).map_or_else(Vec::new, |s| s.0),
    })
}

fn check_claims(claims: &Claims, policy: &Policy, now: u64) -> Result<(), TokenError> {
    let leeway = policy.leeway_seconds;
    let exp = claims.exp.ok_or(TokenError::MissingExpiry)?.floor();
    if exp.saturating_add(leeway) < now {
        return Err(TokenError::Expired);
    }
    for not_before in [claims.nbf, claims.iat].into_iter().flatten() {
        if not_before.ceil() > now.saturating_add(leeway) {
            return Err(TokenError::NotYetValid);
        }
    }
    if claims.iss.as_deref() != Some(policy.issuer.as_str()) {
        return Err(TokenError::WrongIssuer);
    }
    if !policy.audiences.is_empty()
        && !claims
            .aud
            .as_ref()
            .is_some_and(|aud| aud.contains_any(&policy.audiences))
    {
        return Err(TokenError::WrongAudience);
    }
    Ok(())
}

/// jwt-simple checks the same rules again; its options are set explicitly so
/// that none of its defaults (15 min skew, 1 MB tokens) applies.
fn library_options(policy: &Policy, now: u64) -> VerificationOptions {
    VerificationOptions {
        time_tolerance: Some(Duration::from_secs(policy.leeway_seconds)),
        max_token_length: Some(policy.max_token_bytes),
        artificial_time: Some(UnixTimeStamp::from_secs(now)),
        ..VerificationOptions::default()
    }
}

/// Downcasts jwt-simple's `anyhow` error once, here.
fn map_library_error(err: jwt_simple::Error) -> TokenError {
    match err.downcast_ref::<JWTError>() {
        Some(JWTError::InvalidSignature) => TokenError::BadSignature,
        Some(JWTError::AlgorithmMismatch) => TokenError::AlgorithmMismatch,
        Some(JWTError::TokenHasExpired) => TokenError::Expired,
        Some(JWTError::TokenNotValidYet | JWTError::ClockDrift) => TokenError::NotYetValid,
        Some(JWTError::TokenTooLong) => TokenError::TooLarge,
        Some(JWTError::UnknownCriticalExtension) => TokenError::UnsupportedCritical,
        Some(JWTError::CompactEncodingError | JWTError::HeaderTooLarge | JWTError::NotJWT) => {
            TokenError::Malformed
        }
        // Anything else (e.g. claims that do not deserialize) after our own header
        // checks passed concerns the payload.
        _ => {
            if err.downcast_ref::<serde_json::Error>().is_some() {
                TokenError::InvalidClaims
            } else {
                TokenError::BadSignature
            }
        }
    }
}

/// Splits `header.payload.signature`, accepting only the base64url alphabet
/// (no padding, no `+`/`/`, no whitespace) and three non-empty segments.
fn split_compact(token: &str) -> Result<(&str, &str), TokenError> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if valid(h) && valid(p) && valid(s) => Ok((h, p)),
        _ => Err(TokenError::Malformed),
    }
}

fn decode_json<T: for<'de> Deserialize<'de>>(segment: &str) -> Option<T> {
    let bytes = Base64UrlSafeNoPadding::decode_to_vec(segment, None).ok()?;
    serde_json::from_slice::<UniqueMembers>(&bytes).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `typ` values an access token may carry (case-insensitive, RFC 7515 §4.1.9):
/// the generic `JWT` that most providers send, or RFC 9068's `at+jwt`. Other
/// types are other kinds of JWT (logout tokens, SETs, DPoP proofs) and are
/// refused (RFC 8725 §3.11).
fn is_access_token_type(typ: &str) -> bool {
    ["JWT", "at+jwt", "application/at+jwt"]
        .iter()
        .any(|t| typ.eq_ignore_ascii_case(t))
}

/// Any JSON value in which no object repeats a member name, at any depth:
/// duplicates are refused rather than resolved last-wins, so that no other
/// parser (the gateway's included) can read a different value (RFC 7515 §5.2,
/// RFC 7519 §4).
struct UniqueMembers;

impl<'de> Deserialize<'de> for UniqueMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueMembers)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueMembers {
    type Value = UniqueMembers;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<UniqueMembers>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut names = std::collections::HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !names.insert(name) {
                return Err(serde::de::Error::custom("duplicate member name"));
            }
            map.next_value::<UniqueMembers>()?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
