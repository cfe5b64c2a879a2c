//! Every row of the attack catalogue (tests/support/catalogue.rs) against the
//! core: the request's parts go to [`gate::decide`] with the real
//! [`CachingKeySource`] over an in-memory store and a fetcher that serves the
//! test issuer's JWKS, and the decision must be exactly the row's outcome:
//! forwarded, or the status, `WWW-Authenticate` challenge and JSON body the
//! composed server sends. The host's tests/attacks.rs sends a representative
//! subset through the composed component over HTTP.
//!
//! `AUTHKIT_ATTACK_CATALOGUE=file.md` writes the catalogue as the Markdown table
//! of docs/SECURITY.md "Attack catalogue" (`make unit-test` writes
//! build/attack-catalogue.md).

#[path = "support/catalogue.rs"]
mod catalogue;
#[path = "support/tokens.rs"]
mod tokens;

use std::collections::HashMap;

use catalogue::{Attack, Ctx, Outcome, Refused, Server, FORMAT, KID, SCOPE};
use serde_json::Value;
use url::Url;
use wasmcp_spin_authkit::cache::{Fetched, Fetcher, Store, Update};
use wasmcp_spin_authkit::config::Config;
use wasmcp_spin_authkit::gate::{self, Decision, RequestParts};
use wasmcp_spin_authkit::key_source::CachingKeySource;

/// Shaped like the test IdP of the end-to-end run (loopback HTTP is allowed).
const ISSUER: &str = "http://127.0.0.1:9000";
const JWKS: &str = "http://127.0.0.1:9000/jwks";
/// Where the requests are sent (the `Host` the composed server would see).
const AUTHORITY: &str = "127.0.0.1:3000";

/// The issuer's documents, and every fetch counted by URL.
struct Issuer {
    jwks: Vec<u8>,
    fetches: HashMap<String, usize>,
}

impl Fetcher for Issuer {
    fn fetch(&mut self, url: &Url) -> Result<Fetched, String> {
        *self.fetches.entry(url.to_string()).or_default() += 1;
        match url.as_str() {
            JWKS => Ok(Fetched {
                body: self.jwks.clone(),
                max_age: None,
            }),
            other => Err(format!("404 from {other}")),
        }
    }
}

/// The key-value store, shared by every request of a server.
#[derive(Default)]
struct MemoryStore(HashMap<String, Vec<u8>>);

impl Store for MemoryStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn set(&mut self, key: &str, value: &[u8]) {
        self.0.insert(key.to_owned(), value.to_vec());
    }
    fn update(&mut self, key: &str, update: Update<'_>) -> bool {
        match update(self.0.get(key).map(Vec::as_slice)) {
            Some(value) => {
                self.0.insert(key.to_owned(), value);
                true
            }
            None => false,
        }
    }
}

/// One composed server: its configuration and its store.
struct CoreServer {
    config: Result<Config, wasmcp_spin_authkit::config::ConfigError>,
    store: MemoryStore,
}

impl CoreServer {
    fn new(vars: &[(&str, &str)]) -> Self {
        let config = Config::from_lookup(|name| {
            Ok(vars
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned()))
        });
        assert!(config.is_ok(), "{config:?}");
        Self {
            config,
            store: MemoryStore::default(),
        }
    }

    fn decide(&mut self, attack: &Attack, issuer: &mut Issuer, now: u64) -> Decision {
        let req = &attack.request;
        let all = |name: &str| -> Vec<Vec<u8>> {
            req.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .collect()
        };
        let authorization = all("authorization");
        let origin = all("origin");
        let forwarded_proto = all("x-forwarded-proto")
            .into_iter()
            .next()
            .map(|v| String::from_utf8(v).unwrap());
        let parts = RequestParts {
            method: req.method,
            scheme: "http",
            forwarded_proto: forwarded_proto.as_deref(),
            authority: AUTHORITY,
            path_with_query: &req.target,
            authorization: &authorization,
            cors_preflight: !all("access-control-request-method").is_empty(),
            origin: &origin,
        };
        let store = &mut self.store;
        let mut keys = CachingKeySource::new(now, &mut *issuer, || Some(store));
        gate::decide(&parts, &self.config, &mut keys, now)
    }
}

/// What went wrong with one row's decision.
fn check(attack: &Attack, decision: &Decision) -> Result<(), String> {
    let outcome = match attack.outcome {
        // The core sees the bytes; Spin refuses them before (the host runner's row).
        Outcome::NonUtf8Header => Outcome::InvalidToken(FORMAT),
        other => other,
    };
    let reply = match (outcome, decision) {
        (Outcome::Gateway, Decision::Forward) => return Ok(()),
        (_, Decision::Forward) => return Err("forwarded to the gateway".to_owned()),
        (_, Decision::Respond(reply)) => reply,
    };
    let summary = || {
        format!(
            "{} {:?} {}",
            reply.status,
            reply.header("www-authenticate"),
            String::from_utf8_lossy(&reply.body)
        )
    };
    if let Outcome::Middleware(status) = outcome {
        return (reply.status == status)
            .then_some(())
            .ok_or_else(|| format!("want {status}: {}", summary()));
    }
    let Refused {
        status,
        challenge,
        body,
    } = attack
        .refused(outcome, &format!("http://{AUTHORITY}"))
        .ok_or_else(|| format!("not forwarded: {}", summary()))?;
    let mut problems = Vec::new();
    if reply.status != status {
        problems.push(format!("status {}, want {status}", reply.status));
    }
    if reply.header("www-authenticate") != Some(challenge.as_str()) {
        problems.push(format!(
            "challenge {:?}, want {challenge:?}",
            reply.header("www-authenticate")
        ));
    }
    if serde_json::from_slice::<Value>(&reply.body).ok() != Some(body.clone()) {
        problems.push(format!("body {}, want {body}", summary()));
    }
    if reply.header("content-type") != Some("application/json") {
        problems.push("not a JSON error".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn every_attack_gets_its_exact_answer_from_the_core() {
    let now = tokens::now();
    let cx = Ctx {
        iss: ISSUER.to_owned(),
        now,
        attacker_jwks: format!("{ISSUER}/attacker/jwks"),
        attacker_cert: format!("{ISSUER}/attacker/cert"),
    };
    let attacks = catalogue::catalogue(&cx);
    if let Some(path) = std::env::var_os("AUTHKIT_ATTACK_CATALOGUE") {
        std::fs::write(path, catalogue::markdown(&attacks)).unwrap();
    }
    let base = [
        ("authkit_issuer", ISSUER),
        ("authkit_jwks_uri", JWKS),
        ("authkit_audience", tokens::AUDIENCE),
    ];
    let scoped: Vec<_> = base
        .into_iter()
        .chain([("authkit_required_scopes", SCOPE)])
        .collect();
    let mut plain = CoreServer::new(&base);
    let mut scoped = CoreServer::new(&scoped);
    let mut issuer = Issuer {
        jwks: tokens::jwks().to_string().into_bytes(),
        fetches: HashMap::new(),
    };

    let mut failures = Vec::new();
    let mut checked = 0;
    for (i, attack) in attacks.iter().enumerate() {
        if let Outcome::Host(_) = attack.outcome {
            continue; // The HTTP server refuses it before any component runs.
        }
        let server = match attack.request.server {
            Server::Plain => &mut plain,
            Server::Scoped => &mut scoped,
        };
        let decision = server.decide(attack, &mut issuer, now);
        checked += 1;
        if let Err(e) = check(attack, &decision) {
            failures.push(format!("#{} {} [{}]: {e}", i + 1, attack.name, attack.what));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 200, "{checked} rows");

    // Key URLs in tokens are never fetched. Unknown kids do not hammer the JWKS:
    // one fetch per server and at most one kid-miss refetch each within the
    // cooldown (every row is sent at the same second).
    let fetches = |url: &str| issuer.fetches.get(url).copied().unwrap_or(0);
    assert_eq!(fetches(&cx.attacker_jwks), 0, "jku fetched");
    assert_eq!(fetches(&cx.attacker_cert), 0, "x5u fetched");
    let unknown_kids = attacks
        .iter()
        .filter(|a| a.outcome == Outcome::InvalidToken(KID))
        .count();
    assert!(unknown_kids >= 8, "{unknown_kids} unknown-kid rows");
    assert_eq!(
        issuer.fetches.keys().collect::<Vec<_>>(),
        [JWKS],
        "only the configured JWKS is fetched"
    );
    assert!(fetches(JWKS) <= 4, "{} JWKS fetches", fetches(JWKS));
}
