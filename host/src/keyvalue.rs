//! `wasi:keyvalue@0.2.0-draft2` (`store`, `atomics`, `batch`): Spin's key-value stores.
//!
//! One in-memory map per server, shared by every request (instances are per
//! request, so this is what makes state outlive them, like Spin's default
//! SQLite store). wasmtime-wasi-keyvalue implements another draft, so the
//! interfaces are bound here from the vendored WIT.
//!
//! Behaviour follows Spin 3's implementation where it is observable:
//! - `open` of a label the component was not granted is `access-denied`;
//! - `increment` stores the counter as 8 little-endian bytes;
//! - `get-many` returns only the keys that exist.
//!
//! `cas` compares against the value seen by `cas.new` or by the latest
//! `cas.current`, and `swap` fails with `cas-failed` (carrying a fresh handle)
//! when the stored value is no longer that one, including when it was absent
//! and has since been created.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "authkit:host/keyvalue",
        imports: { default: trappable },
        with: {
            "wasi:keyvalue/store.bucket": crate::keyvalue::Bucket,
            "wasi:keyvalue/atomics.cas": crate::keyvalue::Cas,
        },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};
use store::{Error, KeyResponse};

/// Keys returned per `list-keys` page; the cursor is the last key of a page.
const LIST_KEYS_PAGE: usize = 1000;

type Stores = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

/// The key-value data of one server: store label -> key -> value.
///
/// Cheap to clone (a shared handle). Tests use it to inspect, seed or clear
/// what guests stored.
#[derive(Clone, Default, Debug)]
pub struct KeyValueData {
    stores: Arc<Mutex<Stores>>,
}

impl KeyValueData {
    pub fn new() -> Self {
        Self::default()
    }

    /// Never fails: a guest can't poison the lock (host code doesn't panic while
    /// holding it), and if it ever were poisoned the data is still consistent.
    fn lock(&self) -> MutexGuard<'_, Stores> {
        self.stores.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, store: &str, key: &str) -> Option<Vec<u8>> {
        self.lock().get(store)?.get(key).cloned()
    }

    pub fn set(&self, store: &str, key: &str, value: impl Into<Vec<u8>>) {
        self.lock()
            .entry(store.to_string())
            .or_default()
            .insert(key.to_string(), value.into());
    }

    /// Returns whether the key existed.
    pub fn delete(&self, store: &str, key: &str) -> bool {
        self.lock()
            .get_mut(store)
            .is_some_and(|s| s.remove(key).is_some())
    }

    /// The keys of one store, sorted.
    pub fn keys(&self, store: &str) -> Vec<String> {
        self.lock()
            .get(store)
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A copy of everything: label -> key -> value.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
        self.lock().clone()
    }

    /// Empties one store.
    pub fn clear_store(&self, store: &str) {
        self.lock().remove(store);
    }

    /// Empties every store.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Per-server key-value state handed to each request: the data and the labels
/// the component may open.
#[derive(Clone)]
pub(crate) struct KeyValueCtx {
    pub(crate) data: KeyValueData,
    pub(crate) granted: Arc<[String]>,
}

/// The guest's handle to an opened store.
pub struct Bucket {
    label: String,
}

/// The guest's handle to a compare-and-swap in progress.
pub struct Cas {
    label: String,
    key: String,
    /// The value the swap expects to replace (`None`: the key must be absent).
    expected: Option<Vec<u8>>,
}

/// What the key-value host functions see of a request's state.
pub(crate) struct KeyValueView<'a> {
    pub(crate) ctx: &'a KeyValueCtx,
    pub(crate) table: &'a mut ResourceTable,
}

struct KeyValue;

impl HasData for KeyValue {
    type Data<'a> = KeyValueView<'a>;
}

pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> KeyValueView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, KeyValue>(linker, get)?;
    atomics::add_to_linker::<T, KeyValue>(linker, get)?;
    batch::add_to_linker::<T, KeyValue>(linker, get)?;
    Ok(())
}

type KvResult<T> = wasmtime::Result<Result<T, Error>>;

impl KeyValueView<'_> {
    /// The label of an open bucket (a bad handle is a host bug, hence a trap).
    fn label(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<String> {
        Ok(self.table.get(bucket)?.label.clone())
    }

    /// Runs `f` on the map of the bucket's store (created on first use).
    fn with_store<R>(
        &self,
        bucket: &Resource<Bucket>,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> R,
    ) -> wasmtime::Result<R> {
        let label = self.label(bucket)?;
        let mut stores = self.ctx.data.lock();
        Ok(f(stores.entry(label).or_default()))
    }
}

impl store::Host for KeyValueView<'_> {
    fn open(&mut self, identifier: String) -> KvResult<Resource<Bucket>> {
        if !self.ctx.granted.contains(&identifier) {
            return Ok(Err(Error::AccessDenied));
        }
        Ok(Ok(self.table.push(Bucket { label: identifier })?))
    }
}

impl store::HostBucket for KeyValueView<'_> {
    fn get(&mut self, bucket: Resource<Bucket>, key: String) -> KvResult<Option<Vec<u8>>> {
        self.with_store(&bucket, |s| Ok(s.get(&key).cloned()))
    }

    fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> KvResult<()> {
        self.with_store(&bucket, |s| {
            s.insert(key, value);
            Ok(())
        })
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> KvResult<()> {
        self.with_store(&bucket, |s| {
            s.remove(&key);
            Ok(())
        })
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> KvResult<bool> {
        self.with_store(&bucket, |s| Ok(s.contains_key(&key)))
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> KvResult<KeyResponse> {
        self.with_store(&bucket, |s| {
            let start = match cursor {
                Some(c) => Bound::Excluded(c),
                None => Bound::Unbounded,
            };
            let mut keys: Vec<String> = s
                .range((start, Bound::Unbounded))
                .take(LIST_KEYS_PAGE + 1)
                .map(|(k, _)| k.clone())
                .collect();
            let cursor = if keys.len() > LIST_KEYS_PAGE {
                keys.truncate(LIST_KEYS_PAGE);
                keys.last().cloned()
            } else {
                None
            };
            Ok(KeyResponse { keys, cursor })
        })
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueView<'_> {
    fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: i64) -> KvResult<i64> {
        self.with_store(&bucket, |s| {
            let current = match s.get(&key) {
                None => 0,
                Some(v) => match <[u8; 8]>::try_from(v.as_slice()) {
                    Ok(bytes) => i64::from_le_bytes(bytes),
                    Err(_) => {
                        return Err(Error::Other(format!(
                            "value of `{key}` is not an 8-byte little-endian integer"
                        )))
                    }
                },
            };
            let Some(new) = current.checked_add(delta) else {
                return Err(Error::Other(format!("increment of `{key}` overflows i64")));
            };
            s.insert(key, new.to_le_bytes().to_vec());
            Ok(new)
        })
    }

    fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let cas = self.table.delete(cas)?;
        let mut stores = self.ctx.data.lock();
        let store = stores.entry(cas.label.clone()).or_default();
        if store.get(&cas.key) == cas.expected.as_ref() {
            store.insert(cas.key, value);
            return Ok(Ok(()));
        }
        // Lost the race: hand back a handle primed with the latest value.
        let expected = store.get(&cas.key).cloned();
        drop(stores);
        let retry = self.table.push(Cas { expected, ..cas })?;
        Ok(Err(atomics::CasError::CasFailed(retry)))
    }
}

impl atomics::HostCas for KeyValueView<'_> {
    fn new(&mut self, bucket: Resource<Bucket>, key: String) -> KvResult<Resource<Cas>> {
        let label = self.label(&bucket)?;
        let expected = self.ctx.data.get(&label, &key);
        Ok(Ok(self.table.push(Cas {
            label,
            key,
            expected,
        })?))
    }

    fn current(&mut self, cas: Resource<Cas>) -> KvResult<Option<Vec<u8>>> {
        let cas = self.table.get_mut(&cas)?;
        cas.expected = self.ctx.data.get(&cas.label, &cas.key);
        Ok(Ok(cas.expected.clone()))
    }

    fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for KeyValueView<'_> {
    fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> KvResult<Vec<(String, Option<Vec<u8>>)>> {
        self.with_store(&bucket, |s| {
            Ok(keys
                .into_iter()
                .filter_map(|k| s.get(&k).cloned().map(|v| (k, Some(v))))
                .collect())
        })
    }

    fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> KvResult<()> {
        self.with_store(&bucket, |s| {
            s.extend(key_values);
            Ok(())
        })
    }

    fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> KvResult<()> {
        self.with_store(&bucket, |s| {
            for k in keys {
                s.remove(&k);
            }
            Ok(())
        })
    }
}
