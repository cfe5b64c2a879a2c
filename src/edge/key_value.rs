//! Spin's key-value store `default` as the core's [`Store`]: the cache of
//! documents and remembered signature checks that outlives each request's
//! instance ([`crate::key_source`]).

use super::bindings::wasi::keyvalue::atomics;
use super::bindings::wasi::keyvalue::store::{self as kv, Bucket};
use crate::cache::{Store, Update};

/// The key-value store label Spin grants with `key_value_stores = ["default"]`.
const STORE_LABEL: &str = "default";

/// Opens the store (a host call: the key source makes it on first use only);
/// `None`, said in the log, when it is not granted.
pub fn open() -> Option<KvStore> {
    match kv::open(STORE_LABEL) {
        Ok(bucket) => Some(KvStore(bucket)),
        Err(err) => {
            eprintln!(
                "authkit: key-value store {STORE_LABEL:?} unavailable ({err:?}); \
                 keys are fetched on every request (grant it with key_value_stores = [\"default\"])"
            );
            None
        }
    }
}

/// A `wasi:keyvalue` bucket.
pub struct KvStore(Bucket);

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
    fn update(&mut self, key: &str, update: Update<'_>) -> bool {
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
