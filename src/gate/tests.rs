use jwt_simple::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::config::{var, Config};
use crate::test_support::{self as ts, keys};

/// Counts fetches; serves a fixed key set or fails.
struct FakeKeys {
    result: Result<KeySet, KeysUnavailable>,
    calls: usize,
}

impl FakeKeys {
    fn ok() -> Self {
        Self {
            result: Ok(ts::key_set(&ts::jwks_value())),
            calls: 0,
        }
    }
    fn failing() -> Self {
        Self {
            result: Err(KeysUnavailable {
                detail: "connection refused".into(),
            }),
            calls: 0,
        }
    }
}

impl KeySource for FakeKeys {
    fn keys(&mut self, _: &Config) -> Result<KeySet, KeysUnavailable> {
        self.calls += 1;
        self.result.clone()
    }
}

fn config() -> Result<Config, ConfigError> {
    Config::from_lookup(|name| {
        Ok(match name {
            var::ISSUER => Some(ts::ISSUER.into()),
            var::AUDIENCE => Some(ts::AUDIENCE.into()),
            _ => None,
        })
    })
}

/// `POST /mcp` with these `Authorization` values, keys from [`FakeKeys::ok`].
fn post_mcp(authorization: &[Vec<u8>], config: &Result<Config, ConfigError>) -> Decision {
    decide(
        &req("POST", "/mcp", authorization),
        config,
        &mut FakeKeys::ok(),
        ts::NOW,
    )
}

fn req<'a>(method: &'a str, path: &'a str, authorization: &'a [Vec<u8>]) -> RequestParts<'a> {
    RequestParts {
        method,
        scheme: "http",
        forwarded_proto: None,
        authority: "127.0.0.1:3000",
        path_with_query: path,
        authorization,
        cors_preflight: false,
        origin: &[],
    }
}

fn bearer(token: &str) -> Vec<Vec<u8>> {
    vec![format!("Bearer {token}").into_bytes()]
}

fn respond(decision: Decision) -> Reply {
    match decision {
        Decision::Respond(reply) => reply,
        Decision::Forward => panic!("expected a response, got Forward"),
    }
}

fn body(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

fn valid_token() -> String {
    keys().rsa.sign(ts::claims(json!({}))).unwrap()
}

const META: &str = "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp";

#[test]
fn valid_token_is_forwarded() {
    let mut keys = FakeKeys::ok();
    let auth = bearer(&valid_token());
    assert_eq!(
        decide(&req("POST", "/mcp", &auth), &config(), &mut keys, ts::NOW),
        Decision::Forward
    );
    assert_eq!(keys.calls, 1);
}

#[test]
fn scheme_is_case_insensitive_and_whitespace_tolerated() {
    let token = valid_token();
    for value in [
        format!("bearer {token}"),
        format!("BEARER  {token}"),
        format!("Bearer {token} "),
        format!("BeArEr\t{token}"),
    ] {
        let auth = vec![value.into_bytes()];
        assert_eq!(post_mcp(&auth, &config()), Decision::Forward);
    }
}

#[test]
fn missing_token_gets_a_challenge_without_error_code_or_key_fetch() {
    let mut keys = FakeKeys::ok();
    let r = respond(decide(
        &req("POST", "/mcp?access_token=x", &[]),
        &config(),
        &mut keys,
        ts::NOW,
    ));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!("Bearer resource_metadata=\"{META}\"")
    );
    assert_eq!(
        body(&r),
        json!({"error": "unauthorized", "error_description": "Missing authorization header"})
    );
    assert_eq!(keys.calls, 0);
}

#[test]
fn other_schemes_are_treated_as_missing_credentials() {
    let auth = vec![b"Basic dXNlcjpwYXNz".to_vec()];
    let r = respond(post_mcp(&auth, &config()));
    assert_eq!(r.status, 401);
    assert!(!r.header("www-authenticate").unwrap().contains("error="));
}

#[test]
fn malformed_bearer_values() {
    for value in [
        &b"Bearer"[..],
        b"Bearer ",
        b"Bearer a b",
        b"Bearer \"x\"",
        b"Bearer \xff\xfe",
        b"Bearertoken",
    ] {
        let auth = vec![value.to_vec()];
        let r = respond(post_mcp(&auth, &config()));
        assert_eq!(r.status, 401, "{value:?}");
        let challenge = r.header("www-authenticate").unwrap();
        assert!(challenge.is_ascii());
    }
}

#[test]
fn invalid_token_challenge_names_the_reason() {
    let auth = bearer("garbage");
    let r = respond(post_mcp(&auth, &config()));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!("Bearer error=\"invalid_token\", error_description=\"Invalid token format\", resource_metadata=\"{META}\"")
    );
    assert_eq!(
        body(&r),
        json!({"error": "invalid_token", "error_description": "Invalid token format"})
    );
}

#[test]
fn two_authorization_headers_are_a_bad_request() {
    let token = valid_token();
    let auth = vec![
        format!("Bearer {token}").into_bytes(),
        format!("Bearer {token}").into_bytes(),
    ];
    let r = respond(post_mcp(&auth, &config()));
    assert_eq!(r.status, 400);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_request"));
}

#[test]
fn key_fetch_failure_is_503_never_a_pass() {
    let auth = bearer(&valid_token());
    let r = respond(decide(
        &req("POST", "/mcp", &auth),
        &config(),
        &mut FakeKeys::failing(),
        ts::NOW,
    ));
    assert_eq!(r.status, 503);
    assert_eq!(body(&r)["error"], "temporarily_unavailable");
    assert!(!String::from_utf8_lossy(&r.body).contains("connection refused"));
}

#[test]
fn oversize_token_refused_without_fetching() {
    let mut keys = FakeKeys::ok();
    let auth = bearer(&"a".repeat(20_000));
    let r = respond(decide(
        &req("POST", "/mcp", &auth),
        &config(),
        &mut keys,
        ts::NOW,
    ));
    assert_eq!(r.status, 401);
    assert_eq!(body(&r)["error_description"], "Token too large");
    assert_eq!(keys.calls, 0);
}

#[test]
fn config_errors_answer_500_naming_the_variable() {
    let broken: Result<Config, ConfigError> = Err(ConfigError::Missing(var::ISSUER));
    let auth = bearer(&valid_token());
    for r in [
        req("POST", "/mcp", &auth),
        req("GET", "/.well-known/oauth-protected-resource", &[]),
    ] {
        let reply = respond(decide(&r, &broken, &mut FakeKeys::ok(), ts::NOW));
        assert_eq!(reply.status, 500);
        assert!(body(&reply)["error_description"]
            .as_str()
            .unwrap()
            .contains("authkit_issuer"));
    }
}

#[test]
fn metadata_is_public_in_both_forms() {
    for (path, resource) in [
        (
            "/.well-known/oauth-protected-resource",
            "http://127.0.0.1:3000",
        ),
        (
            "/.well-known/oauth-protected-resource/mcp",
            "http://127.0.0.1:3000/mcp",
        ),
        (
            "/.well-known/oauth-protected-resource/mcp?x=1",
            "http://127.0.0.1:3000/mcp",
        ),
    ] {
        let r = respond(decide(
            &req("GET", path, &[]),
            &config(),
            &mut FakeKeys::failing(),
            ts::NOW,
        ));
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            body(&r),
            json!({"resource": resource, "authorization_servers": [ts::ISSUER], "bearer_methods_supported": ["header"]})
        );
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
    let head = respond(decide(
        &req("HEAD", "/.well-known/oauth-protected-resource", &[]),
        &config(),
        &mut FakeKeys::ok(),
        ts::NOW,
    ));
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = respond(decide(
        &req("POST", "/.well-known/oauth-protected-resource", &[]),
        &config(),
        &mut FakeKeys::ok(),
        ts::NOW,
    ));
    assert_eq!(post.status, 405);
}

#[test]
fn configured_resource_wins() {
    let cfg = Config::from_lookup(|name| {
        Ok(match name {
            var::ISSUER => Some(ts::ISSUER.into()),
            var::RESOURCE => Some("https://api.example.com/mcp".into()),
            _ => None,
        })
    });
    let r = respond(decide(
        &req("GET", "/.well-known/oauth-protected-resource/mcp", &[]),
        &cfg,
        &mut FakeKeys::ok(),
        ts::NOW,
    ));
    assert_eq!(body(&r)["resource"], "https://api.example.com/mcp");
    let r = respond(decide(
        &req("POST", "/mcp", &[]),
        &cfg,
        &mut FakeKeys::ok(),
        ts::NOW,
    ));
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        "Bearer resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/mcp\""
    );
}

#[test]
fn preflight_is_answered_without_a_token() {
    let mut r = req("OPTIONS", "/mcp", &[]);
    r.cors_preflight = true;
    let reply = respond(decide(&r, &config(), &mut FakeKeys::ok(), ts::NOW));
    assert_eq!(reply.status, 204);
    let allow = reply
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "authorization",
        "content-type",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
    ] {
        assert!(allow.contains(h), "{h}");
    }
    let expose = reply
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(expose.contains("www-authenticate") && expose.contains("mcp-session-id"));
    // A plain OPTIONS (no preflight header) is protected like any request.
    let plain = respond(decide(
        &req("OPTIONS", "/mcp", &[]),
        &config(),
        &mut FakeKeys::ok(),
        ts::NOW,
    ));
    assert_eq!(plain.status, 401);
}

#[test]
fn hostile_host_headers_never_reach_a_header_unescaped() {
    for authority in ["evil\"host", "a b", "", "x/y"] {
        let mut r = req("POST", "/mcp", &[]);
        r.authority = authority;
        let reply = respond(decide(&r, &config(), &mut FakeKeys::ok(), ts::NOW));
        assert_eq!(reply.status, 400, "{authority}");
    }
    let r = req("POST", "/m\"cp", &[]);
    let reply = respond(decide(&r, &config(), &mut FakeKeys::ok(), ts::NOW));
    assert!(reply
        .header("www-authenticate")
        .unwrap()
        .contains("/m%22cp\""));
}

#[test]
fn forwarded_proto_shapes_advertised_urls() {
    for (forwarded, expected) in [
        (Some("https"), "https://127.0.0.1:3000/mcp"),
        (Some("HTTPS, http"), "https://127.0.0.1:3000/mcp"),
        (Some("gopher"), "http://127.0.0.1:3000/mcp"),
        (None, "http://127.0.0.1:3000/mcp"),
    ] {
        let mut r = req("GET", "/.well-known/oauth-protected-resource/mcp", &[]);
        r.forwarded_proto = forwarded;
        let reply = respond(decide(&r, &config(), &mut FakeKeys::ok(), ts::NOW));
        assert_eq!(body(&reply)["resource"], expected, "{forwarded:?}");
    }
}

fn config_with(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
    Config::from_lookup(|name| {
        if let Some((_, v)) = extra.iter().find(|(n, _)| *n == name) {
            return Ok(Some((*v).to_owned()));
        }
        Ok(match name {
            var::ISSUER => Some(ts::ISSUER.into()),
            var::AUDIENCE => Some(ts::AUDIENCE.into()),
            _ => None,
        })
    })
}

fn scoped_token(scopes: Value) -> String {
    keys().rsa.sign(ts::claims(scopes)).unwrap()
}

#[test]
fn missing_scopes_are_a_403_step_up_challenge() {
    let cfg = config_with(&[(var::REQUIRED_SCOPES, "mcp:read mcp:write")]);
    for claims in [
        json!({}),
        json!({"scope": "mcp:read"}),
        json!({"scp": ["mcp:write"]}),
        // `scope` when present, else `scp`: never their union.
        json!({"scope": "mcp:read", "scp": ["mcp:write"]}),
    ] {
        let auth = bearer(&scoped_token(claims.clone()));
        let r = respond(post_mcp(&auth, &cfg));
        assert_eq!(r.status, 403, "{claims}");
        assert_eq!(
            r.header("www-authenticate").unwrap(),
            format!("Bearer error=\"insufficient_scope\", error_description=\"Token lacks a required scope\", scope=\"mcp:read mcp:write\", resource_metadata=\"{META}\"")
        );
        assert_eq!(body(&r)["error"], "insufficient_scope");
    }
    for claims in [
        json!({"scope": "openid mcp:write mcp:read"}),
        json!({"scp": ["mcp:read", "mcp:write"]}),
        json!({"scp": "mcp:read mcp:write"}),
    ] {
        let auth = bearer(&scoped_token(claims.clone()));
        assert_eq!(post_mcp(&auth, &cfg), Decision::Forward, "{claims}");
    }
    // Scopes never turn an invalid token into a 403.
    let auth = bearer("garbage");
    assert_eq!(respond(post_mcp(&auth, &cfg)).status, 401);
    // The metadata advertises them.
    let meta = respond(decide(
        &req("GET", "/.well-known/oauth-protected-resource/mcp", &[]),
        &cfg,
        &mut FakeKeys::ok(),
        ts::NOW,
    ));
    assert_eq!(
        body(&meta)["scopes_supported"],
        json!(["mcp:read", "mcp:write"])
    );
}

#[test]
fn several_audiences_any_one_matches() {
    let cfg = config_with(&[(var::AUDIENCE, "https://a.example/mcp, https://mcp.test/mcp")]);
    let auth = bearer(&valid_token());
    assert_eq!(post_mcp(&auth, &cfg), Decision::Forward);
    let cfg = config_with(&[(var::AUDIENCE, "https://a.example/mcp,https://b.example/mcp")]);
    let r = respond(post_mcp(&auth, &cfg));
    assert_eq!(body(&r)["error_description"], "Invalid token audience");
}

#[test]
fn algorithms_and_leeway_are_configurable() {
    let auth = bearer(&keys().es256.sign(ts::claims(json!({}))).unwrap());
    let rsa_only = config_with(&[(var::ALGORITHMS, "RS256")]);
    let r = respond(post_mcp(&auth, &rsa_only));
    assert_eq!(body(&r)["error_description"], "Unsupported token algorithm");
    let auth = bearer(
        &keys()
            .rsa
            .sign(ts::claims(json!({"exp": ts::NOW - 30})))
            .unwrap(),
    );
    assert_eq!(post_mcp(&auth, &config()), Decision::Forward);
    let strict = config_with(&[(var::LEEWAY_SECONDS, "0")]);
    let r = respond(post_mcp(&auth, &strict));
    assert_eq!(body(&r)["error_description"], "Token has expired");
}

#[test]
fn inline_keys_need_no_key_source() {
    let jwks = ts::jwks_value().to_string();
    let jwks: &'static str = Box::leak(jwks.into_boxed_str());
    let cfg = config_with(&[(var::JWKS, jwks)]);
    let mut keys = FakeKeys::failing();
    let auth = bearer(&valid_token());
    assert_eq!(
        decide(&req("POST", "/mcp", &auth), &cfg, &mut keys, ts::NOW),
        Decision::Forward
    );
    assert_eq!(keys.calls, 0);
}

/// Serves an old key set first, then (on refresh) a rotated one.
struct Rotating {
    refreshes: usize,
}

impl KeySource for Rotating {
    fn keys(&mut self, _: &Config) -> Result<KeySet, KeysUnavailable> {
        let k = keys();
        Ok(ts::key_set(
            &json!({"keys": [ts::ed_jwk(&k.ed25519, "old")]}),
        ))
    }
    fn refreshed_keys(&mut self, _: &Config) -> Option<KeySet> {
        self.refreshes += 1;
        Some(ts::key_set(&ts::jwks_value()))
    }
}

#[test]
fn unknown_kid_refreshes_the_keys_once() {
    let mut source = Rotating { refreshes: 0 };
    let auth = bearer(&valid_token());
    assert_eq!(
        decide(&req("POST", "/mcp", &auth), &config(), &mut source, ts::NOW),
        Decision::Forward
    );
    assert_eq!(source.refreshes, 1);
    // A known kid with a bad signature does not refresh.
    let forged = ts::with_header(
        &keys().ed25519.sign(ts::claims(json!({}))).unwrap(),
        &json!({"alg": "EdDSA", "kid": "old", "x": 1}),
    );
    let auth = bearer(&forged);
    let r = respond(decide(
        &req("POST", "/mcp", &auth),
        &config(),
        &mut source,
        ts::NOW,
    ));
    assert_eq!(r.status, 401);
    assert_eq!(source.refreshes, 1);
}

struct MetadataSource(Result<Vec<u8>, KeysUnavailable>);

impl KeySource for MetadataSource {
    fn keys(&mut self, _: &Config) -> Result<KeySet, KeysUnavailable> {
        unreachable!("metadata requests need no keys")
    }
    fn server_metadata(&mut self, _: &Config) -> Result<Vec<u8>, KeysUnavailable> {
        self.0.clone()
    }
}

#[test]
fn authorization_server_metadata_is_served_on_the_mcp_origin() {
    let doc = br#"{"issuer":"https://issuer.test","token_endpoint":"https://issuer.test/token"}"#
        .to_vec();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let r = respond(decide(
            &req("GET", path, &[]),
            &config(),
            &mut MetadataSource(Ok(doc.clone())),
            ts::NOW,
        ));
        assert_eq!(r.status, 200);
        assert_eq!(r.body, doc);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let down = MetadataSource(Err(KeysUnavailable {
            detail: "down".into(),
        }));
        let r = respond(decide(
            &req("GET", path, &[]),
            &config(),
            &mut { down },
            ts::NOW,
        ));
        assert_eq!(r.status, 503);
    }
}

#[test]
fn malformed_tokens_never_reach_the_key_source() {
    let header_only = ts::b64(br#"{"alg":"none"}"#);
    for junk in ["garbage", "a.b.c", &format!("{header_only}.e30.c2ln")] {
        let mut keys = FakeKeys::ok();
        let auth = bearer(junk);
        let r = respond(decide(
            &req("POST", "/mcp", &auth),
            &config(),
            &mut keys,
            ts::NOW,
        ));
        assert_eq!(r.status, 401, "{junk}");
        assert_eq!(
            keys.calls, 0,
            "{junk}: no key lookup for a token that cannot verify"
        );
    }
}

/// Hostile request parts (huge, non-UTF-8, control characters, many values) get
/// their exact 4xx: no panic (a trap, i.e. an empty 500, in the release build), no fetch, and
/// no part of the credential repeated in the answer.
#[test]
fn hostile_request_parts_never_panic_nor_echo() {
    let secret = "SECRETsecretSECRETsecret";
    let big = format!("{secret}{}", "A".repeat(1 << 20));
    let authorizations: Vec<Vec<Vec<u8>>> = vec![
        bearer(&big),
        bearer(&format!("{secret}.{secret}.{secret}")),
        bearer(&format!("{secret}\"\r\n{secret}")),
        vec![b"Bearer".to_vec()],
        vec![b"Bearer ".to_vec()],
        vec![b"Bearer \t ".to_vec()],
        vec![format!("Bearer {secret}\u{ff}").into_bytes()],
        vec![[b"Bearer ".as_slice(), &[0xff, 0xfe], secret.as_bytes()].concat()],
        vec![format!("Basic {secret}").into_bytes()],
        vec![format!("Bearer {secret}").into_bytes(); 200],
        vec![format!("{secret} {secret}").into_bytes()],
        vec![Vec::new()],
    ];
    let long_path = format!("/{}", "%".repeat(100_000));
    // Each part with the status it gets whatever the credential: 401 where the
    // request is well-formed enough to challenge, 400 where its authority or target
    // cannot form the metadata URL, 405 for a POST to the metadata path (answered
    // before any credential is read).
    let parts = [
        ("127.0.0.1:3000", "/mcp", None, 401),
        ("127.0.0.1:99999999999", "/mcp", Some("https"), 400),
        (&*"a".repeat(70_000), "/mcp", Some("ftp, https"), 401),
        ("[::1]:3000", &*long_path, Some("\u{0}"), 401),
        ("h\u{e9}", "/mcp\r\n", None, 400),
        (
            "127.0.0.1",
            "/.well-known/oauth-protected-resource/\u{1}",
            None,
            405,
        ),
    ];
    for authorization in &authorizations {
        for (authority, path, forwarded_proto, status) in parts {
            // Several Authorization headers: 400 invalid_request (RFC 6750 §3.1)
            // wherever a credential is read.
            let expected = match status {
                401 if authorization.len() > 1 => 400,
                other => other,
            };
            let mut keys = FakeKeys::ok();
            let mut request = req("POST", path, authorization);
            request.authority = authority;
            request.forwarded_proto = forwarded_proto;
            let r = respond(decide(&request, &config(), &mut keys, ts::NOW));
            assert_eq!(
                r.status,
                expected,
                "{:?} at {:?}",
                String::from_utf8_lossy(&authorization[0][..authorization[0].len().min(40)]),
                &path[..path.len().min(40)]
            );
            assert_eq!(keys.calls, 0);
            let answer = format!("{:?}{}", r.headers, String::from_utf8_lossy(&r.body));
            assert!(!answer.contains(secret), "echoed: {answer}");
        }
    }
}

/// Remembers signature checks in memory, as the caching key source does in the
/// key-value store.
struct RememberingKeys {
    keys: KeySet,
    store: ts::MemoryStore,
    now: u64,
}

impl RememberingKeys {
    fn serving(keys: KeySet) -> Self {
        Self {
            keys,
            store: ts::MemoryStore::default(),
            now: ts::NOW,
        }
    }
    fn remembered(&self) -> usize {
        self.store.0.len()
    }
}

impl KeySource for RememberingKeys {
    fn keys(&mut self, _: &Config) -> Result<KeySet, KeysUnavailable> {
        Ok(self.keys.clone())
    }
    fn signature_verified(&mut self, proof: &Proof) -> bool {
        crate::verified::VerifiedSignatures::new(&mut self.store, self.now).contains(proof)
    }
    fn remember_signature(&mut self, proof: &Proof, expires_at: u64) {
        crate::verified::VerifiedSignatures::new(&mut self.store, self.now)
            .insert(proof, expires_at)
    }
}

#[test]
fn a_remembered_signature_still_has_its_claims_checked_every_time() {
    let token = valid_token();
    let auth = bearer(&token);
    let mut source = RememberingKeys::serving(ts::key_set(&ts::jwks_value()));
    let decide_at = |source: &mut RememberingKeys, config: &Result<Config, ConfigError>, now| {
        source.now = now;
        decide(&req("POST", "/mcp", &auth), config, source, now)
    };
    assert_eq!(
        decide_at(&mut source, &config(), ts::NOW),
        Decision::Forward
    );
    assert_eq!(source.remembered(), 1);
    assert_eq!(
        decide_at(&mut source, &config(), ts::NOW + 1),
        Decision::Forward
    );

    // Expiry and configuration still apply to the remembered token.
    let expired = respond(decide_at(&mut source, &config(), ts::NOW + 7200));
    assert_eq!(expired.status, 401);
    assert!(expired
        .header("www-authenticate")
        .unwrap()
        .contains("Token has expired"));
    let other_audience = config_with(&[(var::AUDIENCE, "https://elsewhere.example/mcp")]);
    let refused = respond(decide_at(&mut source, &other_audience, ts::NOW + 1));
    assert!(refused
        .header("www-authenticate")
        .unwrap()
        .contains("Invalid token audience"));
}

#[test]
fn the_record_is_what_skips_the_signature_check() {
    let token = valid_token();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", signature.chars().rev().collect::<String>());
    let auth = bearer(&forged);
    let key_set = ts::key_set(&ts::jwks_value());
    let mut source = RememberingKeys::serving(key_set.clone());

    let refused = respond(decide(
        &req("POST", "/mcp", &auth),
        &config(),
        &mut source,
        ts::NOW,
    ));
    assert_eq!(refused.status, 401);
    assert_eq!(source.remembered(), 0, "failed checks are never recorded");

    let proof = Proof::new(key_set.fingerprint(), &forged);
    source.remember_signature(&proof, ts::NOW + 3600);
    let decision = decide(&req("POST", "/mcp", &auth), &config(), &mut source, ts::NOW);
    assert_eq!(decision, Decision::Forward);
}

#[test]
fn a_changed_key_set_forgets_earlier_checks() {
    let token = valid_token();
    let auth = bearer(&token);
    let mut source = RememberingKeys::serving(ts::key_set(&ts::jwks_value()));
    assert_eq!(
        decide(&req("POST", "/mcp", &auth), &config(), &mut source, ts::NOW),
        Decision::Forward
    );

    // The provider removes the token's key: the record no longer applies.
    let mut without_rsa = ts::jwks_value();
    without_rsa["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| k["kty"] != "RSA");
    source.keys = ts::key_set(&without_rsa);
    let refused = respond(decide(
        &req("POST", "/mcp", &auth),
        &config(),
        &mut source,
        ts::NOW + 1,
    ));
    assert_eq!(refused.status, 401);
    assert!(refused
        .header("www-authenticate")
        .unwrap()
        .contains("Unknown signing key"));
}

/// With only `authkit_resource` set, a token minted by the same issuer for
/// another resource is refused: the audience is the resource (RFC 8707 §2; MCP
/// authorization, "Token Audience Binding and Validation").
#[test]
fn the_audience_defaults_to_the_resource() {
    let cfg = Config::from_lookup(|name| {
        Ok(match name {
            var::ISSUER => Some(ts::ISSUER.into()),
            var::RESOURCE => Some(ts::AUDIENCE.into()),
            _ => None,
        })
    });
    let forward = decide(
        &req("POST", "/mcp", &bearer(&valid_token())),
        &cfg,
        &mut FakeKeys::ok(),
        ts::NOW,
    );
    assert_eq!(forward, Decision::Forward);
    let other = keys()
        .rsa
        .sign(ts::claims(json!({})).with_audience("https://other.test/mcp"))
        .unwrap();
    let r = respond(decide(
        &req("POST", "/mcp", &bearer(&other)),
        &cfg,
        &mut FakeKeys::ok(),
        ts::NOW,
    ));
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    // Neither set: a configuration error, never a pass.
    let cfg = Config::from_lookup(|name| Ok((name == var::ISSUER).then(|| ts::ISSUER.into())));
    let r = respond(decide(
        &req("POST", "/mcp", &bearer(&valid_token())),
        &cfg,
        &mut FakeKeys::ok(),
        ts::NOW,
    ));
    assert_eq!(r.status, 500);
}

/// A web page on another origin (or a DNS-rebound name) gets 403 before
/// anything else: preflight, metadata, even with a valid token (MCP Streamable
/// HTTP, "Security Warning": servers MUST validate `Origin`).
#[test]
fn foreign_origins_are_refused_before_anything_else() {
    let token = bearer(&valid_token());
    let evil = [b"https://evil.example".to_vec()];
    for (method, path, auth) in [
        ("POST", "/mcp", &token[..]),
        ("POST", "/mcp", &[][..]),
        ("GET", "/.well-known/oauth-protected-resource/mcp", &[][..]),
        ("GET", "/.well-known/oauth-authorization-server", &[][..]),
    ] {
        let mut r = req(method, path, auth);
        r.origin = &evil;
        let mut keys = FakeKeys::ok();
        let reply = respond(decide(&r, &config(), &mut keys, ts::NOW));
        assert_eq!(reply.status, 403, "{method} {path}");
        assert_eq!(body(&reply)["error"], "forbidden");
        assert_eq!(body(&reply)["error_description"], "Origin not allowed");
        assert_eq!(keys.calls, 0, "no key lookup for a refused origin");
    }
    let mut preflight = req("OPTIONS", "/mcp", &[]);
    preflight.cors_preflight = true;
    preflight.origin = &evil;
    assert_eq!(
        respond(decide(&preflight, &config(), &mut FakeKeys::ok(), ts::NOW)).status,
        403
    );
    // Even when the configuration is broken.
    let broken = Err(ConfigError::Missing(var::ISSUER));
    let mut r = req("POST", "/mcp", &token);
    r.origin = &evil;
    assert_eq!(
        respond(decide(&r, &broken, &mut FakeKeys::ok(), ts::NOW)).status,
        403
    );
    // The MCP Inspector (loopback) and non-browser clients (no Origin) pass.
    let inspector = [b"http://localhost:6274".to_vec()];
    let mut r = req("POST", "/mcp", &token);
    r.origin = &inspector;
    assert_eq!(
        decide(&r, &config(), &mut FakeKeys::ok(), ts::NOW),
        Decision::Forward
    );
    let r = req("POST", "/mcp", &token);
    assert_eq!(
        decide(&r, &config(), &mut FakeKeys::ok(), ts::NOW),
        Decision::Forward
    );
}

/// Answers built from `Host`/`X-Forwarded-Proto` are not stored by shared
/// caches (RFC 9111 §5.2.2.5) and vary with those headers (RFC 9110 §12.5.5);
/// with `authkit_resource` they do not depend on the request.
#[test]
fn answers_derived_from_host_are_not_stored_by_caches() {
    let metadata = req("GET", "/.well-known/oauth-protected-resource/mcp", &[]);
    let challenge = req("POST", "/mcp", &[]);
    for r in [&metadata, &challenge] {
        let reply = respond(decide(r, &config(), &mut FakeKeys::ok(), ts::NOW));
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{}",
            r.path_with_query
        );
        assert_eq!(reply.header("vary"), Some("Host, X-Forwarded-Proto"));
    }
    let configured = config_with(&[(var::RESOURCE, "https://api.example.com/mcp")]);
    for r in [&metadata, &challenge] {
        let reply = respond(decide(r, &configured, &mut FakeKeys::ok(), ts::NOW));
        assert_eq!(reply.header("vary"), None, "{}", r.path_with_query);
    }
}
