//! The issuer's rules with a controlled clock; the flows over HTTP are in
//! host/tests/dev_issuer.rs.

use super::*;
use jwt_simple::reexports::ct_codecs::Encoder as _;

const T0: u64 = 1_800_000_000;
const AUD: &str = "http://127.0.0.1:3000/mcp";
const REDIRECT: &str = "http://127.0.0.1:8765/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn issuer() -> Issuer {
    Issuer::new("http://127.0.0.1:3001".into(), AUD.into())
}

fn call(issuer: &Issuer, method: Method, target: &str, content_type: &str, body: &str) -> Reply {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let mut headers = loopback_headers();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap(),
    );
    issuer.handle(
        &Request {
            method: &method,
            path,
            query,
            authority: None,
            headers: &headers,
            body: body.as_bytes(),
        },
        T0,
    )
}

/// What every request carries: `Host` (a loopback host).
fn loopback_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::HOST,
        HeaderValue::from_static("127.0.0.1:3001"),
    );
    headers
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .headers
        .iter()
        .find(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.to_str().ok())
}

fn register(issuer: &Issuer, meta: Value) -> Value {
    let r = call(
        issuer,
        Method::POST,
        "/register",
        "application/json",
        &meta.to_string(),
    );
    assert_eq!(r.status, StatusCode::CREATED, "{}", json_of(&r));
    json_of(&r)
}

fn public_client(issuer: &Issuer) -> String {
    register(
        issuer,
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
    )["client_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs /authorize at `now` and returns the code.
fn code_at(issuer: &Issuer, client_id: &str, now: u64) -> String {
    let target = format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=s"
    );
    let (path, query) = target.split_once('?').unwrap();
    let r = issuer.handle(
        &Request {
            method: &Method::GET,
            path,
            query: Some(query),
            authority: None,
            headers: &loopback_headers(),
            body: b"",
        },
        now,
    );
    assert_eq!(r.status, StatusCode::FOUND);
    let location = Url::parse(header(&r, "location").unwrap()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

fn redeem_at(issuer: &Issuer, client_id: &str, code: &str, now: u64) -> Reply {
    let body = format!(
        "grant_type=authorization_code&code={code}&client_id={client_id}&redirect_uri={REDIRECT}&code_verifier={VERIFIER}"
    );
    let mut headers = loopback_headers();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    issuer.handle(
        &Request {
            method: &Method::POST,
            path: "/token",
            query: None,
            authority: None,
            headers: &headers,
            body: body.as_bytes(),
        },
        now,
    )
}

#[test]
fn codes_expire_after_60_seconds() {
    let issuer = issuer();
    let client = public_client(&issuer);
    let code = code_at(&issuer, &client, T0);
    let r = redeem_at(&issuer, &client, &code, T0 + CODE_LIFETIME + 1);
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&r)["error"], "invalid_grant");

    let code = code_at(&issuer, &client, T0);
    let r = redeem_at(&issuer, &client, &code, T0 + CODE_LIFETIME);
    assert_eq!(r.status, StatusCode::OK, "{}", json_of(&r));
}

#[test]
fn a_reused_code_revokes_its_refresh_token() {
    let issuer = issuer();
    let client = public_client(&issuer);
    let code = code_at(&issuer, &client, T0);
    let first = json_of(&redeem_at(&issuer, &client, &code, T0));
    let refresh = first["refresh_token"].as_str().unwrap();
    let again = redeem_at(&issuer, &client, &code, T0 + 1);
    assert_eq!(json_of(&again)["error"], "invalid_grant");
    let body = format!("grant_type=refresh_token&refresh_token={refresh}&client_id={client}");
    let r = call(
        &issuer,
        Method::POST,
        "/token",
        "application/x-www-form-urlencoded",
        &body,
    );
    assert_eq!(json_of(&r)["error"], "invalid_grant", "revoked");
}

#[test]
fn a_replayed_refresh_token_revokes_the_grant() {
    let issuer = issuer();
    let client = public_client(&issuer);
    let code = code_at(&issuer, &client, T0);
    let first = json_of(&redeem_at(&issuer, &client, &code, T0));
    let refresh = |token: &str| {
        let body = format!("grant_type=refresh_token&refresh_token={token}&client_id={client}");
        json_of(&call(
            &issuer,
            Method::POST,
            "/token",
            "application/x-www-form-urlencoded",
            &body,
        ))
    };
    let old = first["refresh_token"].as_str().unwrap().to_owned();
    let second = refresh(&old);
    let new = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert_eq!(refresh(&old)["error"], "invalid_grant", "replay");
    assert_eq!(refresh(&new)["error"], "invalid_grant", "grant revoked");
}

#[test]
fn redirect_uri_rules() {
    for ok in [
        "https://app.example.com/cb",
        "http://127.0.0.1:6274/oauth/callback",
        "http://localhost:6274/oauth/callback",
        "http://[::1]/cb",
        "cursor://anysphere.cursor-retrieval/oauth/callback",
        "com.example.app:/oauth2redirect",
    ] {
        assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
    }
    for bad in [
        "http://example.com/cb",
        "https://app.example.com/cb#frag",
        "javascript:alert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "/relative",
        "",
    ] {
        assert!(check_redirect_uri(bad).is_err(), "{bad}");
    }
    assert!(redirect_matches(
        "http://127.0.0.1/cb",
        "http://127.0.0.1:51234/cb"
    ));
    assert!(redirect_matches(
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:2/cb"
    ));
    assert!(!redirect_matches(
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:1/other"
    ));
    assert!(
        !redirect_matches("http://localhost:1/cb", "http://localhost:2/cb"),
        "ports vary for IP literals only"
    );
    assert!(!redirect_matches(
        "https://a.example/cb",
        "https://a.example/cb/"
    ));
}

#[test]
fn basic_credentials_are_form_decoded() {
    let value = HeaderValue::from_str(&format!(
        "Basic {}",
        jwt_simple::reexports::ct_codecs::Base64::encode_to_string("a%3Ab:s+%2B").unwrap()
    ))
    .unwrap();
    assert_eq!(parse_basic(&value), Some(("a:b".into(), "s +".into())));
    assert_eq!(parse_basic(&HeaderValue::from_static("Bearer x")), None);
}

#[test]
fn params_and_scopes() {
    let p = Params::parse("a=1&b=&resource=x&resource=y&c=2&a=3");
    assert_eq!(p.one("b"), Ok(None), "empty means absent");
    assert_eq!(p.one("a"), Err(()));
    assert_eq!(p.repeated(&["resource"]), Some("a"));
    assert_eq!(p.all("resource").collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(normalize_scope(" mcp  openid mcp"), Ok("mcp openid".into()));
    assert_eq!(normalize_scope("a\"b"), Err(()));
}

#[test]
fn every_reply_says_development_only() {
    let issuer = issuer();
    for (method, path) in [
        (Method::GET, "/.well-known/oauth-authorization-server"),
        (Method::GET, "/nope"),
        (Method::POST, "/token"),
        (Method::OPTIONS, "/token"),
        (Method::GET, "/authorize"),
    ] {
        let r = call(&issuer, method, path, "text/plain", "");
        assert!(
            header(&r, DEV_ONLY_HEADER)
                .unwrap()
                .contains("DEVELOPMENT ONLY"),
            "{path}"
        );
    }
    let doc = call(&issuer, Method::GET, "/", "", "");
    assert!(String::from_utf8_lossy(&doc.body).starts_with("DEVELOPMENT ONLY"));
}

/// `/jwks` with extra request headers (on top of the content type) and the
/// authority of an absolute-form target.
fn jwks_with(issuer: &Issuer, headers: &[(&str, &str)], authority: Option<&str>) -> Reply {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    issuer.handle(
        &Request {
            method: &Method::GET,
            path: "/jwks",
            query: None,
            authority,
            headers: &map,
            body: b"",
        },
        T0,
    )
}

#[test]
fn only_loopback_hosts_and_origins_are_answered() {
    let issuer = issuer();
    let status_error = |r: &Reply| (r.status.as_u16(), json_of(r)["error"].clone());
    // Host: missing, repeated, foreign (DNS rebinding), foreign absolute-form target.
    let r = jwks_with(&issuer, &[], None);
    assert_eq!(status_error(&r), (400, json!("invalid_request")));
    let r = jwks_with(
        &issuer,
        &[("host", "127.0.0.1"), ("host", "127.0.0.1")],
        None,
    );
    assert_eq!(status_error(&r), (400, json!("invalid_request")));
    for host in ["evil.example", "evil.example:3001", "evil.localhost:3001"] {
        let r = jwks_with(&issuer, &[("host", host)], None);
        assert_eq!(
            status_error(&r),
            (421, json!("misdirected_request")),
            "{host}"
        );
        assert!(header(&r, DEV_ONLY_HEADER).is_some());
        assert!(header(&r, "access-control-allow-origin").is_none());
    }
    let r = jwks_with(&issuer, &[("host", "127.0.0.1")], Some("evil.example"));
    assert_eq!(status_error(&r), (421, json!("misdirected_request")));

    // Origin: foreign, repeated, null -> 403 without CORS headers.
    for origins in [
        &["https://evil.example"][..],
        &["http://evil.localhost:8080"],
        &["null"],
        &["http://localhost:6274", "https://evil.example"],
    ] {
        let mut headers = vec![("host", "localhost:3001")];
        headers.extend(origins.iter().map(|o| ("origin", *o)));
        let r = jwks_with(&issuer, &headers, None);
        assert_eq!(status_error(&r), (403, json!("forbidden")), "{origins:?}");
        assert_eq!(json_of(&r)["error_description"], "Origin not allowed");
        assert!(header(&r, "access-control-allow-origin").is_none());
    }

    // Loopback: answered; CORS names the origin.
    for host in ["127.0.0.1:3001", "localhost", "[::1]:3001"] {
        let r = jwks_with(&issuer, &[("host", host)], Some(host));
        assert_eq!(r.status, StatusCode::OK, "{host}");
        assert!(header(&r, "access-control-allow-origin").is_none());
        assert_eq!(header(&r, "vary"), Some("Origin"));
    }
    let r = jwks_with(
        &issuer,
        &[
            ("host", "127.0.0.1:3001"),
            ("origin", "http://localhost:6274"),
        ],
        None,
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("http://localhost:6274")
    );
    assert_eq!(header(&r, "vary"), Some("Origin"));
}
