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
//! - a failed fetch is remembered for [`FAILURE_BACKOFF`]: until then no request
//!   fetches that document again (a flood of requests cannot hammer a provider
//!   that is down);
//! - a forced refresh (a token names an unknown `kid`: keys may have rotated) is
//!   allowed at most once per 30 s per document, and only to the request that wins
//!   a compare-and-swap on the document's attempt record, so concurrent requests
//!   with random kids cannot hammer the provider; refreshes of an expired copy are
//!   claimed the same way (one request fetches, the others serve the stale copy);
//! - only documents that parse are stored: an HTML error page never replaces keys.
//!
//! What is read back is checked, not trusted blindly: a timestamp in the future
//! makes an entry a miss, a lifetime is clamped to [`MAX_LIFETIME`], and a body
//! that does not parse is never used. (The store itself is out of the wrapped
//! gateway's reach: `compose.wac`'s key-value guard; docs/SECURITY.md.)
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
/// How long a failed fetch stops further fetches of the same document.
pub const FAILURE_BACKOFF: u64 = 10;
/// How long a claimed refresh of an expired copy is left to its claimant (the
/// fetch deadline) before another request may claim it.
pub const CLAIM_TIMEOUT: u64 = 10;
/// Largest clock difference tolerated between instances writing the store: a
/// later timestamp is not believed.
pub const CLOCK_SKEW: u64 = 60;
/// Every store key of the middleware starts with this; the key-value guard
/// (guard/) keeps the wrapped gateway out of them.
pub const KEY_PREFIX: &str = "authkit/";

/// Computes a new value from the current one (`None`: leave it).
pub type Update<'a> = &'a mut dyn FnMut(Option<&[u8]>) -> Option<Vec<u8>>;

/// Persistent bytes by key (the edge maps it onto `wasi:keyvalue/store` and
/// `atomics`).
pub trait Store {
    /// The stored value, or `None` (absent, or the store failed).
    fn get(&mut self, key: &str) -> Option<Vec<u8>>;
    /// Stores a value; failures are ignored (the cache is an optimisation).
    fn set(&mut self, key: &str, value: &[u8]);
    /// Compare-and-swap: reads the current value, and if `update` returns a new
    /// one, stores it unless another writer changed the key in between. `true`
    /// when this call's value was stored.
    fn update(&mut self, key: &str, update: Update<'_>) -> bool;
}

/// A borrowed store is a store: a caller can lend one out and keep it.
impl<S: Store + ?Sized> Store for &mut S {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        (**self).get(key)
    }
    fn set(&mut self, key: &str, value: &[u8]) {
        (**self).set(key, value);
    }
    fn update(&mut self, key: &str, update: Update<'_>) -> bool {
        (**self).update(key, update)
    }
}

/// A fetched document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// The body of the 200 response.
    pub body: Vec<u8>,
    /// `Cache-Control: max-age` of the response, if any.
    pub max_age: Option<u64>,
}

/// Fetches a document (the edge does it over `wasi:http`).
pub trait Fetcher {
    /// The body of a 200 response, or why there is none.
    fn fetch(&mut self, url: &Url) -> Result<Fetched, String>;
}

/// A borrowed fetcher is a fetcher: a caller can lend one out and keep it.
impl<F: Fetcher + ?Sized> Fetcher for &mut F {
    fn fetch(&mut self, url: &Url) -> Result<Fetched, String> {
        (**self).fetch(url)
    }
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

/// A stored document with its timing (`authkit/v2/doc/<url>`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    fetched_at: u64,
    lifetime: u64,
    body: Vec<u8>,
}

const ENTRY_MAGIC: &[u8] = b"authkit-doc-v2\n";

impl Entry {
    fn encode(&self) -> Vec<u8> {
        let mut out = ENTRY_MAGIC.to_vec();
        out.extend_from_slice(format!("{} {}\n", self.fetched_at, self.lifetime).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// `None` for anything not written by [`Entry::encode`], or not believable at
    /// `now` (fetched in the future); the lifetime is clamped to [`MAX_LIFETIME`].
    fn decode(bytes: &[u8], now: u64) -> Option<Self> {
        let rest = bytes.strip_prefix(ENTRY_MAGIC)?;
        let newline = rest.iter().position(|b| *b == b'\n')?;
        let [fetched_at, lifetime] = numbers(&rest[..newline])?;
        if fetched_at > now.saturating_add(CLOCK_SKEW) {
            return None;
        }
        Some(Self {
            fetched_at,
            lifetime: lifetime.min(MAX_LIFETIME),
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

/// Exactly `N` space-separated decimal numbers.
fn numbers<const N: usize>(line: &[u8]) -> Option<[u64; N]> {
    let mut out = [0; N];
    let mut parts = std::str::from_utf8(line).ok()?.split(' ');
    for slot in &mut out {
        *slot = parts.next()?.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The last fetch of a document (`authkit/v2/attempt/<url>`): when it started,
/// and whether it failed. Paces refreshes, remembers failures, and is what
/// concurrent requests compare-and-swap to decide which of them fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Attempt {
    at: u64,
    outcome: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Claimed: a request is fetching.
    Pending,
    Succeeded,
    Failed,
}

const ATTEMPT_MAGIC: &str = "authkit-attempt-v2\n";

impl Attempt {
    fn encode(&self) -> Vec<u8> {
        let outcome = match self.outcome {
            Outcome::Pending => 0,
            Outcome::Succeeded => 1,
            Outcome::Failed => 2,
        };
        format!("{ATTEMPT_MAGIC}{} {outcome}", self.at).into_bytes()
    }

    /// `None` for anything unreadable or dated in the future (then no attempt
    /// counts as recent: the document may be fetched).
    fn decode(bytes: &[u8], now: u64) -> Option<Self> {
        let rest = bytes.strip_prefix(ATTEMPT_MAGIC.as_bytes())?;
        let [at, outcome] = numbers(rest)?;
        let outcome = match outcome {
            0 => Outcome::Pending,
            1 => Outcome::Succeeded,
            2 => Outcome::Failed,
            _ => return None,
        };
        (at <= now.saturating_add(CLOCK_SKEW)).then_some(Self { at, outcome })
    }

    fn within(&self, now: u64, seconds: u64) -> bool {
        now < self.at.saturating_add(seconds)
    }
}

/// The store key of a document.
pub fn cache_key(url: &Url) -> String {
    format!("{KEY_PREFIX}v2/doc/{url}")
}

/// The store key of a document's last fetch attempt.
fn attempt_key(url: &Url) -> String {
    format!("{KEY_PREFIX}v2/attempt/{url}")
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
    /// fetch, else (fetch failed, or another request is refreshing it) a stale
    /// copy within [`STALE_IF_ERROR`].
    pub fn get<T>(
        &mut self,
        url: &Url,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, String> {
        self.get_with(url, &parse, |fetcher| fetch_parsed(fetcher, url, &parse))
    }

    /// [`get`](Self::get), with `fetch` in place of one GET of `url`: it fetches
    /// and parses the document (from `url` or elsewhere: the first of several
    /// candidate URLs), and what it returns is cached under `url`. Called at
    /// most once; `parse` reads cached copies.
    pub fn get_with<T>(
        &mut self,
        url: &Url,
        parse: impl Fn(&[u8]) -> Result<T, String>,
        fetch: impl FnOnce(&mut dyn Fetcher) -> Result<(T, Fetched), String>,
    ) -> Result<T, String> {
        let key = cache_key(url);
        let cached = self.load(&key);
        if let Some(entry) = cached.as_ref().filter(|e| e.is_fresh(self.now)) {
            if let Ok(parsed) = parse(&entry.body) {
                return Ok(parsed);
            }
        }
        let stale = cached
            .filter(|e| e.is_usable_stale(self.now))
            .and_then(|e| parse(&e.body).ok());
        let attempt_key = attempt_key(url);
        if let Some(failed) = self
            .load_attempt(&attempt_key)
            .filter(|a| a.outcome == Outcome::Failed && a.within(self.now, FAILURE_BACKOFF))
        {
            let ago = self.now.saturating_sub(failed.at);
            return stale.ok_or_else(|| {
                format!("a fetch failed {ago} s ago; none is tried for {FAILURE_BACKOFF} s")
            });
        }
        // With a copy to fall back on, one request refreshes and the others keep
        // serving it; without one, every request needs the document now.
        if let Some(stale) = stale {
            let now = self.now;
            let claimed = self.claim(&attempt_key, |last| {
                last.is_none_or(|a| a.outcome != Outcome::Pending || !a.within(now, CLAIM_TIMEOUT))
            });
            if !claimed {
                return Ok(stale);
            }
            return self.fetch_or(fetch, &key, &attempt_key, Some(stale));
        }
        self.fetch_or(fetch, &key, &attempt_key, None)
    }

    /// Fetches and stores the document; on failure records it and falls back.
    fn fetch_or<T>(
        &mut self,
        fetch: impl FnOnce(&mut dyn Fetcher) -> Result<(T, Fetched), String>,
        key: &str,
        attempt_key: &str,
        fallback: Option<T>,
    ) -> Result<T, String> {
        match fetch(&mut *self.fetcher) {
            Ok((parsed, fetched)) => {
                self.save(key, attempt_key, fetched);
                Ok(parsed)
            }
            Err(err) => {
                self.record(attempt_key, Outcome::Failed);
                fallback.ok_or(err)
            }
        }
    }

    /// Fetches `url` again, ahead of its lifetime, unless it was attempted less
    /// than [`REFRESH_COOLDOWN`] ago or another request claimed the refresh.
    /// `None`: not refreshed (cooldown, lost claim or failure).
    pub fn refresh<T>(
        &mut self,
        url: &Url,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Option<T> {
        // Nothing cached (no store, or it failed): the caller's `get` fetched
        // moments ago, and a refetch would only double the traffic.
        self.load(&cache_key(url))?;
        let attempt_key = attempt_key(url);
        let now = self.now;
        if !self.claim(&attempt_key, |last| {
            last.is_none_or(|a| !a.within(now, REFRESH_COOLDOWN))
        }) {
            return None;
        }
        match fetch_parsed(&mut *self.fetcher, url, &parse) {
            Ok((parsed, fetched)) => {
                self.save(&cache_key(url), &attempt_key, fetched);
                Some(parsed)
            }
            Err(_) => {
                self.record(&attempt_key, Outcome::Failed);
                None
            }
        }
    }

    fn load(&mut self, key: &str) -> Option<Entry> {
        let now = self.now;
        let bytes = self.store.as_mut()?.get(key)?;
        Entry::decode(&bytes, now)
    }

    fn load_attempt(&mut self, key: &str) -> Option<Attempt> {
        let now = self.now;
        let bytes = self.store.as_mut()?.get(key)?;
        Attempt::decode(&bytes, now)
    }

    /// Marks a fetch as started by this request if `may_claim(last attempt)`,
    /// atomically: of concurrent claimants, one wins. Without a store, every
    /// request fetches for itself.
    fn claim(&mut self, key: &str, may_claim: impl Fn(Option<Attempt>) -> bool) -> bool {
        let now = self.now;
        let Some(store) = self.store.as_mut() else {
            return true;
        };
        let pending = Attempt {
            at: now,
            outcome: Outcome::Pending,
        }
        .encode();
        store.update(key, &mut |current| {
            let last = current.and_then(|bytes| Attempt::decode(bytes, now));
            may_claim(last).then(|| pending.clone())
        })
    }

    fn record(&mut self, key: &str, outcome: Outcome) {
        let attempt = Attempt {
            at: self.now,
            outcome,
        };
        if let Some(store) = self.store.as_mut() {
            store.set(key, &attempt.encode());
        }
    }

    fn save(&mut self, key: &str, attempt_key: &str, fetched: Fetched) {
        let entry = Entry {
            fetched_at: self.now,
            lifetime: lifetime(fetched.max_age, self.configured_lifetime),
            body: fetched.body,
        };
        if let Some(store) = self.store.as_mut() {
            store.set(key, &entry.encode());
        }
        self.record(attempt_key, Outcome::Succeeded);
    }
}

/// One GET of `url`, parsed.
fn fetch_parsed<T>(
    fetcher: &mut dyn Fetcher,
    url: &Url,
    parse: &impl Fn(&[u8]) -> Result<T, String>,
) -> Result<(T, Fetched), String> {
    let fetched = fetcher.fetch(url)?;
    let parsed = parse(&fetched.body)?;
    Ok((parsed, fetched))
}

#[cfg(test)]
mod tests;
