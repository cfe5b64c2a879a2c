//! Signatures already verified, remembered across requests.
//!
//! Spin instantiates the component per request, so nothing in memory survives,
//! and checking a signature in Wasm (pure-Rust RSA or ECDSA) is the dominant
//! cost of an authenticated request. A client sends the same access token many
//! times, so a successful signature check is recorded in the key-value [`Store`]
//! under a [`Proof`]: SHA-256 over the exact bytes of the key set it was checked
//! against and the exact compact token.
//!
//! What this does not weaken:
//! - Only the signature is remembered. The header is parsed, and the claims
//!   (`exp`, `nbf`, `iat`, `iss`, `aud`, scopes) are checked again, on every
//!   request, against the current time and configuration.
//! - Key rotation and removal: the proof covers the whole JWKS document, so any
//!   change to the set the token was checked against (a removed or replaced key)
//!   makes every earlier proof miss, and the token is verified again.
//! - Forgery: a hit needs a byte-identical token (SHA-256 second preimage).
//!   Failed checks are never recorded.
//!
//! Storage is bounded: [`BUCKETS`] keys of at most [`BUCKET_CAPACITY`] entries,
//! each dropped once its token has expired. Whoever could write the store could
//! also replace the cached JWKS, so this adds no new trust in it; the wrapped
//! gateway cannot (the key-value guard of `compose.wac`, docs/SECURITY.md).

use hmac_sha256::Hash;

use crate::cache::Store;

/// Number of store keys the proofs are spread over (by their first byte).
pub const BUCKETS: usize = 256;
/// Proofs kept per bucket; the oldest goes first.
pub const BUCKET_CAPACITY: usize = 16;
/// Entries are kept this long past the token's `exp` (the largest leeway allowed).
const EXPIRY_GRACE: u64 = crate::config::MAX_LEEWAY_SECONDS;

const BUCKET_MAGIC: &str = "authkit-verified-v2\n";

/// A token's signature was verified against a key set: SHA-256 of both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proof([u8; 32]);

impl Proof {
    /// The proof for `token` checked against the key set with `keys_fingerprint`.
    pub fn new(keys_fingerprint: &[u8; 32], token: &str) -> Self {
        let mut hash = Hash::new();
        hash.update(b"authkit-verified-v2\0");
        hash.update(keys_fingerprint);
        hash.update(token.as_bytes());
        Self(hash.finalize())
    }

    fn hex(&self) -> String {
        hex(&self.0)
    }

    fn bucket_key(&self) -> String {
        format!("{}v2/verified/{:02x}", crate::cache::KEY_PREFIX, self.0[0])
    }
}

/// Proofs in a [`Store`], for one request at time `now`.
pub struct VerifiedSignatures<'a> {
    store: &'a mut dyn Store,
    now: u64,
}

impl<'a> VerifiedSignatures<'a> {
    /// The proofs in `store`, as a request at `now` (Unix seconds) sees them.
    pub fn new(store: &'a mut dyn Store, now: u64) -> Self {
        Self { store, now }
    }

    /// Whether `proof` was recorded (and its token has not long expired).
    pub fn contains(&mut self, proof: &Proof) -> bool {
        let wanted = proof.hex();
        let Some(bucket) = self.store.get(&proof.bucket_key()) else {
            return false;
        };
        let found = entries(&bucket).any(|(hex, expires_at)| {
            constant_time_eq(hex.as_bytes(), wanted.as_bytes()) && !self.is_stale(expires_at)
        });
        found
    }

    /// Records `proof` for a token that expires at `expires_at`.
    pub fn insert(&mut self, proof: &Proof, expires_at: u64) {
        let key = proof.bucket_key();
        let wanted = proof.hex();
        let bucket = self.store.get(&key).unwrap_or_default();
        let mut kept: Vec<(&str, u64)> = entries(&bucket)
            .filter(|(hex, expires_at)| *hex != wanted && !self.is_stale(*expires_at))
            .collect();
        let excess = (kept.len() + 1).saturating_sub(BUCKET_CAPACITY);
        kept.drain(..excess);
        let mut out = String::with_capacity(BUCKET_MAGIC.len() + (kept.len() + 1) * 86);
        out.push_str(BUCKET_MAGIC);
        for (hex, expires_at) in kept.into_iter().chain([(wanted.as_str(), expires_at)]) {
            out.push_str(hex);
            out.push(' ');
            out.push_str(&expires_at.to_string());
            out.push('\n');
        }
        self.store.set(&key, out.as_bytes());
    }

    fn is_stale(&self, expires_at: u64) -> bool {
        expires_at.saturating_add(EXPIRY_GRACE) < self.now
    }
}

/// The `(proof hex, expires_at)` lines of a bucket; anything unreadable is skipped
/// (a bucket not written by this version reads as empty).
fn entries(bucket: &[u8]) -> impl Iterator<Item = (&str, u64)> {
    let body = std::str::from_utf8(bucket)
        .ok()
        .and_then(|s| s.strip_prefix(BUCKET_MAGIC))
        .unwrap_or("");
    body.lines().filter_map(|line| {
        let (hex, expires_at) = line.split_once(' ')?;
        (hex.len() == 64).then_some(())?;
        Some((hex, expires_at.parse().ok()?))
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Compares without an early exit, so timing does not reveal how much of a
/// stored proof an attacker's token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
