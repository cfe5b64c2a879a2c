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
    assert_eq!(
        get(&mut store, &mut origin, expired + STALE_IF_ERROR),
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
    assert!(store.0.is_empty());
    origin.body = Ok("keys-1");
    get(&mut store, &mut origin, 1001).unwrap();
    origin.body = Ok("<html>");
    assert_eq!(
        get(&mut store, &mut origin, 1001 + DEFAULT_LIFETIME).unwrap(),
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
        attempted_at: 3,
        body: b"x\ny".to_vec(),
    };
    assert_eq!(Entry::decode(&entry.encode()), Some(entry));
    assert_eq!(Entry::decode(b"authkit-cache-v1\n1 2\nbody"), None);
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
