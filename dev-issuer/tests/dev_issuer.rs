//! The development issuer over HTTP: metadata, registration, the authorization
//! code flow with PKCE, refresh rotation, client credentials, the errors, and the
//! `authkit-dev-issuer` command. Run by `make host-test`.

// The HTTP client and OAuth helpers are shared with authkit-host's tests.
#[path = "../../host/tests/authkit/client.rs"]
pub mod client;
mod authkit {
    pub use super::client;
}
#[path = "../../host/tests/devflow/mod.rs"]
mod devflow;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use authkit::client::{get, send, Response};
use authkit_dev_issuer::DevIssuer;
use devflow::{
    addr_in, authorize, code, code_flow, form, parts, pkce, public_client, redirect_params,
    register, run_until, token, token_in, verify, REDIRECT,
};
use serde_json::{json, Value};

const MCP: &str = "http://127.0.0.1:3000/mcp";

fn start() -> DevIssuer {
    DevIssuer::start("127.0.0.1:0".parse().unwrap(), MCP).expect("start the dev issuer")
}

#[test]
fn metadata_documents() {
    let dev = start();
    let iss = dev.issuer().to_owned();
    assert_eq!(iss, format!("http://{}", dev.addr()));
    let expected = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "registration_endpoint": format!("{iss}/register"),
        "jwks_uri": format!("{iss}/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "scopes_supported": ["mcp", "openid", "profile", "email", "offline_access"],
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{iss}/"),
        "description": authkit_dev_issuer::DEVELOPMENT_ONLY,
    });
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let r = get(dev.addr(), path, &[("Origin", b"http://localhost:6274")]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("http://localhost:6274")
        );
        assert_eq!(r.header("vary"), Some("Origin"));
        assert!(r
            .header("x-authkit-dev-issuer")
            .unwrap()
            .contains("DEVELOPMENT ONLY"));
        assert_eq!(r.json(), expected, "{path}");
    }

    let jwks = get(dev.addr(), "/jwks", &[]);
    assert_eq!(
        jwks.header("access-control-allow-origin"),
        None,
        "no Origin"
    );
    let keys = jwks.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
        (
            &json!("EC"),
            &json!("P-256"),
            &json!("ES256"),
            &json!("sig")
        )
    );
    assert!(key.get("d").is_none(), "no private part");

    let doc = get(dev.addr(), "/", &[]);
    assert!(doc.text().starts_with("DEVELOPMENT ONLY"), "{}", doc.text());

    let preflight = send(
        dev.addr(),
        "OPTIONS",
        "/token",
        &[
            ("Origin", b"http://localhost:6274"),
            ("Access-Control-Request-Method", b"POST"),
            (
                "Access-Control-Request-Headers",
                b"content-type,mcp-protocol-version",
            ),
        ],
        b"",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://localhost:6274")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type,mcp-protocol-version")
    );
    assert_eq!(get(dev.addr(), "/nope", &[]).status, 404);
}

#[test]
fn listens_on_loopback_only() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let err = DevIssuer::start(addr.parse().unwrap(), MCP)
            .err()
            .unwrap_or_else(|| panic!("{addr} accepted"));
        assert!(err.to_string().contains("loopback"), "{err}");
    }
}

#[test]
fn authorization_code_flow_with_pkce() {
    let dev = start();
    let addr = dev.addr();
    let reg = register(
        addr,
        &json!({
            "client_name": "MCP Inspector",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "client_uri": "https://example.com",
        }),
    );
    assert_eq!(reg.status, 201, "{}", reg.text());
    assert_eq!(reg.header("cache-control"), Some("no-store"));
    assert_eq!(reg.header("access-control-allow-origin"), None, "no Origin");
    let client = reg.json();
    let client_id = client["client_id"].as_str().unwrap();
    assert!(client.get("client_secret").is_none(), "public client");
    assert_eq!(client["redirect_uris"], json!([REDIRECT]));
    assert_eq!(client["token_endpoint_auth_method"], "none");
    assert_eq!(
        client["client_uri"], "https://example.com",
        "metadata echoed"
    );
    assert!(client["client_id_issued_at"].is_u64());

    // Automatic login and consent: straight back to the client.
    let (verifier, challenge) = pkce();
    let resource = "http://127.0.0.1:3000/mcp";
    let r = authorize(
        addr,
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "st/ate+1"),
            ("scope", "mcp offline_access"),
            ("resource", resource),
        ],
    );
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    let got = redirect_params(&r);
    assert_eq!(got["state"], "st/ate+1");
    assert_eq!(got["iss"], dev.issuer(), "RFC 9207");
    assert!(!got.contains_key("error"));

    let r = token(
        addr,
        &[
            ("grant_type", "authorization_code"),
            ("code", &got["code"]),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", &verifier),
            ("resource", resource),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("access-control-allow-origin"), None, "no Origin");
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "mcp offline_access");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 32);

    let access = body["access_token"].as_str().unwrap();
    let (header, payload) = parts(access);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt", "RFC 9068 §2.1");
    assert!(header["kid"].as_str().unwrap().starts_with("dev-es256-"));
    let claims = verify(addr, access, resource);
    assert_eq!(claims.subject.as_deref(), Some("dev-user"));
    assert_eq!(payload["iss"], dev.issuer());
    assert_eq!(payload["aud"], resource);
    assert_eq!(payload["sub"], "dev-user");
    assert_eq!(payload["client_id"], client_id);
    assert_eq!(payload["scope"], "mcp offline_access");
    let iat = payload["iat"].as_u64().unwrap();
    assert_eq!(payload["exp"].as_u64().unwrap(), iat + 3600);
    assert!(payload["jti"].as_str().unwrap().len() >= 16);
    let mut names: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "scope",
            "sub"
        ]
    );
}

#[test]
fn without_resource_the_audience_is_the_mcp_url() {
    let dev = start();
    let body = code_flow(dev.addr(), None);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(parts(access).1["aud"], MCP);
    assert_eq!(parts(access).1["scope"], "mcp", "default scope");
    verify(dev.addr(), access, MCP);

    let minted = dev.mint_token(Duration::from_secs(12 * 3600));
    let claims = verify(dev.addr(), &minted, MCP);
    let (header, payload) = parts(&minted);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(payload["sub"], "dev-user");
    assert_eq!(
        payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(),
        12 * 3600
    );
    assert!(claims.jwt_id.is_some());
}

#[test]
fn token_errors() {
    let dev = start();
    let addr = dev.addr();
    let client = public_client(addr);
    let redeem = |code: &str, verifier: &str, extra: &[(&str, &str)]| {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client.as_str()),
            ("code_verifier", verifier),
        ];
        params.extend_from_slice(extra);
        token(addr, &params, None)
    };
    let error_of = |r: &authkit::client::Response| (r.status, r.json()["error"].clone());

    // Wrong verifier: refused, and the code is spent.
    let (c, verifier) = code(addr, &client, None);
    let (wrong, _) = pkce();
    assert_eq!(
        error_of(&redeem(&c, &wrong, &[])),
        (400, json!("invalid_grant"))
    );
    assert_eq!(
        error_of(&redeem(&c, &verifier, &[])),
        (400, json!("invalid_grant"))
    );

    // Reused code.
    let (c, verifier) = code(addr, &client, None);
    assert_eq!(redeem(&c, &verifier, &[]).status, 200);
    assert_eq!(
        error_of(&redeem(&c, &verifier, &[])),
        (400, json!("invalid_grant"))
    );

    // Missing verifier, other redirect_uri, other resource, unknown code.
    let (c, _) = code(addr, &client, None);
    let r = token(
        addr,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
        ],
        None,
    );
    assert_eq!(error_of(&r), (400, json!("invalid_grant")));
    let (c, verifier) = code(addr, &client, None);
    let r = token(
        addr,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "http://127.0.0.1:6274/other"),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
        None,
    );
    assert_eq!(error_of(&r), (400, json!("invalid_grant")));
    let (c, verifier) = code(addr, &client, Some("http://127.0.0.1:3000/mcp"));
    let r = redeem(&c, &verifier, &[("resource", "http://127.0.0.1:9999/mcp")]);
    assert_eq!(error_of(&r), (400, json!("invalid_target")));
    assert_eq!(
        error_of(&redeem("nope", &verifier, &[])),
        (400, json!("invalid_grant"))
    );

    // Another client's code.
    let other = public_client(addr);
    let (c, verifier) = code(addr, &other, None);
    assert_eq!(
        error_of(&redeem(&c, &verifier, &[])),
        (400, json!("invalid_grant"))
    );

    // Client authentication and request shape.
    let r = token(
        addr,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "unknown"),
        ],
        None,
    );
    assert_eq!(error_of(&r), (401, json!("invalid_client")));
    let r = token(
        addr,
        &[("grant_type", "password"), ("client_id", &client)],
        None,
    );
    assert_eq!(error_of(&r), (400, json!("unsupported_grant_type")));
    let r = token(addr, &[("client_id", &client)], None);
    assert_eq!(error_of(&r), (400, json!("invalid_request")));
    let r = send(
        addr,
        "POST",
        "/token",
        &[("Content-Type", b"application/json")],
        b"{}",
    );
    assert_eq!(error_of(&r), (400, json!("invalid_request")));
    assert_eq!(r.header("access-control-allow-origin"), None, "no Origin");
}

#[test]
fn authorization_errors() {
    let dev = start();
    let addr = dev.addr();
    let client = public_client(addr);
    let (_, challenge) = pkce();
    let base = |overrides: &[(&'static str, &'static str)]| -> Vec<(&'static str, String)> {
        let mut p: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", client.clone()),
            ("redirect_uri", REDIRECT.into()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".into()),
            ("state", "s1".into()),
        ];
        for (k, v) in overrides {
            p.retain(|(name, _)| name != k);
            if !v.is_empty() {
                p.push((k, v.to_string()));
            }
        }
        p
    };
    let call = |p: Vec<(&str, String)>| {
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        authorize(addr, &p)
    };

    // Unknown client or unregistered redirect_uri: an error page, never a redirect.
    for (what, overrides) in [
        (
            "unregistered redirect_uri",
            vec![("redirect_uri", "http://127.0.0.1:6274/evil")],
        ),
        (
            "other host",
            vec![("redirect_uri", "https://evil.example/oauth/callback")],
        ),
        ("unknown client", vec![("client_id", "dev-client-nope")]),
        ("no client", vec![("client_id", "")]),
    ] {
        let r = call(base(&overrides));
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(r.header("location").is_none(), "{what}");
        assert!(r.json()["error"].is_string(), "{what}");
    }

    // Otherwise errors go back to the client (RFC 6749 §4.1.2.1), with state and iss.
    for (what, overrides, error) in [
        (
            "missing PKCE",
            vec![("code_challenge", "")],
            "invalid_request",
        ),
        (
            "missing method",
            vec![("code_challenge_method", "")],
            "invalid_request",
        ),
        (
            "plain PKCE",
            vec![("code_challenge_method", "plain")],
            "invalid_request",
        ),
        (
            "short challenge",
            vec![("code_challenge", "abc")],
            "invalid_request",
        ),
        (
            "token response type",
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            "no response type",
            vec![("response_type", "")],
            "invalid_request",
        ),
        (
            "bad resource",
            vec![("resource", "not a uri")],
            "invalid_target",
        ),
        (
            "resource with fragment",
            vec![("resource", "http://a/mcp#x")],
            "invalid_target",
        ),
    ] {
        let got = redirect_params(&call(base(&overrides)));
        assert_eq!(
            got.get("error").map(String::as_str),
            Some(error),
            "{what}: {got:?}"
        );
        assert!(got.contains_key("error_description"), "{what}");
        assert_eq!(got["state"], "s1", "{what}");
        assert_eq!(got["iss"], dev.issuer(), "{what}");
        assert!(!got.contains_key("code"), "{what}");
    }

    // RFC 8252 §7.3: any port for a loopback IP redirect URI.
    let got = redirect_params(&call(base(&[(
        "redirect_uri",
        "http://127.0.0.1:40000/oauth/callback",
    )])));
    assert!(got.contains_key("code"));
    // A single registered redirect URI may be left out (OAuth 2.1 §4.1.1).
    let got = redirect_params(&call(base(&[("redirect_uri", "")])));
    assert!(got.contains_key("code"));
    let r = call(base(&[("redirect_uri", "")]));
    assert!(r.header("location").unwrap().starts_with(REDIRECT));
}

#[test]
fn registration_rules() {
    let dev = start();
    let addr = dev.addr();
    let status_error = |meta: Value| {
        let r = register(addr, &meta);
        (r.status, r.json()["error"].clone())
    };
    for (what, meta, error) in [
        (
            "non-loopback http",
            json!({"redirect_uris": ["http://example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            "fragment",
            json!({"redirect_uris": ["https://example.com/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            "javascript",
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            "no redirect",
            json!({"token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
        (
            "bad grant",
            json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            "bad auth",
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            "public m2m",
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            "implicit",
            json!({"redirect_uris": [REDIRECT], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        ("not an object", json!(["x"]), "invalid_client_metadata"),
    ] {
        assert_eq!(status_error(meta), (400, json!(error)), "{what}");
    }

    // Desktop clients: https, loopback http, private-use schemes.
    let r = register(
        addr,
        &json!({"redirect_uris": [
            "https://app.example.com/cb",
            "http://localhost:33418/callback",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
        ], "token_endpoint_auth_method": "none"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // RFC 7591 §2: token_endpoint_auth_method defaults to client_secret_basic.
    let r = register(addr, &json!({"redirect_uris": [REDIRECT]}));
    let body = r.json();
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert!(body["client_secret"].as_str().unwrap().len() >= 32);
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["response_types"], json!(["code"]));
}

#[test]
fn confidential_code_flow_needs_the_secret() {
    let dev = start();
    let addr = dev.addr();
    let reg = register(
        addr,
        &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_post"}),
    )
    .json();
    let id = reg["client_id"].as_str().unwrap();
    let secret = reg["client_secret"].as_str().unwrap();
    let (c, verifier) = code(addr, id, None);
    let params = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
        ("client_id", id),
    ];
    let r = token(addr, &params, None);
    assert_eq!(r.status, 401, "no secret: {}", r.text());
    assert_eq!(r.json()["error"], "invalid_client");
    // The code was not spent by a failed client authentication.
    let mut with_secret = params.to_vec();
    with_secret.push(("client_secret", secret));
    let r = token(addr, &with_secret, None);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn refresh_tokens_rotate() {
    let dev = start();
    let addr = dev.addr();
    let client = public_client(addr);
    let (c, verifier) = code(addr, &client, Some(MCP));
    let first = token(
        addr,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &verifier),
            ("scope", "ignored"),
        ],
        None,
    )
    .json();
    let refresh = |token_: &str, extra: &[(&str, &str)]| {
        let mut p = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", token_),
            ("client_id", client.as_str()),
        ];
        p.extend_from_slice(extra);
        token(addr, &p, None)
    };
    let r1 = first["refresh_token"].as_str().unwrap();
    let second = refresh(r1, &[]);
    assert_eq!(second.status, 200, "{}", second.text());
    let second = second.json();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotated");
    let access = second["access_token"].as_str().unwrap();
    assert_ne!(access, first["access_token"].as_str().unwrap());
    let claims = parts(access).1;
    assert_eq!(
        (claims["sub"].clone(), claims["aud"].clone()),
        (json!("dev-user"), json!(MCP))
    );
    verify(addr, access, MCP);

    // Narrower scope and resource are fine; wider ones are not.
    let third = refresh(r2, &[("scope", "mcp"), ("resource", MCP)]).json();
    assert_eq!(third["scope"], "mcp");
    let r3 = third["refresh_token"].as_str().unwrap();
    let r = refresh(r3, &[("scope", "mcp admin")]);
    assert_eq!(r.json()["error"], "invalid_scope");

    // Replaying a rotated-out token fails and revokes the grant.
    assert_eq!(refresh(r1, &[]).json()["error"], "invalid_grant");
    let other = public_client(addr);
    let fresh = code_flow(addr, None);
    let stolen = fresh["refresh_token"].as_str().unwrap();
    let r = token(
        addr,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", stolen),
            ("client_id", &other),
        ],
        None,
    );
    assert_eq!(r.json()["error"], "invalid_grant", "another client's token");
}

#[test]
fn client_credentials() {
    let dev = start();
    let addr = dev.addr();
    let reg = register(
        addr,
        &json!({"client_name": "m2m", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"}),
    );
    assert_eq!(reg.status, 201, "{}", reg.text());
    let reg = reg.json();
    let id = reg["client_id"].as_str().unwrap();
    let secret = reg["client_secret"].as_str().unwrap();

    let r = token(
        addr,
        &[("grant_type", "client_credentials")],
        Some((id, secret)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert!(body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap();
    let claims = parts(access).1;
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["client_id"], id);
    assert_eq!(claims["aud"], MCP);
    verify(addr, access, MCP);

    // client_secret_post works too, and `resource` sets the audience.
    let r = token(
        addr,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("resource", "https://other.example/mcp"),
            ("scope", "mcp:read"),
        ],
        None,
    );
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(parts(&access).1["aud"], "https://other.example/mcp");
    assert_eq!(parts(&access).1["scope"], "mcp:read");

    let r = token(
        addr,
        &[("grant_type", "client_credentials")],
        Some((id, "wrong")),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    let r = token(
        addr,
        &[("grant_type", "client_credentials"), ("client_id", id)],
        None,
    );
    assert_eq!(r.status, 401, "secret required");
    // Not registered for the code grant.
    assert_eq!(
        token(
            addr,
            &[("grant_type", "authorization_code"), ("code", "x")],
            Some((id, secret))
        )
        .json()["error"],
        "unauthorized_client"
    );
    // A public client cannot use client_credentials.
    let public = public_client(addr);
    let r = token(
        addr,
        &[("grant_type", "client_credentials"), ("client_id", &public)],
        None,
    );
    assert_eq!(r.json()["error"], "unauthorized_client");
}

// --- Who may talk to it: loopback Host and Origin only ------------------------

const EVIL: &[u8] = b"https://evil.example";
const INSPECTOR: &str = "http://localhost:6274";

/// Registers a confidential `client_credentials` client (no `Origin`, as a
/// command-line client would); returns its id and secret.
fn m2m_client(addr: SocketAddr) -> (String, String) {
    let r = register(
        addr,
        &json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let body = r.json();
    (
        body["client_id"].as_str().unwrap().to_owned(),
        body["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// A `client_credentials` token request with `headers` (e.g. `Origin`).
fn m2m_token(addr: SocketAddr, client: &(String, String), headers: &[(&str, &[u8])]) -> Response {
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &client.0),
        ("client_secret", &client.1),
    ]);
    let mut all: Vec<(&str, &[u8])> = vec![("Content-Type", b"application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    send(addr, "POST", "/token", &all, body.as_bytes())
}

/// Sends `request_line` and `headers` exactly (unlike `send`, which writes
/// `Host: <addr>` itself), then `body`.
fn raw(addr: SocketAddr, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{request_line}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header line");
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Response {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

fn assert_forbidden_origin(r: &Response, what: &str) {
    assert_eq!(r.status, 403, "{what}: {}", r.text());
    assert_eq!(
        r.json(),
        json!({"error": "forbidden", "error_description": "Origin not allowed"}),
        "{what}"
    );
    assert!(!r.text().contains("access_token"), "{what}");
    assert_eq!(r.header("access-control-allow-origin"), None, "{what}");
    assert!(r.header("x-authkit-dev-issuer").is_some(), "{what}");
}

#[test]
fn token_request_from_a_foreign_origin_is_refused() {
    let dev = start();
    let addr = dev.addr();
    let client = m2m_client(addr);
    let r = m2m_token(addr, &client, &[("Origin", EVIL)]);
    assert_forbidden_origin(&r, "token");
    // Nor can such a page register a client, or use the code flow's endpoints.
    let r = send(
        addr,
        "POST",
        "/register",
        &[("Content-Type", b"application/json"), ("Origin", EVIL)],
        br#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post"}"#,
    );
    assert_forbidden_origin(&r, "register");
    for path in [
        "/jwks",
        "/.well-known/oauth-authorization-server",
        "/authorize",
    ] {
        assert_forbidden_origin(&get(addr, path, &[("Origin", EVIL)]), path);
    }
    // `null` (sandboxed frames, file: pages), garbage, and a loopback origin
    // smuggled next to a foreign one are refused too.
    for origin in [
        &b"null"[..],
        b"evil.example",
        b"http://localhost:6274/",
        b"http://localhost.evil.example:6274",
        b"http://127.0.0.1.nip.io",
    ] {
        let what = String::from_utf8_lossy(origin);
        assert_forbidden_origin(&m2m_token(addr, &client, &[("Origin", origin)]), &what);
    }
    let r = m2m_token(
        addr,
        &client,
        &[("Origin", INSPECTOR.as_bytes()), ("Origin", EVIL)],
    );
    assert_forbidden_origin(&r, "two origins");
    // The client itself still works from the command line.
    assert_eq!(m2m_token(addr, &client, &[]).status, 200);
}

#[test]
fn token_request_from_a_localhost_subdomain_is_refused() {
    let dev = start();
    let addr = dev.addr();
    let client = m2m_client(addr);
    for origin in [
        &b"http://evil.localhost:8080"[..],
        b"https://evil.localhost",
        b"http://localhost.:8080",
    ] {
        let what = String::from_utf8_lossy(origin);
        assert_forbidden_origin(&m2m_token(addr, &client, &[("Origin", origin)]), &what);
    }
}

#[test]
fn dns_rebinding_host_is_refused() {
    let dev = start();
    let addr = dev.addr();
    let port = addr.port();
    let client = m2m_client(addr);
    let token_body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &client.0),
        ("client_secret", &client.1),
    ]);
    let register_body = json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}).to_string();
    let form_type = ("Content-Type", "application/x-www-form-urlencoded");
    let json_type = ("Content-Type", "application/json");
    let call = |host: &str, method: &str, path: &str| {
        let (content_type, body) = match path {
            "/token" => (form_type, token_body.as_bytes()),
            "/register" => (json_type, register_body.as_bytes()),
            _ => (form_type, &b""[..]),
        };
        raw(
            addr,
            &format!("{method} {path} HTTP/1.1"),
            &[("Host", host), content_type],
            body,
        )
    };
    let endpoints = [
        ("POST", "/token"),
        ("POST", "/register"),
        ("GET", "/jwks"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/openid-configuration"),
        ("GET", "/authorize"),
        ("GET", "/"),
        ("OPTIONS", "/token"),
    ];
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("evil.localhost:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("0.0.0.0:{port}"),
    ] {
        for (method, path) in endpoints {
            let r = call(&host, method, path);
            let what = format!("Host {host}: {method} {path}");
            assert_eq!(r.status, 421, "{what}: {}", r.text());
            assert_eq!(r.json()["error"], "misdirected_request", "{what}");
            assert!(
                r.json()["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("DNS rebinding"),
                "{what}"
            );
            assert!(!r.text().contains("access_token"), "{what}");
            assert!(!r.text().contains("\"keys\""), "{what}");
            assert_eq!(r.header("access-control-allow-origin"), None, "{what}");
        }
    }
    // An absolute-form target names the host too.
    let r = raw(
        addr,
        "GET http://evil.example/jwks HTTP/1.1",
        &[("Host", &format!("127.0.0.1:{port}"))],
        b"",
    );
    assert_eq!(r.status, 421, "{}", r.text());
    // No Host, or two: a bad request.
    let r = raw(addr, "GET /jwks HTTP/1.1", &[], b"");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_request"))
    );
    let r = raw(
        addr,
        "GET /jwks HTTP/1.1",
        &[("Host", "127.0.0.1"), ("Host", "evil.example")],
        b"",
    );
    assert_eq!(r.status, 400, "{}", r.text());

    // Every loopback spelling is answered, with or without a port.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_owned(),
        format!("[::1]:{port}"),
        "127.0.0.2".to_owned(),
    ] {
        assert_eq!(call(&host, "GET", "/jwks").status, 200, "{host}");
        let r = call(&host, "POST", "/token");
        assert_eq!(r.status, 200, "{host}: {}", r.text());
        assert!(r.json()["access_token"].is_string());
    }
    let r = raw(
        addr,
        &format!("GET http://localhost:{port}/jwks HTTP/1.1"),
        &[("Host", &format!("localhost:{port}"))],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn loopback_origin_works_with_cors_naming_it() {
    let dev = start();
    let addr = dev.addr();
    let origin = INSPECTOR.as_bytes();
    // The MCP Inspector in the browser: registration, code flow, token.
    let r = send(
        addr,
        "POST",
        "/register",
        &[("Content-Type", b"application/json"), ("Origin", origin)],
        json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
        })
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some(INSPECTOR));
    assert_eq!(r.header("vary"), Some("Origin"));
    let client = r.json()["client_id"].as_str().unwrap().to_owned();
    let (c, verifier) = code(addr, &client, None);
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &c),
        ("redirect_uri", REDIRECT),
        ("client_id", &client),
        ("code_verifier", &verifier),
    ]);
    let r = send(
        addr,
        "POST",
        "/token",
        &[
            ("Content-Type", b"application/x-www-form-urlencoded"),
            ("Origin", origin),
        ],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["access_token"].is_string());
    assert_eq!(r.header("access-control-allow-origin"), Some(INSPECTOR));
    assert_eq!(r.header("vary"), Some("Origin"));

    // Other loopback origins, each named back; never `*`.
    let client = m2m_client(addr);
    for origin in [
        "http://127.0.0.1:6274",
        "https://localhost:8443",
        "http://[::1]:6274",
        "http://localhost",
    ] {
        let r = m2m_token(addr, &client, &[("Origin", origin.as_bytes())]);
        assert_eq!(r.status, 200, "{origin}: {}", r.text());
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        let r = get(addr, "/jwks", &[("Origin", origin.as_bytes())]);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
    }
    let preflight = send(
        addr,
        "OPTIONS",
        "/register",
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", b"POST"),
            ("Access-Control-Request-Headers", b"content-type"),
        ],
        b"",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(INSPECTOR)
    );
    assert_eq!(preflight.header("vary"), Some("Origin"));
    assert!(preflight
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
}

#[test]
fn requests_without_origin_work_without_cors() {
    let dev = start();
    let addr = dev.addr();
    let client = m2m_client(addr);
    let r = m2m_token(addr, &client, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    verify(addr, &access, MCP);
    let body = code_flow(addr, None);
    verify(addr, body["access_token"].as_str().unwrap(), MCP);
    // Nothing is readable by any origin (no `*`): browsers must name theirs.
    for r in [
        r,
        get(addr, "/jwks", &[]),
        get(addr, "/.well-known/oauth-authorization-server", &[]),
        register(addr, &json!({"redirect_uris": [REDIRECT]})),
    ] {
        assert_eq!(r.header("access-control-allow-origin"), None, "{r:?}");
        assert_eq!(r.header("vary"), Some("Origin"));
    }
}

#[test]
fn preflight_from_a_foreign_origin_is_refused() {
    let dev = start();
    let addr = dev.addr();
    for path in [
        "/token",
        "/register",
        "/jwks",
        "/.well-known/oauth-authorization-server",
    ] {
        for origin in [EVIL, b"http://evil.localhost:8080", b"null"] {
            let r = send(
                addr,
                "OPTIONS",
                path,
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", b"POST"),
                    ("Access-Control-Request-Headers", b"content-type"),
                    ("Access-Control-Request-Private-Network", b"true"),
                ],
                b"",
            );
            let what = format!("{path} from {}", String::from_utf8_lossy(origin));
            assert_forbidden_origin(&r, &what);
            assert_eq!(r.header("access-control-allow-methods"), None, "{what}");
            assert_eq!(r.header("access-control-allow-headers"), None, "{what}");
            assert_eq!(
                r.header("access-control-allow-private-network"),
                None,
                "{what}"
            );
        }
    }
}

// --- The command -------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_authkit-dev-issuer");

#[test]
fn dev_issuer_command_prints_a_working_token() {
    let (_p, lines) = run_until(
        BIN,
        &[
            "--listen",
            "127.0.0.1:0",
            "--audience",
            "http://127.0.0.1:3999/mcp",
        ],
        "For spin up",
    );
    let addr = addr_in(&lines[0], "Development issuer http://");
    assert!(lines[0].contains("DEVELOPMENT ONLY"));
    let text = lines.join("\n");
    assert!(text.contains(&format!("Issuer:                 http://{addr}")));
    let token = token_in(&lines);
    verify(addr, &token, "http://127.0.0.1:3999/mcp");
    assert!(text.contains(&format!(
        "npx @modelcontextprotocol/inspector --cli http://127.0.0.1:3999/mcp --transport http --header \"Authorization: Bearer {token}\" --method tools/list"
    )));
    assert!(text.contains(&format!(
        "claude mcp add --transport http authkit-dev http://127.0.0.1:3999/mcp --header \"Authorization: Bearer {token}\""
    )));
    assert!(text.contains("OAuth-capable clients (MCP Inspector, Claude Code)"));
    assert_eq!(
        get(addr, "/.well-known/oauth-authorization-server", &[]).json()["issuer"],
        format!("http://{addr}")
    );

    let out = std::process::Command::new(BIN)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
