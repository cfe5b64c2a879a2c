//! The JWKS cache in Spin's key-value store, counted at the test's JWKS server:
//! warm requests fetch nothing; expiry, rotation, kid-miss cooldown,
//! stale-if-error and Cache-Control behave; faults never fail open; scopes,
//! audiences and the issuer's metadata on the MCP origin. Run by `make integration-test`.

mod authkit;

use authkit::client::post_json;
use authkit::idp::{self, keys, Canned, Idp, AUDIENCE};
use authkit::{loopback, mcp_server};
use authkit_host::{HostConfig, RunningServer, WallClock};
use jwt_simple::prelude::*;
use serde_json::json;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// With `authkit_audience` set unless `vars` says what the audience is.
fn start(vars: &[(&str, String)], stores: &[&str]) -> RunningServer {
    mcp_server()
        .host()
        .serve(config(vars, stores), loopback())
        .unwrap()
}

fn config(vars: &[(&str, String)], stores: &[&str]) -> HostConfig {
    let mut config =
        HostConfig::default().with_key_value_stores(stores.iter().map(|s| s.to_string()));
    if !vars
        .iter()
        .any(|(n, _)| *n == "authkit_audience" || *n == "authkit_resource")
    {
        config = config.with_variable("authkit_audience", AUDIENCE);
    }
    for (name, value) in vars {
        config = config.with_variable(*name, value.clone());
    }
    config
}

fn server_for(idp: &Idp, jwks_path: &str) -> RunningServer {
    start(
        &[
            ("authkit_issuer", idp.issuer()),
            ("authkit_jwks_uri", idp.url(jwks_path)),
            ("authkit_audience", AUDIENCE.to_owned()),
        ],
        &["default"],
    )
}

fn token(idp: &Idp) -> String {
    keys().rsa.sign(idp::claims(&idp.issuer())).unwrap()
}

fn status(server: &RunningServer, token: &str) -> u16 {
    post_json(server.addr(), "/mcp", Some(token), INITIALIZE).status
}

/// Rewrites the cached entry and its fetch-attempt record (seconds before now),
/// as if time had passed.
fn age_entry(server: &RunningServer, url: &str, fetched_ago: u64, attempted_ago: u64) {
    let key = format!("authkit/v2/doc/{url}");
    let entry = server
        .key_value()
        .get("default", &key)
        .expect("a cached entry");
    let text = String::from_utf8_lossy(&entry).into_owned();
    let mut lines = text.splitn(3, '\n');
    let (magic, header, body) = (
        lines.next().unwrap(),
        lines.next().unwrap(),
        lines.next().unwrap_or(""),
    );
    let lifetime: u64 = header.split(' ').nth(1).unwrap().parse().unwrap();
    let now = idp::now();
    let aged = format!("{magic}\n{} {lifetime}\n{body}", now - fetched_ago);
    server.key_value().set("default", &key, aged.into_bytes());
    let attempt = format!("authkit-attempt-v2\n{} 1", now - attempted_ago);
    server.key_value().set(
        "default",
        &format!("authkit/v2/attempt/{url}"),
        attempt.into_bytes(),
    );
}

fn cached_lifetime(server: &RunningServer, url: &str) -> u64 {
    let entry = server
        .key_value()
        .get("default", &format!("authkit/v2/doc/{url}"))
        .unwrap();
    let text = String::from_utf8_lossy(&entry).into_owned();
    text.lines()
        .nth(1)
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn thousand_warm_requests_fetch_nothing() {
    let idp = Idp::start();
    let server = server_for(&idp, "/jwks");
    let token = token(&idp);
    assert_eq!(status(&server, &token), 200);
    assert_eq!(idp.hits("/jwks"), 1);
    for _ in 0..1000 {
        assert_eq!(status(&server, &token), 200);
    }
    assert_eq!(idp.hits("/jwks"), 1, "0 fetches for 1,000 warm requests");
}

#[test]
fn expiry_refetches_and_cache_control_sets_the_lifetime() {
    let idp = Idp::start();
    idp.route(
        "/jwks",
        Canned {
            headers: vec![("Cache-Control", "public, max-age=3600")],
            ..Canned::json(&idp::jwks())
        },
    );
    let server = server_for(&idp, "/jwks");
    let url = idp.url("/jwks");
    let token = token(&idp);
    assert_eq!(status(&server, &token), 200);
    assert_eq!(cached_lifetime(&server, &url), 3600);
    age_entry(&server, &url, 3599, 3599);
    assert_eq!(status(&server, &token), 200);
    assert_eq!(idp.hits("/jwks"), 1);
    age_entry(&server, &url, 3601, 3601);
    assert_eq!(status(&server, &token), 200);
    assert_eq!(idp.hits("/jwks"), 2, "expired: fetched again");

    // max-age is clamped to [60 s, 24 h]; absent → 10 min.
    for (cache_control, expected) in [
        (Some("max-age=5"), 60),
        (Some("max-age=999999"), 86_400),
        (None, 600),
    ] {
        let idp = Idp::start();
        let headers = cache_control
            .iter()
            .map(|v| ("Cache-Control", *v))
            .collect();
        idp.route(
            "/jwks",
            Canned {
                headers,
                ..Canned::json(&idp::jwks())
            },
        );
        let server = server_for(&idp, "/jwks");
        assert_eq!(status(&server, &token_for(&idp)), 200);
        assert_eq!(
            cached_lifetime(&server, &idp.url("/jwks")),
            expected,
            "{cache_control:?}"
        );
    }
    // authkit_jwks_cache_seconds overrides.
    let idp = Idp::start();
    let server = start(
        &[
            ("authkit_issuer", idp.issuer()),
            ("authkit_jwks_uri", idp.url("/jwks")),
            ("authkit_jwks_cache_seconds", "120".into()),
        ],
        &["default"],
    );
    assert_eq!(status(&server, &token_for(&idp)), 200);
    assert_eq!(cached_lifetime(&server, &idp.url("/jwks")), 120);
}

fn token_for(idp: &Idp) -> String {
    token(idp)
}

#[test]
fn rotation_and_kid_miss_cooldown() {
    let idp = Idp::start();
    // The provider first publishes only the Ed25519 key.
    let only_ed = json!({"keys": [idp::jwks()["keys"][2].clone()]});
    idp.route("/jwks", Canned::json(&only_ed));
    let server = server_for(&idp, "/jwks");
    let url = idp.url("/jwks");
    let ed = keys().ed25519.sign(idp::claims(&idp.issuer())).unwrap();
    let rsa = token(&idp);
    assert_eq!(status(&server, &ed), 200);
    assert_eq!(idp.hits("/jwks"), 1);

    // Rotation: the RSA key appears; right after a fetch the cooldown holds.
    idp.route("/jwks", Canned::json(&idp::jwks()));
    assert_eq!(status(&server, &rsa), 401);
    assert_eq!(
        idp.hits("/jwks"),
        1,
        "within 30 s of the last fetch: no refetch"
    );

    // A flood of unknown kids 30 s later causes exactly one fetch.
    age_entry(&server, &url, 40, 40);
    for i in 0..50 {
        let forged = idp::with_header(&rsa, &json!({"alg": "RS256", "kid": format!("random-{i}")}));
        assert_eq!(status(&server, &forged), 401);
    }
    assert_eq!(idp.hits("/jwks"), 2, "one refetch for 50 unknown kids");

    // The refetch picked up the rotated set: the RSA token now passes, no fetch.
    assert_eq!(status(&server, &rsa), 200);
    assert_eq!(idp.hits("/jwks"), 2);

    // Key removal takes effect at the next refresh.
    idp.route("/jwks", Canned::json(&only_ed));
    age_entry(&server, &url, 700, 700);
    assert_eq!(status(&server, &rsa), 401);
    assert_eq!(idp.hits("/jwks"), 3);
}

#[test]
fn stale_if_error_keeps_serving_for_a_day() {
    let idp = Idp::start();
    let server = server_for(&idp, "/jwks");
    let url = idp.url("/jwks");
    let token = token(&idp);
    assert_eq!(status(&server, &token), 200);
    idp.route("/jwks", Canned::status(500));
    age_entry(&server, &url, 700, 700);
    assert_eq!(
        status(&server, &token),
        200,
        "stale copy served while the provider fails"
    );
    assert_eq!(idp.hits("/jwks"), 2);
    age_entry(&server, &url, 600 + 86_400 + 1, 700);
    assert_eq!(
        status(&server, &token),
        503,
        "past stale-if-error: no keys, no pass"
    );
}

#[test]
fn without_a_granted_store_it_works_uncached() {
    let idp = Idp::start();
    let server = start(
        &[
            ("authkit_issuer", idp.issuer()),
            ("authkit_jwks_uri", idp.url("/jwks")),
        ],
        &[],
    );
    let token = token(&idp);
    for _ in 0..3 {
        assert_eq!(status(&server, &token), 200);
    }
    assert_eq!(idp.hits("/jwks"), 3);
}

#[test]
fn inline_jwks_needs_no_network() {
    let idp = Idp::start();
    let server = start(
        &[
            ("authkit_issuer", idp.issuer()),
            ("authkit_jwks", idp::jwks().to_string()),
        ],
        &["default"],
    );
    assert_eq!(status(&server, &token(&idp)), 200);
    assert_eq!(
        idp.hits("/jwks") + idp.hits("/.well-known/oauth-authorization-server"),
        0
    );
}

#[test]
fn discovery_metadata_is_cached_too() {
    let idp = Idp::start();
    let server = start(&[("authkit_issuer", idp.issuer())], &["default"]);
    let token = token(&idp);
    for _ in 0..5 {
        assert_eq!(status(&server, &token), 200);
    }
    assert_eq!(idp.hits("/.well-known/oauth-authorization-server"), 1);
    assert_eq!(idp.hits("/jwks"), 1);
}

#[test]
fn jwks_faults_never_fail_open() {
    let idp = Idp::start();
    let token = token(&idp);
    let weak_rsa =
        json!({"keys": [{"kty": "RSA", "kid": "rsa-1", "n": idp::b64(&[0xc5; 128]), "e": "AQAB"}]});
    let odd_keys = json!({"keys": [
        {"kty": "oct", "kid": "rsa-1", "k": "c2VjcmV0"},
        {"kty": "EC", "crv": "P-521", "kid": "rsa-1", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "X448", "kid": "rsa-1", "x": "AA"}
    ]});
    let cases: Vec<(&str, Canned, u16)> = vec![
        ("500", Canned::status(500), 503),
        ("404", Canned::status(404), 503),
        (
            "html",
            Canned {
                content_type: "text/html",
                body: b"<html>oops</html>".to_vec(),
                ..Canned::status(200)
            },
            503,
        ),
        (
            "json, not a JWKS",
            Canned::json(&json!({"hello": "world"})),
            503,
        ),
        (
            "huge body",
            Canned::json(&json!({"keys": [], "pad": "x".repeat(600_000)})),
            503,
        ),
        ("unsupported kty/crv only", Canned::json(&odd_keys), 503),
        ("RSA under 2048 bits", Canned::json(&weak_rsa), 401),
    ];
    for (name, canned, expected) in cases {
        idp.route("/faulty", canned);
        let server = server_for(&idp, "/faulty");
        let r = post_json(server.addr(), "/mcp", Some(&token), INITIALIZE);
        assert_eq!(r.status, expected, "{name}: {}", r.text());
        let documents = server.key_value().keys("default");
        assert!(
            !documents.iter().any(|k| k.starts_with("authkit/v2/doc/")) || expected == 401,
            "{name}: nothing cached: {documents:?}"
        );
    }
    // Down (nothing listening) and slow past the deadline.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks", l.local_addr().unwrap())
    };
    let server = start(
        &[("authkit_issuer", idp.issuer()), ("authkit_jwks_uri", dead)],
        &["default"],
    );
    assert_eq!(status(&server, &token), 503);
    idp.route("/slow", Canned::json(&idp::jwks()).held());
    let server = server_for(&idp, "/slow");
    assert_eq!(status(&server, &token), 503);
    idp.release();
}

#[test]
fn scopes_audiences_and_server_metadata() {
    let idp = Idp::start();
    let server = start(
        &[
            ("authkit_issuer", idp.issuer()),
            (
                "authkit_audience",
                format!("https://other.example/mcp,{AUDIENCE}"),
            ),
            ("authkit_required_scopes", "mcp:tools".into()),
        ],
        &["default"],
    );
    let iss = idp.issuer();
    let no_scope = keys().rsa.sign(idp::claims(&iss)).unwrap();
    let r = post_json(server.addr(), "/mcp", Some(&no_scope), INITIALIZE);
    assert_eq!(r.status, 403);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("scope=\"mcp:tools\""));
    let scoped_claims = Claims::with_custom_claims(
        json!({"scope": "openid mcp:tools"}),
        jwt_simple::prelude::Duration::from_mins(5),
    )
    .with_issuer(&iss)
    .with_audience(AUDIENCE);
    let scoped = keys().rsa.sign(scoped_claims).unwrap();
    assert_eq!(status(&server, &scoped), 200);

    let meta = authkit::client::get(
        server.addr(),
        "/.well-known/oauth-protected-resource/mcp",
        &[],
    );
    assert_eq!(meta.json()["scopes_supported"], json!(["mcp:tools"]));
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let r = authkit::client::get(server.addr(), path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json()["issuer"], iss);
        assert_eq!(r.json()["jwks_uri"], idp.url("/jwks"));
    }
}

/// A good signature check is remembered in the store (the per-request instance
/// keeps nothing), yet the token still expires on time and a removed key still
/// refuses it: the record is bound to the exact JWKS.
#[test]
fn remembered_signatures_still_expire() {
    let idp = Idp::start();
    let clock = WallClock::default();
    let vars = [
        ("authkit_issuer", idp.issuer()),
        ("authkit_jwks_uri", idp.url("/jwks")),
        ("authkit_audience", AUDIENCE.to_owned()),
        ("authkit_leeway_seconds", "0".to_owned()),
    ];
    let server = mcp_server()
        .host()
        .serve(
            config(&vars, &["default"]).with_wall_clock(clock.clone()),
            loopback(),
        )
        .unwrap();
    let token = keys().rsa.sign(idp::claims(&idp.issuer())).unwrap();
    assert_eq!(status(&server, &token), 200);
    let remembered = server
        .key_value()
        .keys("default")
        .into_iter()
        .filter(|k| k.starts_with("authkit/v2/verified/"))
        .count();
    assert_eq!(remembered, 1, "one signature check recorded");
    assert_eq!(status(&server, &token), 200);

    // The token lives 300 s; the server's clock moves past its expiry.
    clock.advance(std::time::Duration::from_secs(301));
    assert_eq!(status(&server, &token), 401, "expired despite the record");
}

/// A provider that is down is not hammered: unauthenticated requests
/// for the issuer's metadata cost one round of discovery, then nothing for 10 s.
#[test]
fn failed_discovery_is_remembered() {
    let idp = Idp::empty();
    let server = start(&[("authkit_issuer", idp.issuer())], &["default"]);
    let discovery_hits = || {
        idp.hits("/.well-known/oauth-authorization-server")
            + idp.hits("/.well-known/openid-configuration")
    };
    for _ in 0..30 {
        let r = authkit::client::get(
            server.addr(),
            "/.well-known/oauth-authorization-server",
            &[],
        );
        assert_eq!(r.status, 503);
    }
    assert_eq!(
        discovery_hits(),
        2,
        "one round over both candidate URLs for 30 requests"
    );
}

/// All fetches of one request share one 10 s deadline: discovery's
/// first candidate hanging past it leaves no time for the second (before: 10 s
/// each, up to 40 s in all).
#[test]
fn one_deadline_for_all_fetches_of_a_request() {
    let idp = Idp::empty();
    // The first discovery URL never answers in time; had each fetch its own
    // deadline, the second one would be tried after the first timed out.
    let hang = Canned::json(&json!({"issuer": idp.issuer(), "jwks_uri": idp.url("/jwks")})).held();
    idp.route("/.well-known/oauth-authorization-server", hang);
    let server = start(&[("authkit_issuer", idp.issuer())], &["default"]);
    assert_eq!(status(&server, &token(&idp)), 503);
    assert_eq!(
        idp.hits("/.well-known/openid-configuration"),
        0,
        "no time left for it"
    );
    idp.release();
}

/// The kid-miss refresh cooldown holds under concurrency: 16 clients
/// sending unknown kids at once, 20 each, cause one refetch.
#[test]
fn concurrent_unknown_kids_cause_one_refetch() {
    let idp = Idp::start();
    let server = server_for(&idp, "/jwks");
    let url = idp.url("/jwks");
    let rsa = token(&idp);
    assert_eq!(status(&server, &rsa), 200);
    age_entry(&server, &url, 40, 40);
    std::thread::scope(|scope| {
        for client in 0..16 {
            let (server, rsa) = (&server, &rsa);
            scope.spawn(move || {
                for i in 0..20 {
                    let kid = format!("random-{client}-{i}");
                    let forged = idp::with_header(rsa, &json!({"alg": "RS256", "kid": kid}));
                    assert_eq!(status(server, &forged), 401);
                }
            });
        }
    });
    assert_eq!(
        idp.hits("/jwks"),
        2,
        "320 unknown kids from 16 clients: one refetch"
    );
}
