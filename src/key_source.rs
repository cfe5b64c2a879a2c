//! The authorization server's keys and metadata as one request sees them.
//!
//! Where the [`KeySource`] that [`crate::gate`] consults gets its answers:
//!
//! 1. the JWKS location: `authkit_jwks_uri`, or else the `jwks_uri` of the
//!    issuer's metadata, found by discovery ([`crate::discovery`]: RFC 8414 §3,
//!    then OpenID Connect Discovery §4);
//! 2. the metadata document and the JWKS, each through the cross-request
//!    [`DocumentCache`] (lifetimes, stale-if-error, failure backoff);
//! 3. when a token names a `kid` the keys lack, one early refetch of the JWKS,
//!    paced by [`crate::cache::REFRESH_COOLDOWN`] (the keys may have rotated);
//! 4. signature checks remembered across requests ([`crate::verified`]).
//!
//! Everything is sans-IO like the rest of the core: the time is an argument, the
//! network a [`Fetcher`], the key-value store a [`Store`] that is opened on first
//! use only (opening Spin's store is a host call, which a request without a token
//! never needs). Without a store every document is fetched for every request and
//! nothing is remembered. Each URL and document is read at most once per request.
//! The one effect besides the store and the fetcher is a line on stderr (Spin's
//! component log) saying why keys or metadata are unavailable: the client's 503
//! carries no detail.

use url::Url;

use crate::cache::{DocumentCache, Fetcher, Store};
use crate::config::Config;
use crate::discovery::{self, IssuerMetadata};
use crate::gate::{KeySource, KeysUnavailable};
use crate::jwks::KeySet;
use crate::verified::{Proof, VerifiedSignatures};

/// The [`KeySource`] of keys fetched from the issuer and cached in a store, for
/// one request at one time with one configuration.
///
/// `open_store` is called at most once, when the store is first needed; it
/// returns `None` when no store is granted.
pub struct CachingKeySource<S, F, O> {
    now: u64,
    fetcher: F,
    /// Taken when the store is first needed.
    open_store: Option<O>,
    store: Option<S>,
    /// The issuer's metadata, once looked up (only without `authkit_jwks_uri`, or
    /// to serve it).
    metadata: Option<Result<IssuerMetadata, String>>,
}

impl<S, F, O> CachingKeySource<S, F, O>
where
    S: Store,
    F: Fetcher,
    O: FnOnce() -> Option<S>,
{
    /// The key source of a request at `now` (Unix seconds): every document it
    /// fetches goes through `fetcher`, and the store comes from `open_store`.
    pub fn new(now: u64, fetcher: F, open_store: O) -> Self {
        Self {
            now,
            fetcher,
            open_store: Some(open_store),
            store: None,
            metadata: None,
        }
    }

    fn store(&mut self) -> Option<&mut S> {
        if let Some(open) = self.open_store.take() {
            self.store = open();
        }
        self.store.as_mut()
    }

    /// The document cache over this request's store and fetcher.
    fn cache(&mut self, configured_lifetime: Option<u64>) -> DocumentCache<'_> {
        self.store();
        let store = self.store.as_mut().map(|s| s as &mut dyn Store);
        DocumentCache::new(store, &mut self.fetcher, self.now, configured_lifetime)
    }

    /// The issuer's metadata document (cached, else discovered), looked up once
    /// per request.
    fn metadata(&mut self, issuer: &str) -> &Result<IssuerMetadata, String> {
        let metadata = match self.metadata.take() {
            Some(metadata) => metadata,
            None => self.discover(issuer),
        };
        self.metadata.insert(metadata)
    }

    fn discover(&mut self, issuer: &str) -> Result<IssuerMetadata, String> {
        let candidates = discovery::metadata_candidates(issuer);
        let cache_url = candidates.first().ok_or("issuer is not a URL")?;
        let read =
            |document: &[u8]| IssuerMetadata::parse(document, issuer).map_err(|e| format!("{e:?}"));
        self.cache(None).get_with(cache_url, read, |fetcher| {
            discovery::discover(fetcher, &candidates, issuer)
        })
    }

    fn jwks_uri(&mut self, config: &Config) -> Result<Url, String> {
        match &config.jwks_uri {
            Some(uri) => Ok(uri.clone()),
            None => match self.metadata(&config.issuer) {
                Ok(metadata) => Ok(metadata.jwks_uri.clone()),
                Err(detail) => Err(detail.clone()),
            },
        }
    }
}

impl<S, F, O> KeySource for CachingKeySource<S, F, O>
where
    S: Store,
    F: Fetcher,
    O: FnOnce() -> Option<S>,
{
    fn keys(&mut self, config: &Config) -> Result<KeySet, KeysUnavailable> {
        let uri = self.jwks_uri(config).map_err(unavailable)?;
        self.cache(config.jwks_cache_seconds)
            .get(&uri, parse_keys)
            .map_err(|e| unavailable(format!("JWKS {uri}: {e}")))
    }

    fn refreshed_keys(&mut self, config: &Config) -> Option<KeySet> {
        // Without a store nothing cached can be stale: `keys` fetched moments ago.
        self.store()?;
        let uri = self.jwks_uri(config).ok()?;
        self.cache(config.jwks_cache_seconds)
            .refresh(&uri, parse_keys)
    }

    fn server_metadata(&mut self, config: &Config) -> Result<Vec<u8>, KeysUnavailable> {
        match self.metadata(&config.issuer) {
            Ok(metadata) => Ok(metadata.document.clone()),
            Err(detail) => Err(unavailable(detail.clone())),
        }
    }

    fn signature_verified(&mut self, proof: &Proof) -> bool {
        let now = self.now;
        self.store()
            .is_some_and(|store| VerifiedSignatures::new(store, now).contains(proof))
    }

    fn remember_signature(&mut self, proof: &Proof, expires_at: u64) {
        let now = self.now;
        if let Some(store) = self.store() {
            VerifiedSignatures::new(store, now).insert(proof, expires_at);
        }
    }
}

fn parse_keys(document: &[u8]) -> Result<KeySet, String> {
    KeySet::parse(document).map_err(|e| e.to_string())
}

/// Logs why the keys or metadata could not be had (the client only learns that
/// they could not: a 503 without detail).
fn unavailable(detail: String) -> KeysUnavailable {
    eprintln!("authkit: authorization server unavailable: {detail}");
    KeysUnavailable { detail }
}

#[cfg(test)]
mod tests;
