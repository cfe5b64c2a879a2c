//! The exported key-value interfaces, each a thin filter over the host's
//! `wasi:keyvalue` draft2 store and atomics.

use std::cell::RefCell;

use crate::is_reserved;

mod bindings {
    wit_bindgen::generate!({
        world: "keyvalue-guard",
        path: "../wit",
        generate_all,
    });
}

use bindings::exports::fermyon::spin::key_value as spin1;
use bindings::exports::fermyon::spin2_0_0::key_value as spin2;
use bindings::exports::wasi::keyvalue::{atomics, batch, store};
use bindings::wasi::keyvalue::atomics as host_atomics;
use bindings::wasi::keyvalue::store as host;

struct Guard;

bindings::export!(Guard with_types_in bindings);

/// A key the gateway may not touch: the same answer as a store it was not granted.
fn check(key: &str) -> Result<(), host::Error> {
    if is_reserved(key) {
        Err(host::Error::AccessDenied)
    } else {
        Ok(())
    }
}

fn export_error(error: host::Error) -> store::Error {
    match error {
        host::Error::NoSuchStore => store::Error::NoSuchStore,
        host::Error::AccessDenied => store::Error::AccessDenied,
        host::Error::Other(message) => store::Error::Other(message),
    }
}

/// Every key of `bucket` the gateway may see, page by page.
fn visible_keys(bucket: &host::Bucket) -> Result<Vec<String>, host::Error> {
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = bucket.list_keys(cursor.as_deref())?;
        keys.extend(page.keys.into_iter().filter(|k| !is_reserved(k)));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(keys),
        }
    }
}

// ---------------------------------------------------------------------------
// wasi:keyvalue/store, atomics and batch @0.2.0-draft2

struct Bucket(host::Bucket);

impl store::Guest for Guard {
    type Bucket = Bucket;

    fn open(identifier: String) -> Result<store::Bucket, store::Error> {
        host::open(&identifier)
            .map(|bucket| store::Bucket::new(Bucket(bucket)))
            .map_err(export_error)
    }
}

impl store::GuestBucket for Bucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, store::Error> {
        check(&key)
            .and_then(|()| self.0.get(&key))
            .map_err(export_error)
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), store::Error> {
        check(&key)
            .and_then(|()| self.0.set(&key, &value))
            .map_err(export_error)
    }

    fn delete(&self, key: String) -> Result<(), store::Error> {
        check(&key)
            .and_then(|()| self.0.delete(&key))
            .map_err(export_error)
    }

    fn exists(&self, key: String) -> Result<bool, store::Error> {
        check(&key)
            .and_then(|()| self.0.exists(&key))
            .map_err(export_error)
    }

    fn list_keys(&self, cursor: Option<String>) -> Result<store::KeyResponse, store::Error> {
        let page = self.0.list_keys(cursor.as_deref()).map_err(export_error)?;
        Ok(store::KeyResponse {
            keys: page.keys.into_iter().filter(|k| !is_reserved(k)).collect(),
            // The host's cursor is the host's business; a reserved key as cursor
            // only says where a page ended.
            cursor: page.cursor,
        })
    }
}

struct Cas(host_atomics::Cas);

impl atomics::Guest for Guard {
    type Cas = Cas;

    fn increment(
        bucket: store::BucketBorrow<'_>,
        key: String,
        delta: i64,
    ) -> Result<i64, store::Error> {
        let bucket = &bucket.get::<Bucket>().0;
        check(&key)
            .and_then(|()| host_atomics::increment(bucket, &key, delta))
            .map_err(export_error)
    }

    fn swap(cas: atomics::Cas, value: Vec<u8>) -> Result<(), atomics::CasError> {
        let Cas(inner) = cas.into_inner::<Cas>();
        host_atomics::swap(inner, &value).map_err(|error| match error {
            host_atomics::CasError::StoreError(e) => atomics::CasError::StoreError(export_error(e)),
            host_atomics::CasError::CasFailed(retry) => {
                atomics::CasError::CasFailed(atomics::Cas::new(Cas(retry)))
            }
        })
    }
}

impl atomics::GuestCas for Cas {
    fn new(bucket: store::BucketBorrow<'_>, key: String) -> Result<atomics::Cas, store::Error> {
        let bucket = &bucket.get::<Bucket>().0;
        check(&key)
            .and_then(|()| host_atomics::Cas::new(bucket, &key))
            .map(|cas| atomics::Cas::new(Cas(cas)))
            .map_err(export_error)
    }

    fn current(&self) -> Result<Option<Vec<u8>>, store::Error> {
        self.0.current().map_err(export_error)
    }
}

/// Batches are key-by-key over the host's store: draft2 promises no atomicity
/// for them, and a batch with a reserved key is refused as a whole.
impl batch::Guest for Guard {
    fn get_many(
        bucket: store::BucketBorrow<'_>,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, store::Error> {
        let bucket = &bucket.get::<Bucket>().0;
        keys.iter()
            .try_for_each(|k| check(k))
            .map_err(export_error)?;
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            // Like Spin's own store: only the keys that exist are returned.
            if let Some(value) = bucket.get(&key).map_err(export_error)? {
                found.push((key, Some(value)));
            }
        }
        Ok(found)
    }

    fn set_many(
        bucket: store::BucketBorrow<'_>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), store::Error> {
        let bucket = &bucket.get::<Bucket>().0;
        key_values
            .iter()
            .try_for_each(|(k, _)| check(k))
            .map_err(export_error)?;
        key_values
            .iter()
            .try_for_each(|(k, v)| bucket.set(k, v))
            .map_err(export_error)
    }

    fn delete_many(bucket: store::BucketBorrow<'_>, keys: Vec<String>) -> Result<(), store::Error> {
        let bucket = &bucket.get::<Bucket>().0;
        keys.iter()
            .try_for_each(|k| check(k))
            .map_err(export_error)?;
        keys.iter()
            .try_for_each(|k| bucket.delete(k))
            .map_err(export_error)
    }
}

// ---------------------------------------------------------------------------
// fermyon:spin/key-value@2.0.0 (Spin 2.x SDKs)

fn spin2_error(error: host::Error) -> spin2::Error {
    match error {
        host::Error::NoSuchStore => spin2::Error::NoSuchStore,
        host::Error::AccessDenied => spin2::Error::AccessDenied,
        host::Error::Other(message) => spin2::Error::Other(message),
    }
}

struct Spin2Store(host::Bucket);

impl spin2::Guest for Guard {
    type Store = Spin2Store;
}

impl spin2::GuestStore for Spin2Store {
    fn open(label: String) -> Result<spin2::Store, spin2::Error> {
        host::open(&label)
            .map(|bucket| spin2::Store::new(Spin2Store(bucket)))
            .map_err(spin2_error)
    }

    fn get(&self, key: String) -> Result<Option<Vec<u8>>, spin2::Error> {
        check(&key)
            .and_then(|()| self.0.get(&key))
            .map_err(spin2_error)
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), spin2::Error> {
        check(&key)
            .and_then(|()| self.0.set(&key, &value))
            .map_err(spin2_error)
    }

    fn delete(&self, key: String) -> Result<(), spin2::Error> {
        check(&key)
            .and_then(|()| self.0.delete(&key))
            .map_err(spin2_error)
    }

    fn exists(&self, key: String) -> Result<bool, spin2::Error> {
        check(&key)
            .and_then(|()| self.0.exists(&key))
            .map_err(spin2_error)
    }

    fn get_keys(&self) -> Result<Vec<String>, spin2::Error> {
        visible_keys(&self.0).map_err(spin2_error)
    }
}

// ---------------------------------------------------------------------------
// fermyon:spin/key-value (Spin 1.x), whose stores are numbered handles

fn spin1_error(error: host::Error) -> spin1::Error {
    match error {
        host::Error::NoSuchStore => spin1::Error::NoSuchStore,
        host::Error::AccessDenied => spin1::Error::AccessDenied,
        host::Error::Other(message) => spin1::Error::Io(message),
    }
}

/// Spin 1.x's store table limit, kept so that a gateway sees the same errors.
const SPIN1_MAX_STORES: usize = 256;

thread_local! {
    /// Open Spin 1.x stores; a handle is an index here. Instances are per
    /// request, so this lives as long as one request.
    static SPIN1_STORES: RefCell<Vec<Option<host::Bucket>>> = const { RefCell::new(Vec::new()) };
}

fn with_spin1_store<T>(
    store: u32,
    f: impl FnOnce(&host::Bucket) -> Result<T, spin1::Error>,
) -> Result<T, spin1::Error> {
    SPIN1_STORES.with_borrow(|stores| match stores.get(store as usize) {
        Some(Some(bucket)) => f(bucket),
        _ => Err(spin1::Error::InvalidStore),
    })
}

fn spin1_check(key: &str) -> Result<(), spin1::Error> {
    check(key).map_err(spin1_error)
}

impl spin1::Guest for Guard {
    fn open(name: String) -> Result<u32, spin1::Error> {
        let bucket = host::open(&name).map_err(spin1_error)?;
        SPIN1_STORES.with_borrow_mut(|stores| {
            let slot = match stores.iter().position(Option::is_none) {
                Some(free) => free,
                None if stores.len() < SPIN1_MAX_STORES => {
                    stores.push(None);
                    stores.len() - 1
                }
                None => return Err(spin1::Error::StoreTableFull),
            };
            stores[slot] = Some(bucket);
            Ok(slot as u32)
        })
    }

    fn get(store: u32, key: String) -> Result<Vec<u8>, spin1::Error> {
        spin1_check(&key)?;
        with_spin1_store(store, |bucket| {
            bucket
                .get(&key)
                .map_err(spin1_error)?
                .ok_or(spin1::Error::NoSuchKey)
        })
    }

    fn set(store: u32, key: String, value: Vec<u8>) -> Result<(), spin1::Error> {
        spin1_check(&key)?;
        with_spin1_store(store, |bucket| {
            bucket.set(&key, &value).map_err(spin1_error)
        })
    }

    fn delete(store: u32, key: String) -> Result<(), spin1::Error> {
        spin1_check(&key)?;
        with_spin1_store(store, |bucket| bucket.delete(&key).map_err(spin1_error))
    }

    fn exists(store: u32, key: String) -> Result<bool, spin1::Error> {
        spin1_check(&key)?;
        with_spin1_store(store, |bucket| bucket.exists(&key).map_err(spin1_error))
    }

    fn get_keys(store: u32) -> Result<Vec<String>, spin1::Error> {
        with_spin1_store(store, |bucket| visible_keys(bucket).map_err(spin1_error))
    }

    fn close(store: u32) {
        SPIN1_STORES.with_borrow_mut(|stores| {
            if let Some(slot) = stores.get_mut(store as usize) {
                *slot = None;
            }
        });
    }
}
