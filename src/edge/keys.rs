//! The authorization server as seen from a request: its keys and metadata,
//! through the cross-request cache in Spin's key-value store `default`.

use url::Url;

use super::bindings::wasi::keyvalue::atomics;
use super::bindings::wasi::keyvalue::store::{self as kv, Bucket};
use super::fetch;
use crate::cache::{DocumentCache, Store};
use crate::config::Config;
use crate::discovery::{self, MetadataDiscovery};
use crate::gate::{KeySource, KeysUnavailable};
use crate::jwks::KeySet;
use crate::verified::{Proof, VerifiedSignatures};

/// The key-value store label Spin grants with `key_value_stores = ["default"]`.
const STORE_LABEL: &str = "default";

/// Keys and metadata for one request; the store is opened on first use only.
pub struct IssuerSource {
    now: u64,
    store: Option<Option<KvStore>>,
    /// All of this request's fetches share one deadline.
    http: fetch::HttpFetcher,
}

impl IssuerSource {
    pub fn new(now: u64) -> Self {
        Self {
            now,
            store: None,
            http: fetch::HttpFetcher::default(),
        }
    }

    fn store(&mut self) -> Option<&mut dyn Store> {
        self.store
            .get_or_insert_with(|| match kv::open(STORE_LABEL) {
                Ok(bucket) => Some(KvStore(bucket)),
                Err(err) => {
                    eprintln!(
                        "authkit: key-value store {STORE_LABEL:?} unavailable ({err:?}); \
                         keys are fetched on every request (grant it with key_value_stores = [\"default\"])"
                    );
                    None
                }
            })
            .as_mut()
            .map(|s| s as &mut dyn Store)
    }

    /// The issuer's metadata document (discovered and cached).
    fn metadata(&mut self, config: &Config) -> Result<Vec<u8>, String> {
        let key = MetadataDiscovery::cache_url(&config.issuer).ok_or("issuer is not a URL")?;
        let now = self.now;
        let issuer = config.issuer.as_str();
        let mut http = std::mem::take(&mut self.http);
        let mut discovery = MetadataDiscovery {
            fetcher: &mut http,
            issuer,
        };
        let document =
            DocumentCache::new(self.store(), &mut discovery, now, None).get(&key, |doc| {
                discovery::jwks_uri(doc, issuer)
                    .map(|_| doc.to_vec())
                    .map_err(|e| format!("{e:?}"))
            });
        self.http = http;
        document
    }

    fn jwks_uri(&mut self, config: &Config) -> Result<Url, String> {
        match &config.jwks_uri {
            Some(uri) => Ok(uri.clone()),
            None => {
                let doc = self.metadata(config)?;
                discovery::jwks_uri(&doc, &config.issuer).map_err(|e| format!("{e:?}"))
            }
        }
    }

    fn with_jwks_cache<T>(
        &mut self,
        config: &Config,
        use_cache: impl FnOnce(&mut DocumentCache<'_>, &Url) -> T,
    ) -> Result<T, String> {
        let uri = self.jwks_uri(config)?;
        let now = self.now;
        let mut http = std::mem::take(&mut self.http);
        let mut cache = DocumentCache::new(self.store(), &mut http, now, config.jwks_cache_seconds);
        let result = use_cache(&mut cache, &uri);
        self.http = http;
        Ok(result)
    }
}

fn parse_keys(document: &[u8]) -> Result<KeySet, String> {
    KeySet::parse(document).map_err(|e| e.to_string())
}

impl KeySource for IssuerSource {
    fn keys(&mut self, config: &Config) -> Result<KeySet, KeysUnavailable> {
        self.with_jwks_cache(config, |cache, uri| {
            cache
                .get(uri, parse_keys)
                .map_err(|e| format!("JWKS {uri}: {e}"))
        })
        .and_then(|r| r)
        .map_err(unavailable)
    }

    fn refreshed_keys(&mut self, config: &Config) -> Option<KeySet> {
        // Without a store nothing cached can be stale (`keys` fetched moments ago),
        // and finding the JWKS URI again would repeat discovery's fetches.
        self.store()?;
        self.with_jwks_cache(config, |cache, uri| cache.refresh(uri, parse_keys))
            .ok()
            .flatten()
    }

    fn server_metadata(&mut self, config: &Config) -> Result<Vec<u8>, KeysUnavailable> {
        self.metadata(config).map_err(unavailable)
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

fn unavailable(detail: String) -> KeysUnavailable {
    eprintln!("authkit: authorization server unavailable: {detail}");
    KeysUnavailable { detail }
}

struct KvStore(Bucket);

impl Store for KvStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).ok().flatten()
    }

    fn set(&mut self, key: &str, value: &[u8]) {
        if let Err(err) = self.0.set(key, value) {
            eprintln!("authkit: caching {key} failed: {err:?}");
        }
    }

    /// One `wasi:keyvalue/atomics` compare-and-swap; a lost race (or a store
    /// without atomics) is `false`.
    fn update(&mut self, key: &str, update: crate::cache::Update<'_>) -> bool {
        let Ok(cas) = atomics::Cas::new(&self.0, key) else {
            return false;
        };
        let Ok(current) = cas.current() else {
            return false;
        };
        match update(current.as_deref()) {
            Some(value) => atomics::swap(cas, &value).is_ok(),
            None => false,
        }
    }
}
