use super::*;
use crate::test_support::MemoryStore;

/// Serves a scripted body (or an error) and counts fetches.
struct Origin {
    body: Result<&'static str, &'static str>,
    max_age: Option<u64>,
    fetches: usize,
}

impl Origin {
    fn serving(body: &'static str) -> Self {
        Self {
            body: Ok(body),
            max_age: None,
            fetches: 0,
        }
    }
}

impl Fetcher for Origin {
    fn fetch(&mut self, _: &Url) -> Result<Fetched, String> {
        self.fetches += 1;
        self.body
            .map(|b| Fetched {
                body: b.as_bytes().to_vec(),
                max_age: self.max_age,
            })
            .map_err(str::to_owned)
    }
}

fn url() -> Url {
    Url::parse("https://issuer.test/jwks").unwrap()
}

/// Accepts only documents starting with "keys".
fn parse(body: &[u8]) -> Result<String, String> {
    let text = String::from_utf8(body.to_vec()).map_err(|e| e.to_string())?;
    if text.starts_with("keys") {
        Ok(text)
    } else {
        Err("not keys".into())
    }
}

fn get(store: &mut MemoryStore, origin: &mut Origin, now: u64) -> Result<String, String> {
    DocumentCache::new(Some(store), origin, now, None).get(&url(), parse)
}

fn refresh(store: &mut MemoryStore, origin: &mut Origin, now: u64) -> Option<String> {
    DocumentCache::new(Some(store), origin, now, None).refresh(&url(), parse)
}

#[test]
fn cache_control_max_age() {
    assert_eq!(max_age("public, max-age=3600"), Some(3600));
    assert_eq!(max_age("max-age=\"120\", must-revalidate"), Some(120));
    assert_eq!(max_age("MAX-AGE=5"), Some(5));
    assert_eq!(max_age("no-store"), Some(0));
    assert_eq!(max_age("private, no-cache"), Some(0));
    assert_eq!(max_age("public"), None);
    assert_eq!(max_age("max-age=-1"), None);
    assert_eq!(max_age(""), None);
}

#[test]
fn lifetimes_are_clamped_and_overridable() {
    assert_eq!(lifetime(None, None), DEFAULT_LIFETIME);
    assert_eq!(lifetime(Some(5), None), MIN_LIFETIME);
    assert_eq!(lifetime(Some(0), None), MIN_LIFETIME);
    assert_eq!(lifetime(Some(3600), None), 3600);
    assert_eq!(lifetime(Some(10_000_000), None), MAX_LIFETIME);
    assert_eq!(lifetime(Some(3600), Some(30)), 30);
}

#[test]
fn fresh_copy_is_served_without_fetching() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    assert_eq!(get(&mut store, &mut origin, 1000).unwrap(), "keys-1");
    for now in 1000..1000 + DEFAULT_LIFETIME {
        assert_eq!(get(&mut store, &mut origin, now).unwrap(), "keys-1");
    }
    assert_eq!(origin.fetches, 1);
}

#[test]
fn expiry_triggers_a_refetch() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    origin.max_age = Some(120);
    get(&mut store, &mut origin, 1000).unwrap();
    get(&mut store, &mut origin, 1119).unwrap();
    assert_eq!(origin.fetches, 1);
    origin.body = Ok("keys-2");
    assert_eq!(get(&mut store, &mut origin, 1120).unwrap(), "keys-2");
    assert_eq!(origin.fetches, 2);
}

#[test]
fn stale_if_error_for_up_to_a_day() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    get(&mut store, &mut origin, 1000).unwrap();
    origin.body = Err("connection refused");
    let expired = 1000 + DEFAULT_LIFETIME;
    assert_eq!(get(&mut store, &mut origin, expired).unwrap(), "keys-1");
    assert_eq!(
        get(&mut store, &mut origin, expired + STALE_IF_ERROR - 1).unwrap(),
        "keys-1"
    );
    // Past the stale window (and the failure backoff) the error comes through.
    assert_eq!(
        get(
            &mut store,
            &mut origin,
            expired + STALE_IF_ERROR - 1 + FAILURE_BACKOFF
        ),
        Err("connection refused".into())
    );
    // With nothing cached, the error comes through.
    let mut empty = MemoryStore::default();
    assert!(get(&mut empty, &mut origin, 1000).is_err());
}

#[test]
fn documents_that_do_not_parse_are_not_stored() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("<html>"));
    assert!(get(&mut store, &mut origin, 1000).is_err());
    assert!(!store.0.contains_key(&cache_key(&url())));
    origin.body = Ok("keys-1");
    let later = 1000 + FAILURE_BACKOFF;
    get(&mut store, &mut origin, later).unwrap();
    origin.body = Ok("<html>");
    assert_eq!(
        get(&mut store, &mut origin, later + DEFAULT_LIFETIME).unwrap(),
        "keys-1"
    );
}

#[test]
fn forced_refresh_at_most_every_30_seconds() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    get(&mut store, &mut origin, 1000).unwrap();
    // Right after a fetch: no refresh.
    assert_eq!(refresh(&mut store, &mut origin, 1000), None);
    assert_eq!(refresh(&mut store, &mut origin, 1029), None);
    assert_eq!(origin.fetches, 1);
    origin.body = Ok("keys-2");
    assert_eq!(
        refresh(&mut store, &mut origin, 1030).as_deref(),
        Some("keys-2")
    );
    assert_eq!(origin.fetches, 2);
    // A flood of unknown kids: one fetch per 30 s at most.
    for now in 1030..1060 {
        assert_eq!(refresh(&mut store, &mut origin, now), None);
    }
    assert_eq!(origin.fetches, 2);
    // The refreshed copy is what later requests get.
    assert_eq!(get(&mut store, &mut origin, 1059).unwrap(), "keys-2");
}

#[test]
fn failed_refresh_also_waits_for_the_cooldown() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    get(&mut store, &mut origin, 1000).unwrap();
    origin.body = Err("down");
    assert_eq!(refresh(&mut store, &mut origin, 1100), None);
    assert_eq!(refresh(&mut store, &mut origin, 1110), None);
    assert_eq!(origin.fetches, 2);
    assert_eq!(
        get(&mut store, &mut origin, 1110).unwrap(),
        "keys-1",
        "old keys still served"
    );
}

#[test]
fn without_a_store_every_get_fetches_and_refresh_does_not() {
    let mut origin = Origin::serving("keys-1");
    for now in 0..3 {
        let mut cache = DocumentCache::new(None, &mut origin, now, None);
        assert_eq!(cache.get(&url(), parse).unwrap(), "keys-1");
        assert_eq!(cache.refresh(&url(), parse), None);
    }
    assert_eq!(origin.fetches, 3);
}

#[test]
fn corrupt_entries_are_misses() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    store.set(&cache_key(&url()), b"garbage");
    assert_eq!(get(&mut store, &mut origin, 1000).unwrap(), "keys-1");
    assert_eq!(origin.fetches, 1);
    let entry = Entry {
        fetched_at: 1,
        lifetime: 2,
        body: b"x\ny".to_vec(),
    };
    assert_eq!(Entry::decode(&entry.encode(), 1), Some(entry));
    assert_eq!(Entry::decode(b"authkit-doc-v2\n1 2 3\nbody", 10), None);
    assert_eq!(Entry::decode(b"authkit-doc-v2\n1 x\nbody", 10), None);
    // The format of earlier versions is not read at all (it was trusted differently).
    assert_eq!(Entry::decode(b"authkit-cache-v1\n1 2 3\nbody", 10), None);
}

/// Writes `value` under the document's key, as another writer of the store could.
fn plant(store: &mut MemoryStore, value: String) {
    store.set(&cache_key(&url()), value.as_bytes());
}

#[test]
fn entries_from_the_future_are_not_believed() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-real"));
    plant(
        &mut store,
        format!("authkit-doc-v2\n{} 600\nkeys-forged", 1000 + CLOCK_SKEW + 1),
    );
    assert_eq!(get(&mut store, &mut origin, 1000).unwrap(), "keys-real");
    assert_eq!(origin.fetches, 1);
    // Within the tolerated skew an entry counts (another instance's clock).
    plant(
        &mut store,
        format!("authkit-doc-v2\n{} 600\nkeys-skewed", 2000 + CLOCK_SKEW),
    );
    assert_eq!(get(&mut store, &mut origin, 2000).unwrap(), "keys-skewed");
}

#[test]
fn stored_lifetimes_are_clamped_to_the_maximum() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-real"));
    plant(
        &mut store,
        "authkit-doc-v2\n1000 4000000000\nkeys-old".to_owned(),
    );
    let now = 1000 + MAX_LIFETIME;
    assert_eq!(get(&mut store, &mut origin, now).unwrap(), "keys-real");
    assert_eq!(origin.fetches, 1);
}

#[test]
fn a_failed_fetch_is_remembered_for_the_backoff() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    origin.body = Err("down");
    assert_eq!(get(&mut store, &mut origin, 1000), Err("down".into()));
    for now in 1000..1000 + FAILURE_BACKOFF {
        let err = get(&mut store, &mut origin, now).unwrap_err();
        assert!(err.contains("failed"), "{err}");
    }
    assert_eq!(
        origin.fetches, 1,
        "a flood during the backoff fetches nothing"
    );
    origin.body = Ok("keys-1");
    assert_eq!(
        get(&mut store, &mut origin, 1000 + FAILURE_BACKOFF).unwrap(),
        "keys-1"
    );
    assert_eq!(origin.fetches, 2);
}

#[test]
fn during_a_backoff_a_stale_copy_is_served() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    get(&mut store, &mut origin, 1000).unwrap();
    origin.body = Err("down");
    let expired = 1000 + DEFAULT_LIFETIME;
    for now in expired..expired + FAILURE_BACKOFF {
        assert_eq!(get(&mut store, &mut origin, now).unwrap(), "keys-1");
    }
    assert_eq!(
        origin.fetches, 2,
        "one failed refresh, then none during the backoff"
    );
}

#[test]
fn one_request_refreshes_an_expired_copy_the_others_serve_it() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    get(&mut store, &mut origin, 1000).unwrap();
    let expired = 1000 + DEFAULT_LIFETIME;
    // Another request claimed the refresh a second ago and is still fetching.
    let pending = Attempt {
        at: expired - 1,
        outcome: Outcome::Pending,
    };
    store.set(&attempt_key(&url()), &pending.encode());
    origin.body = Ok("keys-2");
    assert_eq!(get(&mut store, &mut origin, expired).unwrap(), "keys-1");
    assert_eq!(origin.fetches, 1);
    // A claim older than the fetch deadline was abandoned: take it over.
    let now = expired - 1 + CLAIM_TIMEOUT;
    assert_eq!(get(&mut store, &mut origin, now).unwrap(), "keys-2");
    assert_eq!(origin.fetches, 2);
}

/// A store where every compare-and-swap loses to a concurrent writer.
struct Contended(MemoryStore);

impl Store for Contended {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key)
    }
    fn set(&mut self, key: &str, value: &[u8]) {
        self.0.set(key, value);
    }
    fn update(&mut self, _: &str, _: crate::cache::Update<'_>) -> bool {
        false
    }
}

#[test]
fn a_refresh_lost_to_a_concurrent_request_does_not_fetch() {
    let mut origin = Origin::serving("keys-1");
    let mut store = Contended(MemoryStore::default());
    DocumentCache::new(Some(&mut store), &mut origin, 1000, None)
        .get(&url(), parse)
        .unwrap();
    let later = 1000 + REFRESH_COOLDOWN;
    let mut cache = DocumentCache::new(Some(&mut store), &mut origin, later, None);
    assert_eq!(cache.refresh(&url(), parse), None);
    assert_eq!(origin.fetches, 1);
}

#[test]
fn attempt_records_from_the_future_do_not_block_refreshes() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    get(&mut store, &mut origin, 1000).unwrap();
    let forged = Attempt {
        at: 4_000_000_000,
        outcome: Outcome::Succeeded,
    };
    store.set(&attempt_key(&url()), &forged.encode());
    origin.body = Ok("keys-2");
    assert_eq!(
        refresh(&mut store, &mut origin, 1000 + REFRESH_COOLDOWN).as_deref(),
        Some("keys-2")
    );
}

#[test]
fn every_key_is_under_the_prefix_the_guard_reserves() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    get(&mut store, &mut origin, 1000).unwrap();
    refresh(&mut store, &mut origin, 2000).unwrap();
    origin.body = Err("down");
    let _ = refresh(&mut store, &mut origin, 3000);
    assert_eq!(store.0.len(), 2);
    assert!(
        store.0.keys().all(|k| k.starts_with(KEY_PREFIX)),
        "{:?}",
        store.0.keys()
    );
}

#[test]
fn configured_lifetime_overrides_cache_control() {
    let (mut store, mut origin) = (MemoryStore::default(), Origin::serving("keys-1"));
    origin.max_age = Some(3600);
    let mut cache = DocumentCache::new(Some(&mut store), &mut origin, 1000, Some(10));
    cache.get(&url(), parse).unwrap();
    get(&mut store, &mut origin, 1010).unwrap();
    assert_eq!(origin.fetches, 2);
}
