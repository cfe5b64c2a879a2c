//! The JWKS/metadata document cache with fuzzer-chosen stored bytes (document
//! entry and attempt record), fetch outcome, `Cache-Control` value, configured
//! lifetime and times. Asserts: no panic; `lifetime` stays within its bounds; a
//! document is served only if it was just fetched or was stored by the cache
//! (never an undecodable entry, never one dated after now + the clock skew), and
//! only if it parses; at most one fetch; what the cache writes reads back: at the
//! same time with the provider down it is served, and a day past its lifetime it
//! is not; a forced refresh never fetches within the cooldown.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use url::Url;

use wasmcp_spin_authkit::cache::{
    self, DocumentCache, Fetched, Fetcher, Store, CLOCK_SKEW, MAX_LIFETIME, MIN_LIFETIME,
    STALE_IF_ERROR,
};

#[derive(Arbitrary, Debug)]
struct Input {
    stored: Option<Vec<u8>>,
    attempt: Option<Vec<u8>>,
    fetched: Option<Vec<u8>>,
    cache_control: String,
    configured: Option<u64>,
    now: u64,
    refresh: bool,
}

#[derive(Clone, Default)]
struct Memory(HashMap<String, Vec<u8>>);

impl Store for Memory {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn set(&mut self, key: &str, value: &[u8]) {
        assert!(key.starts_with(cache::KEY_PREFIX));
        self.0.insert(key.to_owned(), value.to_vec());
    }
    fn update(
        &mut self,
        key: &str,
        update: cache::Update<'_>,
    ) -> bool {
        let new = update(self.0.get(key).map(Vec::as_slice));
        new.map(|value| self.set(key, &value)).is_some()
    }
}

struct Provider {
    body: Option<Vec<u8>>,
    max_age: Option<u64>,
    calls: usize,
}

impl Fetcher for Provider {
    fn fetch(&mut self, _: &Url) -> Result<Fetched, String> {
        self.calls += 1;
        self.body
            .clone()
            .map(|body| Fetched {
                body,
                max_age: self.max_age,
            })
            .ok_or_else(|| "down".to_owned())
    }
}

/// Documents "parse" when they start with `{`.
fn parse(body: &[u8]) -> Result<Vec<u8>, String> {
    if body.first() == Some(&b'{') {
        Ok(body.to_vec())
    } else {
        Err("not a document".into())
    }
}

const MAGIC: &[u8] = b"authkit-doc-v2\n";

/// `fetched_at` of a stored entry, if its header reads.
fn fetched_at(entry: &[u8]) -> Option<u64> {
    let rest = entry.strip_prefix(MAGIC)?;
    let header = rest.split(|b| *b == b'\n').next()?;
    std::str::from_utf8(header)
        .ok()?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

fuzz_target!(|input: Input| {
    let max_age = cache::max_age(&input.cache_control);
    let lifetime = cache::lifetime(max_age, input.configured);
    match input.configured {
        Some(c) => assert_eq!(lifetime, c),
        None => assert!((MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime)),
    }
    // Stay clear of u64 saturation at the end of time.
    let now = input.now % (1 << 48);
    let url = Url::parse("https://issuer.test/jwks").unwrap();
    let doc_key = cache::cache_key(&url);
    let mut store = Memory::default();
    if let Some(stored) = &input.stored {
        store.0.insert(doc_key.clone(), stored.clone());
    }
    if let Some(attempt) = &input.attempt {
        store
            .0
            .insert(format!("authkit/v2/attempt/{url}"), attempt.clone());
    }
    let mut provider = Provider {
        body: input.fetched.clone(),
        max_age,
        calls: 0,
    };
    let fetched_ok = input.fetched.as_deref().is_some_and(|b| parse(b).is_ok());
    let mut cache = DocumentCache::new(Some(&mut store), &mut provider, now, input.configured);
    let result = if input.refresh {
        cache.refresh(&url, parse).ok_or_else(String::new)
    } else {
        cache.get(&url, parse)
    };
    let calls = provider.calls;
    assert!(calls <= 1);

    if let Ok(body) = &result {
        assert!(parse(body).is_ok());
        let from_fetch = calls == 1 && fetched_ok && input.fetched.as_ref() == Some(body);
        let from_store = input.stored.as_deref().is_some_and(|s| {
            s.starts_with(MAGIC)
                && s.ends_with(body)
                && fetched_at(s).is_some_and(|t| t <= now + CLOCK_SKEW)
        });
        assert!(
            from_fetch || from_store,
            "served a document from nowhere (or the future)"
        );
    }
    if input.refresh {
        // Without a decodable stored entry there is nothing to refresh.
        if !input
            .stored
            .as_deref()
            .is_some_and(|s| s.starts_with(MAGIC))
        {
            assert_eq!(calls, 0);
        }
    }
    if calls == 1 && fetched_ok {
        // A fresh fetch was stored: it reads back now with the provider down...
        let stored = store.0.get(&doc_key).cloned();
        assert!(stored.as_deref().is_some_and(|s| s.starts_with(MAGIC)));
        let body = input.fetched.clone().unwrap();
        let mut down = Provider {
            body: None,
            max_age: None,
            calls: 0,
        };
        let mut again = store.clone();
        let got =
            DocumentCache::new(Some(&mut again), &mut down, now, input.configured).get(&url, parse);
        assert_eq!(got.as_ref(), Ok(&body));
        // ... and is not served beyond its lifetime plus the stale-if-error window.
        let late = now + lifetime.min(1 << 40) + STALE_IF_ERROR;
        if lifetime < (1 << 40) {
            let mut down = Provider {
                body: None,
                max_age: None,
                calls: 0,
            };
            let mut again = Memory::default();
            again.0.insert(doc_key.clone(), stored.unwrap());
            let got = DocumentCache::new(Some(&mut again), &mut down, late, input.configured)
                .get(&url, parse);
            assert!(got.is_err(), "served past stale-if-error");
        }
        // A forced refresh right after a fetch is within the cooldown.
        let mut up = Provider {
            body: Some(body),
            max_age: None,
            calls: 0,
        };
        let _ = DocumentCache::new(Some(&mut store), &mut up, now, input.configured)
            .refresh(&url, parse);
        assert_eq!(up.calls, 0, "refresh within the cooldown");
    }
});
