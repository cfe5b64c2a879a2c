//! The attack catalogue end to end: a representative subset of its rows
//! ([`catalogue::end_to_end`]: every family, every way of answering, every row
//! the HTTP server decides) sent over HTTP to the composed server (middleware +
//! examples/mcp-gateway), on the local host or on Spin (`make spin-test`). The
//! middleware crate's tests/attack_catalogue.rs runs every row against the core
//! (and writes the table of docs/SECURITY.md "Attack catalogue").
//! `AUTHKIT_ATTACK_ROWS=all` sends every row (on a new host, say).

mod authkit;
#[path = "../../tests/support/catalogue.rs"]
mod catalogue;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use authkit::client::send;
use authkit::idp::{self as tokens, Canned, Idp};
use authkit::{mcp_server, serve, Served};
use catalogue::{Attack, Ctx, Outcome, Refused, Request, Server, FORMAT, SCOPE};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Running the catalogue

struct Servers {
    plain: Served,
    scoped: Served,
}

impl Servers {
    fn get(&self, which: Server) -> &Served {
        match which {
            Server::Plain => &self.plain,
            Server::Scoped => &self.scoped,
        }
    }
}

/// Sends a request whose head the server may refuse before reading it all:
/// write errors are ignored, only the status line is read.
fn send_oversized(addr: SocketAddr, req: &Request) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        req.method, req.target
    )
    .into_bytes();
    for (name, value) in &req.headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(format!("Content-Length: {}\r\n\r\n", req.body.len()).as_bytes());
    let _ = stream
        .write_all(&head)
        .and_then(|_| stream.write_all(&req.body));
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Checks one row; returns what went wrong.
fn check(attack: &Attack, servers: &Servers) -> Result<(), String> {
    let server = servers.get(attack.request.server);
    let req = &attack.request;
    let outcome = match attack.outcome {
        Outcome::NonUtf8Header if server.on_spin() => Outcome::Host(500),
        Outcome::NonUtf8Header => Outcome::InvalidToken(FORMAT),
        other => other,
    };
    if let Outcome::Host(status) = outcome {
        let got = send_oversized(server.addr(), req);
        return (got == status)
            .then_some(())
            .ok_or(format!("status {got}, want {status}"));
    }
    let headers: Vec<(&str, &[u8])> = req
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_slice()))
        .collect();
    let r = send(server.addr(), req.method, &req.target, &headers, &req.body);
    let summary = || {
        format!(
            "{} {:?} {}",
            r.status,
            r.header("www-authenticate"),
            r.text().chars().take(300).collect::<String>()
        )
    };
    match outcome {
        Outcome::Gateway => {
            let ok = r.status == 200
                && serde_json::from_slice::<Value>(&r.body)
                    .is_ok_and(|v| v["result"]["serverInfo"]["name"] == "mcp-gateway-example");
            return ok
                .then_some(())
                .ok_or_else(|| format!("did not reach the gateway: {}", summary()));
        }
        Outcome::Middleware(status) => {
            let forwarded = r.text().contains("jsonrpc") || r.header("mcp-session-id").is_some();
            return (r.status == status && !forwarded)
                .then_some(())
                .ok_or_else(|| format!("want {status} from the middleware: {}", summary()));
        }
        _ => {}
    }
    let Refused {
        status,
        challenge,
        body,
    } = attack
        .refused(outcome, &server.url())
        .expect("every other outcome is a refusal");
    let mut problems = Vec::new();
    if r.status != status {
        problems.push(format!("status {}, want {status}", r.status));
    }
    if r.header("www-authenticate") != Some(challenge.as_str()) {
        problems.push(format!(
            "challenge {:?}, want {challenge:?}",
            r.header("www-authenticate")
        ));
    }
    if serde_json::from_slice::<Value>(&r.body).ok() != Some(body.clone()) {
        problems.push(format!(
            "body {}, want {body}",
            r.text().chars().take(300).collect::<String>()
        ));
    }
    if r.header("content-type") != Some("application/json") || r.header("mcp-session-id").is_some()
    {
        problems.push("not the middleware's JSON error".to_owned());
    }
    // Nothing of the credential comes back (RFC 6750 §5.3: tokens stay secret).
    for (name, value) in &req.headers {
        if !name.eq_ignore_ascii_case("authorization") {
            continue;
        }
        let value = String::from_utf8_lossy(value);
        let echoed = value
            .split(['.', ' ', ','])
            .filter(|part| part.len() >= 12 && !part.eq_ignore_ascii_case("bearer"))
            .any(|part| r.text().contains(part) || r.headers.iter().any(|(_, v)| v.contains(part)));
        if echoed {
            problems.push("part of the credential is echoed in the response".to_owned());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn attack_catalogue() {
    let idp = Idp::start();
    idp.route("/attacker/jwks", Canned::json(&json!({"keys": []})));
    idp.route("/attacker/cert", Canned::status(200));
    let iss = idp.issuer();
    let jwks = idp.url("/jwks");
    let base: Vec<(&str, &str)> = vec![
        ("authkit_issuer", &iss),
        ("authkit_jwks_uri", &jwks),
        ("authkit_audience", tokens::AUDIENCE),
    ];
    let scoped_vars: Vec<(&str, &str)> = base
        .iter()
        .copied()
        .chain([("authkit_required_scopes", SCOPE)])
        .collect();
    let servers = Servers {
        plain: serve(&mcp_server(), &base),
        scoped: serve(&mcp_server(), &scoped_vars),
    };
    let cx = Ctx {
        iss: iss.clone(),
        now: tokens::now(),
        attacker_jwks: idp.url("/attacker/jwks"),
        attacker_cert: idp.url("/attacker/cert"),
    };
    let attacks = catalogue::catalogue(&cx);
    let rows = match std::env::var("AUTHKIT_ATTACK_ROWS").as_deref() {
        Ok("all") => attacks.iter().collect(),
        _ => catalogue::end_to_end(&attacks),
    };
    let failures: Vec<String> = rows
        .iter()
        .map(|a| check(a, &servers).map_err(|e| format!("{} [{}]: {e}", a.name, a.what)))
        .filter_map(Result::err)
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );

    // Key URLs in tokens are never fetched; unknown kids do not hammer the JWKS
    // (one fetch per server, at most one kid-miss refetch each: the pacing).
    assert_eq!(idp.hits("/attacker/jwks"), 0, "jku fetched");
    assert_eq!(idp.hits("/attacker/cert"), 0, "x5u fetched");
    assert!(
        idp.hits("/jwks") <= 3,
        "{} JWKS fetches for {} rows",
        idp.hits("/jwks"),
        rows.len()
    );
    eprintln!(
        "attack catalogue end to end: {} of {} rows, {} JWKS fetches",
        rows.len(),
        attacks.len(),
        idp.hits("/jwks")
    );
}
