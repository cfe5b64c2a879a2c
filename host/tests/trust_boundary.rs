//! The wrapped gateway is not trusted: a hostile gateway
//! (examples/hostile-gateway) that, on every request it gets, writes every key
//! shape the middleware keeps (forged JWKS entries and timestamps, attempt
//! records, remembered signature checks for the attacker's token, garbage) into
//! every store label it can open, through every key-value interface. Composed
//! with `compose.wac`, a token signed by a key the issuer never published still
//! gets 401. Composed without the guard (compose-no-keyvalue.wac misused, which is
//! what every composition was before), the same attack
//! gets in: that is what the key-value guard prevents, and proves these tests
//! can fail. Run by `make integration-test`; `make spin-test` runs the same
//! attack on Spin.

mod authkit;

use authkit::client::send;
use authkit::idp::{self, b64, keys, Idp, AUDIENCE};
use authkit::{hostile_server, loopback, unguarded_hostile_server};
use authkit_host::{Host, HostConfig, RunningServer};
use jwt_simple::prelude::*;
use serde_json::{json, Value};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const LABELS: [&str; 3] = ["default", "authkit", "cache"];

fn start(host: Host, idp: &Idp) -> RunningServer {
    let config = HostConfig::default()
        .with_key_value_stores(LABELS.iter().map(|s| s.to_string()))
        .with_variable("authkit_issuer", idp.issuer())
        .with_variable("authkit_jwks_uri", idp.url("/jwks"))
        .with_variable("authkit_audience", AUDIENCE);
    host.serve(config, loopback()).unwrap()
}

/// The attacker's key set: the issuer's, with `rsa-1`'s modulus replaced by the
/// attacker's (what the attack on the unguarded main did).
fn forged_jwks() -> String {
    let mut jwks = idp::jwks();
    let attacker = keys().rsa_other.public_key().to_components();
    jwks["keys"][0]["n"] = json!(b64(&attacker.n));
    jwks.to_string()
}

/// Signed by the attacker's key, under the issuer's `kid`.
fn attacker_token(idp: &Idp) -> String {
    keys().rsa_other.sign(idp::claims(&idp.issuer())).unwrap()
}

fn status(server: &RunningServer, token: &str) -> u16 {
    authkit::client::post_json(server.addr(), "/mcp", Some(token), INITIALIZE).status
}

/// One authenticated request: the gateway runs its attack and reports.
fn let_the_gateway_attack(server: &RunningServer, idp: &Idp) -> Value {
    let valid = format!(
        "Bearer {}",
        keys().rsa.sign(idp::claims(&idp.issuer())).unwrap()
    );
    let (jwks, token) = (forged_jwks(), attacker_token(idp));
    let response = send(
        server.addr(),
        "POST",
        "/mcp",
        &[
            ("Content-Type", b"application/json"),
            ("Authorization", valid.as_bytes()),
            ("x-hostile-jwks", jwks.as_bytes()),
            ("x-hostile-token", token.as_bytes()),
        ],
        INITIALIZE.as_bytes(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

#[test]
fn a_hostile_gateway_cannot_forge_the_middlewares_keys() {
    let idp = Idp::start();
    let server = start(hostile_server().host(), &idp);
    let attacker = attacker_token(&idp);
    assert_eq!(status(&server, &attacker), 401);
    for round in 0..3 {
        let report = let_the_gateway_attack(&server, &idp);
        assert_eq!(report["labels_opened"], json!(LABELS), "round {round}");
        assert!(
            report["reserved_attempts"].as_u64().unwrap() > 100,
            "{report}"
        );
        assert_eq!(
            report["reserved_written"], 0,
            "a reserved write got through: {report}"
        );
        assert_eq!(report["reserved_read"], 0, "{report}");
        assert_eq!(report["reserved_listed"], 0, "{report}");
        // Its own state keeps working, through both interfaces, in every label.
        let own = report["own_state"].as_array().unwrap();
        assert_eq!(own.len(), 2 * LABELS.len(), "{report}");
        assert!(
            own.iter().all(|s| s.as_str().unwrap().ends_with(":ok")),
            "{report}"
        );

        assert_eq!(status(&server, &attacker), 401, "round {round}");
        let valid = keys().rsa.sign(idp::claims(&idp.issuer())).unwrap();
        assert_eq!(status(&server, &valid), 200, "round {round}");
    }
    // What the store holds under the middleware's keys is what the middleware wrote.
    let kv = server.key_value();
    let cached = kv
        .get("default", &format!("authkit/v2/doc/{}", idp.url("/jwks")))
        .expect("the middleware's cached JWKS");
    assert!(cached.ends_with(idp::jwks().to_string().as_bytes()));
    // Written last through fermyon:spin/key-value@2.0.0, which works as well.
    assert_eq!(
        kv.get("default", "hostile/own-state").as_deref(),
        Some(&b"spin2"[..])
    );
    for label in ["authkit", "cache"] {
        assert_eq!(kv.get(label, "authkit/"), None, "{label}");
    }
    assert_eq!(idp.hits("/jwks"), 1, "the attack cost no refetch either");
}

#[test]
fn without_the_guard_the_same_gateway_gets_the_attacker_in() {
    let idp = Idp::start();
    let server = start(unguarded_hostile_server().host(), &idp);
    let attacker = attacker_token(&idp);
    assert_eq!(status(&server, &attacker), 401);
    let report = let_the_gateway_attack(&server, &idp);
    assert!(report["reserved_written"].as_u64().unwrap() > 0, "{report}");
    assert!(report["reserved_read"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(
        status(&server, &attacker),
        200,
        "without the guard the store is trusted: compose-no-keyvalue.wac is for gateways without key-value"
    );
}
