//! A document cache that outlives Spin's per-request instances.
//!
//! Spin creates an instance per request, so keys kept in memory would be fetched
//! again for every request. Documents (the JWKS, discovery metadata) are kept in a
//! key-value [`Store`] instead (Spin's `wasi:keyvalue`, store `default`) with the
//! time they were fetched and their lifetime. The rules, like Envoy's
//! `remote_jwks` cache:
//!
//! - lifetime from `Cache-Control: max-age`, clamped to [60 s, 24 h]; 10 min when
//!   absent; a configured value overrides both;
//! - a refresh that fails keeps serving the cached copy for up to 24 h
//!   (stale-if-error, RFC 5861 §4); with nothing cached the caller gets the error;
//! - a forced refresh (a token names an unknown `kid`: keys may have rotated) is
//!   allowed at most once per 30 s per document, so random kids cannot hammer the
//!   provider;
//! - only documents that parse are stored: an HTML error page never replaces keys.
//!
//! Time and I/O come in through arguments and traits; this module does neither.

use url::Url;

/// Lifetime when the response has no usable `Cache-Control: max-age`.
pub const DEFAULT_LIFETIME: u64 = 600;
/// Shortest lifetime taken from `max-age` (also what `no-cache`/`no-store` get).
pub const MIN_LIFETIME: u64 = 60;
/// Longest lifetime taken from `max-age`.
pub const MAX_LIFETIME: u64 = 86_400;
/// How long past its lifetime a copy may be served when refreshes fail.
pub const STALE_IF_ERROR: u64 = 86_400;
/// Minimum spacing of forced refreshes of one document.
pub const REFRESH_COOLDOWN: u64 = 30;

/// Persistent bytes by key (the edge maps it onto `wasi:keyvalue/store`).
pub trait Store {
    /// The stored value, or `None` (absent, or the store failed).
    fn get(&mut self, key: &str) -> Option<Vec<u8>>;
    /// Stores a value; failures are ignored (the cache is an optimisation).
    fn set(&mut self, key: &str, value: &[u8]);
}

/// A fetched document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// `Cache-Control: max-age` of the response, if any.
    pub max_age: Option<u64>,
}

/// Fetches a document (the edge does it over `wasi:http`).
pub trait Fetcher {
    /// The body of a 200 response, or why there is none.
    fn fetch(&mut self, url: &Url) -> Result<Fetched, String>;
}

/// The `max-age` of a `Cache-Control` value; `no-store`/`no-cache` count as 0
/// (then clamped up to [`MIN_LIFETIME`]).
pub fn max_age(cache_control: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => return Some(0),
            "max-age" => max_age = value.trim().trim_matches('"').parse().ok(),
            _ => {}
        }
    }
    max_age
}

/// How long a document stays fresh.
pub fn lifetime(max_age: Option<u64>, configured: Option<u64>) -> u64 {
    configured.unwrap_or_else(|| {
        max_age.map_or(DEFAULT_LIFETIME, |m| m.clamp(MIN_LIFETIME, MAX_LIFETIME))
    })
}

/// A stored document with its timing.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    fetched_at: u64,
    lifetime: u64,
    /// Last fetch attempt, successful or not (paces forced refreshes).
    attempted_at: u64,
    body: Vec<u8>,
}

const ENTRY_MAGIC: &[u8] = b"authkit-cache-v1\n";

impl Entry {
    fn encode(&self) -> Vec<u8> {
        let mut out = ENTRY_MAGIC.to_vec();
        out.extend_from_slice(
            format!(
                "{} {} {}\n",
                self.fetched_at, self.lifetime, self.attempted_at
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        out
    }

    /// `None` for anything not written by [`Entry::encode`] (treated as a miss).
    fn decode(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(ENTRY_MAGIC)?;
        let newline = rest.iter().position(|b| *b == b'\n')?;
        let header = std::str::from_utf8(&rest[..newline]).ok()?;
        let mut numbers = header.split(' ').map(|n| n.parse::<u64>().ok());
        let (Some(Some(fetched_at)), Some(Some(lifetime)), Some(Some(attempted_at)), None) = (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) else {
            return None;
        };
        Some(Self {
            fetched_at,
            lifetime,
            attempted_at,
            body: rest[newline + 1..].to_vec(),
        })
    }

    fn is_fresh(&self, now: u64) -> bool {
        now < self.fetched_at.saturating_add(self.lifetime)
    }

    fn is_usable_stale(&self, now: u64) -> bool {
        now < self
            .fetched_at
            .saturating_add(self.lifetime)
            .saturating_add(STALE_IF_ERROR)
    }
}

/// The store key of a document.
pub fn cache_key(url: &Url) -> String {
    format!("authkit/v1/{url}")
}

/// Documents through the cache, for one request at time `now`.
pub struct DocumentCache<'a> {
    store: Option<&'a mut dyn Store>,
    fetcher: &'a mut dyn Fetcher,
    now: u64,
    configured_lifetime: Option<u64>,
}

impl<'a> DocumentCache<'a> {
    /// `store` is `None` when no store is granted: every call then fetches.
    pub fn new(
        store: Option<&'a mut dyn Store>,
        fetcher: &'a mut dyn Fetcher,
        now: u64,
        configured_lifetime: Option<u64>,
    ) -> Self {
        Self {
            store,
            fetcher,
            now,
            configured_lifetime,
        }
    }

    /// The document at `url`, parsed: the cached copy while fresh, else a new
    /// fetch, else (fetch failed) a stale copy within [`STALE_IF_ERROR`].
    pub fn get<T>(
        &mut self,
        url: &Url,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, String> {
        let key = cache_key(url);
        let cached = self.load(&key);
        if let Some(entry) = &cached {
            if entry.is_fresh(self.now) {
                if let Ok(parsed) = parse(&entry.body) {
                    return Ok(parsed);
                }
            }
        }
        match self.fetch_parsed(url, &parse) {
            Ok((parsed, fetched)) => {
                self.save(&key, fetched);
                Ok(parsed)
            }
            Err(err) => {
                let stale = cached
                    .filter(|e| e.is_usable_stale(self.now))
                    .and_then(|mut entry| {
                        let parsed = parse(&entry.body).ok()?;
                        entry.attempted_at = self.now;
                        self.put(&key, &entry);
                        Some(parsed)
                    });
                stale.ok_or(err)
            }
        }
    }

    /// Fetches `url` again, ahead of its lifetime, unless it was attempted less
    /// than [`REFRESH_COOLDOWN`] ago. `None`: not refreshed (cooldown or failure).
    pub fn refresh<T>(
        &mut self,
        url: &Url,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Option<T> {
        let key = cache_key(url);
        // Nothing cached (no store, or it failed): the caller's `get` fetched
        // moments ago, and a refetch would only double the traffic.
        let mut entry = self.load(&key)?;
        if self.now < entry.attempted_at.saturating_add(REFRESH_COOLDOWN) {
            return None;
        }
        match self.fetch_parsed(url, &parse) {
            Ok((parsed, fetched)) => {
                self.save(&key, fetched);
                Some(parsed)
            }
            Err(_) => {
                entry.attempted_at = self.now;
                self.put(&key, &entry);
                None
            }
        }
    }

    fn fetch_parsed<T>(
        &mut self,
        url: &Url,
        parse: &impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<(T, Fetched), String> {
        let fetched = self.fetcher.fetch(url)?;
        let parsed = parse(&fetched.body)?;
        Ok((parsed, fetched))
    }

    fn load(&mut self, key: &str) -> Option<Entry> {
        self.store
            .as_mut()?
            .get(key)
            .as_deref()
            .and_then(Entry::decode)
    }

    fn save(&mut self, key: &str, fetched: Fetched) {
        let entry = Entry {
            fetched_at: self.now,
            lifetime: lifetime(fetched.max_age, self.configured_lifetime),
            attempted_at: self.now,
            body: fetched.body,
        };
        self.put(key, &entry);
    }

    fn put(&mut self, key: &str, entry: &Entry) {
        if let Some(store) = self.store.as_mut() {
            store.set(key, &entry.encode());
        }
    }
}

#[cfg(test)]
mod tests;
