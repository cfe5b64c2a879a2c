//! Every fault sequence of the key source, natively: scripted sites, a store in
//! memory, time passed by hand. One `World` lives across requests; each request
//! gets a fresh [`CachingKeySource`], as each Spin request gets a fresh instance.

use jwt_simple::prelude::*;
use serde_json::json;

use super::*;
use crate::cache::{Update, DEFAULT_LIFETIME, FAILURE_BACKOFF, REFRESH_COOLDOWN, STALE_IF_ERROR};
use crate::config::{var, ConfigError, MAX_LEEWAY_SECONDS};
use crate::gate::{self, Decision, RequestParts};
use crate::test_support::{self as ts, MemoryStore, Sites};

const T0: u64 = ts::NOW;
const JWKS: &str = "https://issuer.test/jwks";
const RFC8414: &str = "https://issuer.test/.well-known/oauth-authorization-server";
const OIDC: &str = "https://issuer.test/.well-known/openid-configuration";
const METADATA: &str = r#"{"issuer":"https://issuer.test","jwks_uri":"https://issuer.test/jwks"}"#;
const OLD_KEYS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"old","x":"AAAA"}]}"#;
const NEW_KEYS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"new","x":"BBBB"}]}"#;

/// The world outside the middleware, across requests.
struct World {
    sites: Sites,
    store: MemoryStore,
    /// Whether the host grants a key-value store.
    store_granted: bool,
    /// How often a request opened the store.
    opens: usize,
}

impl World {
    fn with_store() -> Self {
        Self {
            sites: Sites::default(),
            store: MemoryStore::default(),
            store_granted: true,
            opens: 0,
        }
    }

    fn without_store() -> Self {
        Self {
            store_granted: false,
            ..Self::with_store()
        }
    }

    /// The key source of one request at `now`.
    fn request<'w>(
        &'w mut self,
        now: u64,
    ) -> CachingKeySource<
        &'w mut MemoryStore,
        &'w mut Sites,
        impl FnOnce() -> Option<&'w mut MemoryStore> + 'w,
    > {
        let (store, opens, granted) = (&mut self.store, &mut self.opens, self.store_granted);
        CachingKeySource::new(now, &mut self.sites, move || {
            *opens += 1;
            granted.then_some(store)
        })
    }

    fn keys(&mut self, now: u64, config: &Config) -> Result<KeySet, KeysUnavailable> {
        self.request(now).keys(config)
    }

    fn fetched(&self) -> Vec<&str> {
        self.sites.fetched.iter().map(String::as_str).collect()
    }
}

fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        let value = match name {
            var::ISSUER => Some(ts::ISSUER),
            var::AUDIENCE => Some(ts::AUDIENCE),
            _ => vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
        };
        Ok(value.map(str::to_owned))
    })
    .unwrap()
}

/// `authkit_jwks_uri` set: no discovery.
fn with_jwks_uri() -> Config {
    config(&[(var::JWKS_URI, JWKS)])
}

/// Only the issuer: the JWKS is found through its metadata.
fn discovered() -> Config {
    config(&[])
}

fn key_set(document: &str) -> KeySet {
    KeySet::parse(document.as_bytes()).unwrap()
}

fn unavailable(detail: &str) -> Result<KeySet, KeysUnavailable> {
    Err(KeysUnavailable {
        detail: detail.to_owned(),
    })
}

// The JWKS at a configured URI.

#[test]
fn keys_are_fetched_once_then_served_from_the_store() {
    let mut world = World::with_store();
    world.sites.serve(JWKS, OLD_KEYS);
    assert_eq!(world.keys(T0, &with_jwks_uri()), Ok(key_set(OLD_KEYS)));
    assert_eq!(world.keys(T0 + 1, &with_jwks_uri()), Ok(key_set(OLD_KEYS)));
    assert_eq!(world.fetched(), [JWKS]);
}

#[test]
fn jwks_fetch_failures_are_unavailable_with_the_reason() {
    // Down, slow (the edge's fetcher reports its deadline), refused by the host, not a 200.
    for error in [
        "ConnectionRefused",
        "timed out after 10 s",
        "not fetched: this request's 10 s for fetches are spent",
        "request denied by the host: add \"https://issuer.test\" to allowed_outbound_hosts in spin.toml",
        "HTTP status 500",
    ] {
        let mut world = World::with_store();
        world.sites.fail(JWKS, error);
        assert_eq!(
            world.keys(T0, &with_jwks_uri()),
            unavailable(&format!("JWKS {JWKS}: {error}")),
            "{error}"
        );
        assert_eq!(world.fetched(), [JWKS], "{error}");
    }
}

#[test]
fn garbage_bodies_are_unavailable_and_never_stored() {
    for (body, reason) in [
        (
            "<html>502 Bad Gateway</html>",
            "the document is not a JSON Web Key Set",
        ),
        ("", "the document is not a JSON Web Key Set"),
        (
            r#"{"keys":[]}"#,
            "the key set has no usable signature verification key",
        ),
        (
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#,
            "the key set has no usable signature verification key",
        ),
    ] {
        let mut world = World::with_store();
        world.sites.serve(JWKS, body);
        assert_eq!(
            world.keys(T0, &with_jwks_uri()),
            unavailable(&format!("JWKS {JWKS}: {reason}")),
            "{body}"
        );
        let cached = crate::cache::cache_key(&Url::parse(JWKS).unwrap());
        assert!(!world.store.0.contains_key(&cached), "{body}");
    }
}

#[test]
fn a_jwks_that_is_down_is_not_fetched_again_within_the_backoff() {
    let mut world = World::with_store();
    world.sites.fail(JWKS, "ConnectionRefused");
    world.keys(T0, &with_jwks_uri()).unwrap_err();
    assert_eq!(
        world.keys(T0 + FAILURE_BACKOFF - 1, &with_jwks_uri()),
        unavailable(&format!(
            "JWKS {JWKS}: a fetch failed 9 s ago; none is tried for 10 s"
        ))
    );
    assert_eq!(world.fetched(), [JWKS]);
}

#[test]
fn stale_keys_are_served_when_the_refetch_fails() {
    let mut world = World::with_store();
    world.sites.serve(JWKS, OLD_KEYS);
    world.keys(T0, &with_jwks_uri()).unwrap();
    world.sites.fail(JWKS, "ConnectionRefused");
    let expired = T0 + DEFAULT_LIFETIME;
    assert_eq!(world.keys(expired, &with_jwks_uri()), Ok(key_set(OLD_KEYS)));
    assert_eq!(world.fetched(), [JWKS, JWKS]);
}

#[test]
fn stale_keys_are_not_served_past_the_stale_if_error_window() {
    let mut world = World::with_store();
    world.sites.serve(JWKS, OLD_KEYS);
    world.keys(T0, &with_jwks_uri()).unwrap();
    world.sites.fail(JWKS, "ConnectionRefused");
    let too_old = T0 + DEFAULT_LIFETIME + STALE_IF_ERROR;
    assert_eq!(
        world.keys(too_old, &with_jwks_uri()),
        unavailable(&format!("JWKS {JWKS}: ConnectionRefused"))
    );
    assert_eq!(world.fetched(), [JWKS, JWKS]);
}

// A token names a `kid` the keys lack.

#[test]
fn rotated_keys_are_fetched_on_a_kid_miss() {
    let mut world = World::with_store();
    world.sites.serve(JWKS, OLD_KEYS);
    world.keys(T0, &with_jwks_uri()).unwrap();
    world.sites.serve(JWKS, NEW_KEYS);
    let later = T0 + REFRESH_COOLDOWN;
    let mut source = world.request(later);
    assert_eq!(source.keys(&with_jwks_uri()), Ok(key_set(OLD_KEYS)));
    assert_eq!(
        source.refreshed_keys(&with_jwks_uri()),
        Some(key_set(NEW_KEYS))
    );
    drop(source);
    assert_eq!(
        world.keys(later + 1, &with_jwks_uri()),
        Ok(key_set(NEW_KEYS))
    );
    assert_eq!(world.fetched(), [JWKS, JWKS]);
}

#[test]
fn a_kid_miss_within_the_cooldown_fetches_nothing() {
    let mut world = World::with_store();
    world.sites.serve(JWKS, OLD_KEYS);
    world.keys(T0, &with_jwks_uri()).unwrap();
    world.sites.serve(JWKS, NEW_KEYS);
    for now in T0..T0 + REFRESH_COOLDOWN {
        assert_eq!(world.request(now).refreshed_keys(&with_jwks_uri()), None);
    }
    assert_eq!(world.fetched(), [JWKS]);
}

#[test]
fn a_failed_refresh_keeps_the_old_keys() {
    let mut world = World::with_store();
    world.sites.serve(JWKS, OLD_KEYS);
    world.keys(T0, &with_jwks_uri()).unwrap();
    world.sites.fail(JWKS, "ConnectionRefused");
    let later = T0 + REFRESH_COOLDOWN;
    assert_eq!(world.request(later).refreshed_keys(&with_jwks_uri()), None);
    assert_eq!(world.keys(later, &with_jwks_uri()), Ok(key_set(OLD_KEYS)));
    assert_eq!(world.fetched(), [JWKS, JWKS]);
}

// No key-value store granted.

#[test]
fn without_a_store_every_request_fetches() {
    let mut world = World::without_store();
    world.sites.serve(JWKS, OLD_KEYS);
    for now in [T0, T0 + 1, T0 + 2] {
        assert_eq!(world.keys(now, &with_jwks_uri()), Ok(key_set(OLD_KEYS)));
    }
    assert_eq!(world.fetched(), [JWKS, JWKS, JWKS]);
}

#[test]
fn without_a_store_a_kid_miss_fetches_nothing_more() {
    let mut world = World::without_store();
    world.sites.serve(JWKS, OLD_KEYS);
    let mut source = world.request(T0 + REFRESH_COOLDOWN);
    source.keys(&with_jwks_uri()).unwrap();
    assert_eq!(source.refreshed_keys(&with_jwks_uri()), None);
    drop(source);
    assert_eq!(world.fetched(), [JWKS]);
}

#[test]
fn the_store_is_opened_once_on_first_use() {
    let mut world = World::with_store();
    world.sites.serve(JWKS, OLD_KEYS);
    let proof = Proof::new(&[1; 32], "a.b.c");
    let mut source = world.request(T0);
    source.keys(&with_jwks_uri()).unwrap();
    source.refreshed_keys(&with_jwks_uri());
    source.remember_signature(&proof, T0 + 60);
    source.signature_verified(&proof);
    drop(source);
    assert_eq!(world.opens, 1);
}

#[test]
fn a_request_that_needs_no_keys_never_opens_the_store() {
    let mut world = World::with_store();
    let no_token = RequestParts {
        method: "POST",
        scheme: "https",
        forwarded_proto: None,
        authority: "mcp.test",
        path_with_query: "/mcp",
        authorization: &[],
        cors_preflight: false,
        origin: &[],
    };
    let decision = gate::decide(&no_token, &Ok(discovered()), &mut world.request(T0), T0);
    assert!(matches!(decision, Decision::Respond(r) if r.status == 401));
    assert_eq!(world.opens, 0);
    assert_eq!(world.fetched(), Vec::<&str>::new());
}

// Discovery: no `authkit_jwks_uri`.

#[test]
fn discovery_finds_the_jwks_through_rfc8414_metadata() {
    let mut world = World::with_store();
    world.sites.serve(RFC8414, METADATA);
    world.sites.serve(JWKS, OLD_KEYS);
    assert_eq!(world.keys(T0, &discovered()), Ok(key_set(OLD_KEYS)));
    assert_eq!(world.fetched(), [RFC8414, JWKS]);
}

#[test]
fn discovery_falls_back_to_openid_configuration() {
    let mut world = World::with_store();
    world.sites.serve(OIDC, METADATA);
    world.sites.serve(JWKS, OLD_KEYS);
    assert_eq!(world.keys(T0, &discovered()), Ok(key_set(OLD_KEYS)));
    assert_eq!(world.fetched(), [RFC8414, OIDC, JWKS]);
}

#[test]
fn discovered_metadata_is_cached_whichever_url_served_it() {
    let mut world = World::with_store();
    world.sites.serve(OIDC, METADATA);
    world.sites.serve(JWKS, OLD_KEYS);
    world.keys(T0, &discovered()).unwrap();
    assert_eq!(world.keys(T0 + 1, &discovered()), Ok(key_set(OLD_KEYS)));
    assert_eq!(world.fetched(), [RFC8414, OIDC, JWKS]);
}

#[test]
fn failed_discovery_is_unavailable_with_every_candidate_and_no_jwks_fetch() {
    let liar = r#"{"issuer":"https://evil.example","jwks_uri":"https://evil.example/jwks"}"#;
    let mut world = World::with_store();
    world.sites.serve(RFC8414, liar);
    world.sites.fail(OIDC, "ConnectionRefused");
    assert_eq!(
        world.keys(T0, &discovered()),
        unavailable(&format!(
            "discovery failed ({RFC8414}: IssuerMismatch; {OIDC}: ConnectionRefused)"
        ))
    );
    assert_eq!(world.fetched(), [RFC8414, OIDC]);
}

#[test]
fn discovery_runs_once_per_request_even_when_the_store_keeps_nothing() {
    let mut world = World::with_store();
    world.sites.serve(RFC8414, METADATA);
    world.sites.serve(JWKS, OLD_KEYS);
    let mut source = CachingKeySource::new(T0, &mut world.sites, || Some(Forgetful));
    source.keys(&discovered()).unwrap();
    assert_eq!(source.refreshed_keys(&discovered()), None);
    assert_eq!(world.fetched(), [RFC8414, JWKS]);
}

/// A store that accepts every write and keeps none.
struct Forgetful;

impl Store for Forgetful {
    fn get(&mut self, _: &str) -> Option<Vec<u8>> {
        None
    }
    fn set(&mut self, _: &str, _: &[u8]) {}
    fn update(&mut self, _: &str, update: Update<'_>) -> bool {
        update(None).is_some()
    }
}

#[test]
fn server_metadata_is_the_discovered_document_byte_for_byte() {
    let mut world = World::with_store();
    world.sites.serve(RFC8414, METADATA);
    assert_eq!(
        world.request(T0).server_metadata(&discovered()),
        Ok(METADATA.as_bytes().to_vec())
    );
    assert_eq!(world.fetched(), [RFC8414]);
}

#[test]
fn server_metadata_is_unavailable_when_discovery_fails() {
    let mut world = World::with_store();
    assert_eq!(
        world.request(T0).server_metadata(&discovered()),
        Err(KeysUnavailable {
            detail: format!(
                "discovery failed ({RFC8414}: HTTP status 404; {OIDC}: HTTP status 404)"
            )
        })
    );
    assert_eq!(world.fetched(), [RFC8414, OIDC]);
}

// Remembered signature checks.

#[test]
fn a_remembered_signature_check_is_found_by_a_later_request() {
    let mut world = World::with_store();
    let proof = Proof::new(&[1; 32], "a.b.c");
    world.request(T0).remember_signature(&proof, T0 + 300);
    assert!(world.request(T0 + 1).signature_verified(&proof));
}

#[test]
fn an_unrecorded_signature_check_is_a_miss() {
    let mut world = World::with_store();
    world
        .request(T0)
        .remember_signature(&Proof::new(&[1; 32], "a.b.c"), T0 + 300);
    let other_token = Proof::new(&[1; 32], "a.b.d");
    assert!(!world.request(T0 + 1).signature_verified(&other_token));
}

#[test]
fn a_remembered_signature_check_expires_with_its_token_and_the_largest_leeway() {
    let mut world = World::with_store();
    let proof = Proof::new(&[1; 32], "a.b.c");
    let expires_at = T0 + 300;
    world.request(T0).remember_signature(&proof, expires_at);
    let last = expires_at + MAX_LEEWAY_SECONDS;
    assert!(world.request(last).signature_verified(&proof));
    assert!(!world.request(last + 1).signature_verified(&proof));
}

#[test]
fn without_a_store_no_signature_check_is_remembered() {
    let mut world = World::without_store();
    let proof = Proof::new(&[1; 32], "a.b.c");
    world.request(T0).remember_signature(&proof, T0 + 300);
    assert!(!world.request(T0 + 1).signature_verified(&proof));
}

// Through the gate, with real tokens.

fn decide(world: &mut World, token: &str, now: u64) -> Decision {
    let authorization = [format!("Bearer {token}").into_bytes()];
    let request = RequestParts {
        method: "POST",
        scheme: "https",
        forwarded_proto: None,
        authority: "mcp.test",
        path_with_query: "/mcp",
        authorization: &authorization,
        cors_preflight: false,
        origin: &[],
    };
    let config: Result<Config, ConfigError> = Ok(with_jwks_uri());
    gate::decide(&request, &config, &mut world.request(now), now)
}

/// The keys cached at [`T0`] hold only an Ed25519 key `old`; the issuer now
/// publishes [`ts::jwks_value`] (RSA `rsa-1` and others).
fn after_a_rotation() -> World {
    let k = ts::keys();
    let mut world = World::with_store();
    let old = json!({"keys": [ts::ed_jwk(&k.ed25519, "old")]});
    world.sites.serve(JWKS, old.to_string());
    world.keys(T0, &with_jwks_uri()).unwrap();
    world.sites.serve(JWKS, ts::jwks_value().to_string());
    world
}

#[test]
fn a_token_signed_with_a_rotated_in_key_is_accepted_after_one_refetch() {
    let mut world = after_a_rotation();
    let token = ts::keys().rsa.sign(ts::claims(json!({}))).unwrap();
    let now = T0 + REFRESH_COOLDOWN;
    assert_eq!(decide(&mut world, &token, now), Decision::Forward);
    assert_eq!(world.fetched(), [JWKS, JWKS]);
}

#[test]
fn a_token_with_an_unknown_kid_within_the_cooldown_is_refused_without_a_fetch() {
    let mut world = after_a_rotation();
    let token = ts::keys().rsa.sign(ts::claims(json!({}))).unwrap();
    let decision = decide(&mut world, &token, T0 + REFRESH_COOLDOWN - 1);
    assert!(matches!(decision, Decision::Respond(r) if r.status == 401));
    assert_eq!(world.fetched(), [JWKS]);
}
