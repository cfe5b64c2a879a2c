//! The development issuer's OAuth 2.1 logic, without I/O: a request in, a
//! reply out, the time passed in (so expiry is testable).
//!
//! Everything lives in memory and dies with the process. Login and consent are
//! automatic: every authorization request from a registered client for one of
//! its redirect URIs is granted, for the user `dev-user`.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use jwt_simple::reexports::ct_codecs::{Base64, Decoder as _};
use serde_json::{json, Map, Value};
use url::Url;

use super::loopback::{is_loopback_authority, is_loopback_origin};
use super::signer::{constant_time_eq, random_token, s256, secret_key, AccessToken, Signer};

/// Subject of tokens from the authorization-code flow (automatic login).
pub const DEV_USER: &str = "dev-user";
/// Scope granted when a client asks for none.
pub const DEFAULT_SCOPE: &str = "mcp";
/// Said by every response (header) and document.
pub const DEVELOPMENT_ONLY: &str =
    "DEVELOPMENT ONLY: authkit-host local development issuer (automatic login and consent, \
     in-memory keys). Never use it in production.";

const CODE_LIFETIME: u64 = 60;
pub(crate) const ACCESS_TOKEN_LIFETIME: u64 = 3600;
const REFRESH_TOKEN_LIFETIME: u64 = 7 * 24 * 3600;
/// Bounds what an (unauthenticated, loopback) caller can make us remember.
const MAX_CLIENTS: usize = 1000;
const MAX_GRANTS: usize = 10_000;

const GRANT_CODE: &str = "authorization_code";
const GRANT_REFRESH: &str = "refresh_token";
const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
const GRANT_TYPES: [&str; 3] = [GRANT_CODE, GRANT_REFRESH, GRANT_CLIENT_CREDENTIALS];
const AUTH_NONE: &str = "none";
const AUTH_POST: &str = "client_secret_post";
const AUTH_BASIC: &str = "client_secret_basic";
const AUTH_METHODS: [&str; 3] = [AUTH_NONE, AUTH_POST, AUTH_BASIC];
const SCOPES_SUPPORTED: [&str; 5] = ["mcp", "openid", "profile", "email", "offline_access"];

pub(crate) const DEV_ONLY_HEADER: &str = "x-authkit-dev-issuer";

/// One HTTP request, as the core sees it.
pub(crate) struct Request<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The authority of an absolute-form request target (`GET http://host/path`).
    pub authority: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// One HTTP response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl Reply {
    fn json(status: StatusCode, value: &Value) -> Self {
        Self {
            status,
            headers: vec![(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: Bytes::from(value.to_string()),
        }
    }

    fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// `Cache-Control: no-store` (RFC 6749 §5.1, RFC 7591 §3.2.1).
    fn no_store(self) -> Self {
        self.header(http::header::CACHE_CONTROL, "no-store")
            .header(http::header::PRAGMA, "no-cache")
    }

    /// Readable by browser clients on a loopback origin such as the MCP
    /// Inspector: `origin` is the request's `Origin`, already found to be a
    /// loopback origin by [`screen`]; never `*`.
    fn cors(self, origin: Option<&str>) -> Self {
        let reply = self.header(http::header::VARY, "Origin");
        match origin {
            Some(origin) => reply
                .header(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
                .header(
                    http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    "WWW-Authenticate",
                ),
            None => reply,
        }
    }
}

/// Who may talk to the issuer, checked before anything else is done with a
/// request (see [`super::loopback`]):
///
/// - exactly one `Host`, naming a loopback host, and a loopback authority in an
///   absolute-form target: otherwise 421 (400 when `Host` is missing or
///   repeated). A web page whose name an attacker re-points at 127.0.0.1 (DNS
///   rebinding) sends its own name as `Host`;
/// - no `Origin` (command-line clients), or exactly one naming a loopback
///   origin: otherwise 403, preflights included, and no CORS headers.
///
/// Returns the origin that CORS responses allow.
pub(crate) fn screen<'a>(req: &Request<'a>) -> Result<Option<&'a str>, Reply> {
    let mut hosts = req.headers.get_all(http::header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host,
        (None, _) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the Host header is missing",
            ))
        }
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the Host header is repeated",
            ))
        }
    };
    let host_ok = host.to_str().is_ok_and(is_loopback_authority);
    if !host_ok || !req.authority.is_none_or(is_loopback_authority) {
        return Err(error(
            StatusCode::MISDIRECTED_REQUEST,
            "misdirected_request",
            "Host not allowed: the development issuer only answers requests addressed to \
             localhost, 127.0.0.0/8 or [::1] (DNS rebinding protection)",
        ));
    }
    let mut origins = req.headers.get_all(http::header::ORIGIN).iter();
    match (origins.next(), origins.next()) {
        (None, _) => Ok(None),
        (Some(origin), None) => match origin.to_str() {
            Ok(origin) if is_loopback_origin(origin) => Ok(Some(origin)),
            _ => Err(forbidden_origin()),
        },
        _ => Err(forbidden_origin()),
    }
}

fn forbidden_origin() -> Reply {
    error(StatusCode::FORBIDDEN, "forbidden", "Origin not allowed")
}

/// An OAuth error response body (RFC 6749 §5.2, RFC 7591 §3.2.2).
fn error(status: StatusCode, code: &str, description: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": code, "error_description": description}),
    )
}

struct Client {
    secret: Option<String>,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    scope: Option<String>,
}

impl Client {
    fn allows(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

struct Code {
    client_id: String,
    redirect_uri: String,
    /// Whether the authorization request named it (then the token request must too).
    redirect_uri_given: bool,
    challenge: String,
    scope: String,
    resources: Vec<String>,
    expires: u64,
    grant: String,
}

struct Refresh {
    client_id: String,
    subject: String,
    scope: String,
    audiences: Vec<String>,
    expires: u64,
    grant: String,
}

#[derive(Default)]
struct State {
    clients: HashMap<String, Client>,
    /// Authorization codes and refresh tokens are kept under [`secret_key`], never as
    /// themselves: a lookup compares digests, so its timing says nothing about them.
    codes: HashMap<String, Code>,
    /// Redeemed codes (until they would have expired) -> their grant: a second
    /// redemption revokes what the first one issued (RFC 6749 §4.1.2).
    used_codes: HashMap<String, (String, u64)>,
    refresh_tokens: HashMap<String, Refresh>,
    /// Rotated-out refresh tokens -> their grant: reuse revokes the grant's
    /// current refresh token (OAuth 2.1 §4.3.1, replay detection).
    retired_refresh_tokens: HashMap<String, (String, u64)>,
}

impl State {
    fn prune(&mut self, now: u64) {
        self.codes.retain(|_, c| c.expires + CODE_LIFETIME >= now);
        self.used_codes.retain(|_, (_, exp)| *exp >= now);
        self.refresh_tokens.retain(|_, r| r.expires >= now);
        self.retired_refresh_tokens
            .retain(|_, (_, exp)| *exp >= now);
    }

    fn revoke_grant(&mut self, grant: &str) {
        self.refresh_tokens.retain(|_, r| r.grant != grant);
    }

    fn full(&self) -> bool {
        self.codes.len() + self.refresh_tokens.len() >= MAX_GRANTS
    }
}

/// The issuer: configuration, key and in-memory state.
pub(crate) struct Issuer {
    issuer: String,
    default_audience: String,
    signer: Signer,
    state: Mutex<State>,
}

impl Issuer {
    /// `issuer`: `http://127.0.0.1:PORT`; `default_audience`: the `aud` of tokens
    /// requested without `resource` (the MCP server's URL).
    pub(crate) fn new(issuer: String, default_audience: String) -> Self {
        Self {
            issuer,
            default_audience,
            signer: Signer::generate(),
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(crate) fn default_audience(&self) -> &str {
        &self.default_audience
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Mints an access token directly (no client, no flow): for the banner.
    pub(crate) fn mint(
        &self,
        subject: &str,
        client_id: &str,
        audience: &str,
        lifetime_seconds: u64,
        now: u64,
    ) -> String {
        self.signer.sign(
            &self.issuer,
            &AccessToken {
                subject,
                client_id,
                scope: DEFAULT_SCOPE,
                audiences: &[audience.to_string()],
                issued_at: now,
                lifetime_seconds,
            },
        )
    }

    /// Answers `req`, once [`screen`] let it through.
    pub(crate) fn handle(&self, req: &Request<'_>, now: u64) -> Reply {
        let reply = match screen(req) {
            Ok(origin) => self.route(req, origin, now),
            Err(refusal) => refusal,
        };
        development_only(reply)
    }

    /// [`screen`]'s refusal of `req`, as [`Issuer::handle`] would send it: for the
    /// server to refuse before it reads the body.
    pub(crate) fn refusal(&self, req: &Request<'_>) -> Option<Reply> {
        screen(req).err().map(development_only)
    }

    fn route(&self, req: &Request<'_>, origin: Option<&str>, now: u64) -> Reply {
        let get = matches!(*req.method, Method::GET | Method::HEAD);
        let post = *req.method == Method::POST;
        if *req.method == Method::OPTIONS {
            return preflight(req.headers, origin);
        }
        match req.path {
            "/" if get => Reply {
                status: StatusCode::OK,
                headers: vec![(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                body: Bytes::from(self.documentation()),
            },
            "/.well-known/oauth-authorization-server" | "/.well-known/openid-configuration"
                if get =>
            {
                Reply::json(StatusCode::OK, &self.metadata()).cors(origin)
            }
            "/jwks" if get => Reply::json(StatusCode::OK, &self.signer.jwks())
                .header(http::header::CACHE_CONTROL, "no-store")
                .cors(origin),
            "/register" if post => self.register(req.body, now).no_store().cors(origin),
            "/authorize" if get => self.authorize(&Params::parse(req.query.unwrap_or("")), now),
            "/authorize" if post => self.authorize(&Params::parse_bytes(req.body), now),
            "/token" if post => self.token(req, now).no_store().cors(origin),
            "/"
            | "/.well-known/oauth-authorization-server"
            | "/.well-known/openid-configuration"
            | "/jwks"
            | "/register"
            | "/authorize"
            | "/token" => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "method not allowed",
            )
            .cors(origin),
            _ => error(StatusCode::NOT_FOUND, "not_found", "no such endpoint").cors(origin),
        }
    }

    fn documentation(&self) -> String {
        format!(
            "{DEVELOPMENT_ONLY}\n\n\
             Issuer:                 {iss}\n\
             Metadata:               {iss}/.well-known/oauth-authorization-server\n\
             JWKS (ES256):           {iss}/jwks\n\
             Dynamic registration:   POST {iss}/register (RFC 7591, open)\n\
             Authorization:          {iss}/authorize (code + PKCE S256; login and consent are \
             automatic for the user `{DEV_USER}`)\n\
             Token:                  POST {iss}/token (authorization_code, refresh_token, \
             client_credentials)\n\
             Default token audience: {aud}\n\n\
             Access tokens are RFC 9068 JWTs valid for {life} s. Keys and registrations live in \
             memory and are gone when the process stops.\n",
            iss = self.issuer,
            aud = self.default_audience,
            life = ACCESS_TOKEN_LIFETIME,
        )
    }

    /// RFC 8414 metadata (also served as `openid-configuration`).
    pub(crate) fn metadata(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "registration_endpoint": self.url("/register"),
            "jwks_uri": self.url("/jwks"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": GRANT_TYPES,
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "scopes_supported": SCOPES_SUPPORTED,
            "authorization_response_iss_parameter_supported": true,
            "service_documentation": self.url("/"),
            "description": DEVELOPMENT_ONLY,
        })
    }

    // --- RFC 7591 dynamic client registration -------------------------------

    fn register(&self, body: &[u8], now: u64) -> Reply {
        let bad = |description: &str| {
            error(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                description,
            )
        };
        let Ok(Value::Object(mut meta)) = serde_json::from_slice::<Value>(body) else {
            return bad("the body must be a JSON object of client metadata");
        };
        let strings = |meta: &Map<String, Value>, name: &str| -> Result<Option<Vec<String>>, ()> {
            match meta.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or(()))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(()),
            }
        };
        let string = |meta: &Map<String, Value>, name: &str| -> Result<Option<String>, ()> {
            match meta.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(()),
            }
        };

        let Ok(redirect_uris) = strings(&meta, "redirect_uris") else {
            return bad("redirect_uris must be an array of strings");
        };
        let redirect_uris = redirect_uris.unwrap_or_default();
        // RFC 7591 §2 defaults to ["authorization_code"]; MCP clients that leave it
        // out still expect refresh tokens, so this development server adds them.
        let Ok(grant_types) = strings(&meta, "grant_types") else {
            return bad("grant_types must be an array of strings");
        };
        let grant_types =
            grant_types.unwrap_or_else(|| vec![GRANT_CODE.into(), GRANT_REFRESH.into()]);
        if let Some(g) = grant_types
            .iter()
            .find(|g| !GRANT_TYPES.contains(&g.as_str()))
        {
            return bad(&format!(
                "unsupported grant type `{g}` (supported: {})",
                GRANT_TYPES.join(", ")
            ));
        }
        let Ok(response_types) = strings(&meta, "response_types") else {
            return bad("response_types must be an array of strings");
        };
        let response_types = response_types.unwrap_or_else(|| vec!["code".into()]);
        if response_types.iter().any(|r| r != "code") {
            return bad("the only response type is `code`");
        }
        // RFC 7591 §2: the default is client_secret_basic.
        let Ok(auth_method) = string(&meta, "token_endpoint_auth_method") else {
            return bad("token_endpoint_auth_method must be a string");
        };
        let auth_method = auth_method.unwrap_or_else(|| AUTH_BASIC.into());
        if !AUTH_METHODS.contains(&auth_method.as_str()) {
            return bad(&format!(
                "unsupported token_endpoint_auth_method `{auth_method}` (supported: {})",
                AUTH_METHODS.join(", ")
            ));
        }
        let Ok(scope) = string(&meta, "scope") else {
            return bad("scope must be a string");
        };
        let scope = match scope.as_deref().map(normalize_scope) {
            None => None,
            Some(Ok(s)) if s.is_empty() => None,
            Some(Ok(s)) => Some(s),
            Some(Err(())) => return bad("scope is not a valid scope string"),
        };
        if grant_types.iter().any(|g| g == GRANT_CODE) && redirect_uris.is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_redirect_uri",
                "redirect_uris is required for the authorization_code grant",
            );
        }
        for uri in &redirect_uris {
            if let Err(why) = check_redirect_uri(uri) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_redirect_uri",
                    &format!("redirect URI {uri:?}: {why}"),
                );
            }
        }
        let confidential = auth_method != AUTH_NONE;
        if grant_types.iter().any(|g| g == GRANT_CLIENT_CREDENTIALS) && !confidential {
            return bad("client_credentials needs a client secret: use token_endpoint_auth_method client_secret_post or client_secret_basic");
        }

        let client_id = format!("dev-client-{}", random_token(12));
        let secret = confidential.then(|| random_token(32));
        {
            let mut state = self.state.lock().unwrap();
            if state.clients.len() >= MAX_CLIENTS {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client_metadata",
                    "too many clients registered: restart the development issuer",
                );
            }
            state.clients.insert(
                client_id.clone(),
                Client {
                    secret: secret.clone(),
                    redirect_uris: redirect_uris.clone(),
                    grant_types: grant_types.clone(),
                    scope: scope.clone(),
                },
            );
        }

        // RFC 7591 §3.2.1: the registered metadata, as the server normalized it.
        meta.remove("client_secret");
        meta.insert("client_id".into(), json!(client_id));
        meta.insert("client_id_issued_at".into(), json!(now));
        if let Some(secret) = secret {
            meta.insert("client_secret".into(), json!(secret));
            meta.insert("client_secret_expires_at".into(), json!(0));
        }
        meta.insert("redirect_uris".into(), json!(redirect_uris));
        meta.insert("grant_types".into(), json!(grant_types));
        meta.insert("response_types".into(), json!(response_types));
        meta.insert("token_endpoint_auth_method".into(), json!(auth_method));
        match scope {
            Some(s) => meta.insert("scope".into(), json!(s)),
            None => meta.remove("scope"),
        };
        Reply::json(StatusCode::CREATED, &Value::Object(meta))
    }

    // --- Authorization endpoint ---------------------------------------------

    fn authorize(&self, params: &Params, now: u64) -> Reply {
        // Until client and redirect URI are known good, errors are shown here and
        // never redirected (RFC 6749 §4.1.2.1).
        let page =
            |description: &str| error(StatusCode::BAD_REQUEST, "invalid_request", description);
        let client_id = match params.one("client_id") {
            Ok(Some(id)) => id,
            Ok(None) => return page("client_id is missing"),
            Err(()) => return page("client_id is repeated"),
        };
        let requested_redirect = match params.one("redirect_uri") {
            Ok(r) => r,
            Err(()) => return page("redirect_uri is repeated"),
        };
        let mut state = self.state.lock().unwrap();
        let Some(client) = state.clients.get(client_id) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "unknown client_id: register the client first",
            );
        };
        let redirect_uri = match requested_redirect {
            Some(r)
                if client
                    .redirect_uris
                    .iter()
                    .any(|reg| redirect_matches(reg, r)) =>
            {
                r.to_string()
            }
            Some(_) => return page("redirect_uri is not registered for this client"),
            // OAuth 2.1 §4.1.1: optional when exactly one is registered.
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None => return page("redirect_uri is required (the client registered several)"),
        };

        let state_param = params.one("state").ok().flatten();
        let redirect = |fields: &[(&str, &str)]| -> Reply {
            let mut url = Url::parse(&redirect_uri).expect("registered redirect URIs parse");
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in fields {
                    query.append_pair(k, v);
                }
                if let Some(s) = state_param {
                    query.append_pair("state", s);
                }
                // RFC 9207: tells the client which issuer answered.
                query.append_pair("iss", &self.issuer);
            }
            Reply {
                status: StatusCode::FOUND,
                headers: vec![],
                body: Bytes::new(),
            }
            .header(http::header::LOCATION, url.as_str())
            .header(http::header::CACHE_CONTROL, "no-store")
        };
        let fail = |code: &str, description: &str| {
            redirect(&[("error", code), ("error_description", description)])
        };

        if let Some(name) = params.repeated(&["resource"]) {
            return fail("invalid_request", &format!("parameter {name} is repeated"));
        }
        match params.one("response_type") {
            Ok(Some("code")) => {}
            Ok(Some(_)) => {
                return fail(
                    "unsupported_response_type",
                    "the only response_type is `code`",
                )
            }
            _ => return fail("invalid_request", "response_type is missing"),
        }
        if !client.allows(GRANT_CODE) {
            return fail(
                "unauthorized_client",
                "the client did not register the authorization_code grant",
            );
        }
        let Ok(Some(challenge)) = params.one("code_challenge") else {
            return fail(
                "invalid_request",
                "code_challenge is required (PKCE with S256)",
            );
        };
        if params.one("code_challenge_method") != Ok(Some("S256")) {
            return fail("invalid_request", "code_challenge_method must be S256");
        }
        if challenge.len() != 43 || !challenge.bytes().all(is_base64url) {
            return fail(
                "invalid_request",
                "code_challenge must be base64url(SHA-256(code_verifier)), 43 characters",
            );
        }
        let scope = match params.one("scope").ok().flatten().map(normalize_scope) {
            Some(Ok(s)) if !s.is_empty() => s,
            Some(Err(())) => return fail("invalid_scope", "scope is not a valid scope string"),
            _ => client.scope.clone().unwrap_or_else(|| DEFAULT_SCOPE.into()),
        };
        let resources: Vec<String> = params.all("resource").map(str::to_owned).collect();
        if let Some(bad) = resources.iter().find(|r| check_resource(r).is_err()) {
            return fail(
                "invalid_target",
                &format!("resource {bad:?} must be an absolute URI without a fragment"),
            );
        }

        state.prune(now);
        if state.full() {
            return fail(
                "temporarily_unavailable",
                "too many outstanding grants: restart the development issuer",
            );
        }
        let code = random_token(32);
        state.codes.insert(
            secret_key(&code),
            Code {
                client_id: client_id.to_string(),
                redirect_uri: redirect_uri.clone(),
                redirect_uri_given: requested_redirect.is_some(),
                challenge: challenge.to_string(),
                scope,
                resources,
                expires: now + CODE_LIFETIME,
                grant: random_token(12),
            },
        );
        // Login and consent are automatic.
        redirect(&[("code", &code)])
    }

    // --- Token endpoint -----------------------------------------------------

    fn token(&self, req: &Request<'_>, now: u64) -> Reply {
        let form = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            );
        }
        let params = Params::parse_bytes(req.body);
        if let Some(name) = params.repeated(&["resource"]) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("parameter {name} is repeated"),
            );
        }
        let Ok(Some(grant_type)) = params.one("grant_type") else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing",
            );
        };
        if !GRANT_TYPES.contains(&grant_type) {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("supported grant types: {}", GRANT_TYPES.join(", ")),
            );
        }
        let mut state = self.state.lock().unwrap();
        state.prune(now);
        let client_id = match authenticate(&state, req.headers, &params) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let client = &state.clients[&client_id];
        if !client.allows(grant_type) {
            return error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                &format!("the client did not register the {grant_type} grant"),
            );
        }
        let resources: Vec<String> = params.all("resource").map(str::to_owned).collect();
        if resources.iter().any(|r| check_resource(r).is_err()) {
            return invalid_target("resource must be an absolute URI without a fragment");
        }
        match grant_type {
            GRANT_CODE => self.code_grant(&mut state, &client_id, &params, resources, now),
            GRANT_REFRESH => self.refresh_grant(&mut state, &client_id, &params, resources, now),
            _ => self.client_credentials_grant(&state, &client_id, &params, resources, now),
        }
    }

    fn code_grant(
        &self,
        state: &mut State,
        client_id: &str,
        params: &Params,
        resources: Vec<String>,
        now: u64,
    ) -> Reply {
        let Ok(Some(code)) = params.one("code") else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "code is missing",
            );
        };
        let code = secret_key(code);
        // Single use: whatever happens next, this code is spent.
        let Some(entry) = state.codes.remove(&code) else {
            if let Some((grant, _)) = state.used_codes.get(&code).cloned() {
                state.revoke_grant(&grant);
                return invalid_grant(
                    "authorization code already used (its refresh token is revoked)",
                );
            }
            return invalid_grant("unknown or expired authorization code");
        };
        state
            .used_codes
            .insert(code, (entry.grant.clone(), entry.expires));
        if now > entry.expires {
            return invalid_grant("authorization code expired");
        }
        if entry.client_id != client_id {
            return invalid_grant("authorization code was issued to another client");
        }
        let redirect_uri = params.one("redirect_uri").ok().flatten();
        match redirect_uri {
            Some(r) if r == entry.redirect_uri => {}
            None if !entry.redirect_uri_given => {}
            _ => return invalid_grant("redirect_uri does not match the authorization request"),
        }
        let Ok(Some(verifier)) = params.one("code_verifier") else {
            return invalid_grant("code_verifier is missing (PKCE)");
        };
        if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_pkce_unreserved) {
            return invalid_grant("code_verifier is malformed (RFC 7636 §4.1)");
        }
        if !constant_time_eq(s256(verifier).as_bytes(), entry.challenge.as_bytes()) {
            return invalid_grant("code_verifier does not match the code_challenge");
        }
        let authorized = if entry.resources.is_empty() {
            vec![self.default_audience.clone()]
        } else {
            entry.resources
        };
        let audiences = match narrow(&authorized, resources) {
            Ok(a) => a,
            Err(reply) => return reply,
        };
        let client = &state.clients[client_id];
        let refresh = client.allows(GRANT_REFRESH).then(|| Refresh {
            client_id: client_id.to_string(),
            subject: DEV_USER.to_string(),
            scope: entry.scope.clone(),
            audiences: authorized.clone(),
            expires: now + REFRESH_TOKEN_LIFETIME,
            grant: entry.grant,
        });
        self.token_response(
            state,
            client_id,
            DEV_USER,
            &entry.scope,
            &audiences,
            refresh,
            now,
        )
    }

    fn refresh_grant(
        &self,
        state: &mut State,
        client_id: &str,
        params: &Params,
        resources: Vec<String>,
        now: u64,
    ) -> Reply {
        let Ok(Some(token)) = params.one("refresh_token") else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "refresh_token is missing",
            );
        };
        let token = secret_key(token);
        match state.refresh_tokens.get(&token) {
            Some(r) if r.client_id != client_id => {
                return invalid_grant("refresh token was issued to another client")
            }
            Some(_) => {}
            None => {
                if let Some((grant, _)) = state.retired_refresh_tokens.get(&token).cloned() {
                    state.revoke_grant(&grant);
                    return invalid_grant(
                        "refresh token already used (rotated); the grant is revoked",
                    );
                }
                return invalid_grant("unknown or expired refresh token");
            }
        }
        let Some(old) = state.refresh_tokens.remove(&token) else {
            return invalid_grant("unknown or expired refresh token");
        };
        state
            .retired_refresh_tokens
            .insert(token, (old.grant.clone(), old.expires));
        let scope = match params.one("scope").ok().flatten().map(normalize_scope) {
            Some(Ok(s)) if !s.is_empty() => {
                let granted: Vec<&str> = old.scope.split(' ').collect();
                if !s.split(' ').all(|t| granted.contains(&t)) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "scope exceeds the scope originally granted",
                    );
                }
                s
            }
            Some(Err(())) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "scope is not a valid scope string",
                )
            }
            _ => old.scope.clone(),
        };
        let audiences = match narrow(&old.audiences, resources) {
            Ok(a) => a,
            Err(reply) => return reply,
        };
        // Rotation: a new refresh token for the same grant, the same original rights.
        let refresh = Refresh {
            expires: now + REFRESH_TOKEN_LIFETIME,
            ..old
        };
        let subject = refresh.subject.clone();
        self.token_response(
            state,
            client_id,
            &subject,
            &scope,
            &audiences,
            Some(refresh),
            now,
        )
    }

    fn client_credentials_grant(
        &self,
        state: &State,
        client_id: &str,
        params: &Params,
        resources: Vec<String>,
        now: u64,
    ) -> Reply {
        let client = &state.clients[client_id];
        if client.secret.is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "client_credentials is for confidential clients (registered with a secret)",
            );
        }
        let scope = match params.one("scope").ok().flatten().map(normalize_scope) {
            Some(Ok(s)) if !s.is_empty() => s,
            Some(Err(())) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "scope is not a valid scope string",
                )
            }
            _ => client.scope.clone().unwrap_or_else(|| DEFAULT_SCOPE.into()),
        };
        let audiences = if resources.is_empty() {
            vec![self.default_audience.clone()]
        } else {
            resources
        };
        let token = self.signer.sign(
            &self.issuer,
            &AccessToken {
                subject: client_id,
                client_id,
                scope: &scope,
                audiences: &audiences,
                issued_at: now,
                lifetime_seconds: ACCESS_TOKEN_LIFETIME,
            },
        );
        Reply::json(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME,
                "scope": scope,
            }),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn token_response(
        &self,
        state: &mut State,
        client_id: &str,
        subject: &str,
        scope: &str,
        audiences: &[String],
        refresh: Option<Refresh>,
        now: u64,
    ) -> Reply {
        let access_token = self.signer.sign(
            &self.issuer,
            &AccessToken {
                subject,
                client_id,
                scope,
                audiences,
                issued_at: now,
                lifetime_seconds: ACCESS_TOKEN_LIFETIME,
            },
        );
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": scope,
        });
        if let Some(refresh) = refresh {
            let token = random_token(32);
            body["refresh_token"] = json!(token);
            state.refresh_tokens.insert(secret_key(&token), refresh);
        }
        Reply::json(StatusCode::OK, &body)
    }
}

/// Client authentication at the token endpoint (RFC 6749 §2.3.1): HTTP Basic or
/// form fields for confidential clients, `client_id` alone for public ones.
fn authenticate(state: &State, headers: &HeaderMap, params: &Params) -> Result<String, Reply> {
    let invalid_client = |description: &str, basic: bool| {
        let reply = error(StatusCode::UNAUTHORIZED, "invalid_client", description);
        if basic {
            reply.header(
                http::header::WWW_AUTHENTICATE,
                "Basic realm=\"authkit-dev-issuer\"",
            )
        } else {
            reply
        }
    };
    let invalid_request = |description: &str| {
        Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            description,
        ))
    };
    let basic = match headers.get(http::header::AUTHORIZATION) {
        None => None,
        Some(value) => match parse_basic(value) {
            Some(credentials) => Some(credentials),
            None => {
                return Err(invalid_client(
                    "unsupported or malformed Authorization header (expected Basic)",
                    true,
                ))
            }
        },
    };
    let (Ok(body_id), Ok(body_secret)) = (params.one("client_id"), params.one("client_secret"))
    else {
        return invalid_request("client_id or client_secret is repeated");
    };
    let (id, secret) = match (&basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => {
            return invalid_request("use one client authentication method, not two")
        }
        (Some((id, _)), Some(body_id), _) if body_id != id => {
            return invalid_request("client_id differs from the Basic credentials")
        }
        (Some((id, secret)), _, _) => (id.as_str(), Some(secret.as_str())),
        (None, Some(id), secret) => (id, secret),
        (None, None, _) => return Err(invalid_client("client authentication is missing", false)),
    };
    let Some(client) = state.clients.get(id) else {
        return Err(invalid_client("unknown client", basic.is_some()));
    };
    match (&client.secret, secret.filter(|s| !s.is_empty())) {
        (Some(expected), Some(given))
            if constant_time_eq(expected.as_bytes(), given.as_bytes()) =>
        {
            Ok(id.to_string())
        }
        (None, None) => Ok(id.to_string()),
        (None, Some(_)) => Err(invalid_client(
            "this client is public: it has no secret",
            basic.is_some(),
        )),
        _ => Err(invalid_client(
            "wrong or missing client secret",
            basic.is_some(),
        )),
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = Base64::decode_to_vec(encoded.trim(), None).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// The `aud` for a token request: the requested resources, each of which must
/// have been authorized; none requested: all authorized (RFC 8707 §2.2).
fn narrow(authorized: &[String], requested: Vec<String>) -> Result<Vec<String>, Reply> {
    if requested.is_empty() {
        return Ok(authorized.to_vec());
    }
    if let Some(r) = requested.iter().find(|r| !authorized.contains(r)) {
        return Err(invalid_target(&format!(
            "resource {r:?} was not part of the authorization"
        )));
    }
    Ok(requested)
}

fn invalid_grant(description: &str) -> Reply {
    error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn invalid_target(description: &str) -> Reply {
    error(StatusCode::BAD_REQUEST, "invalid_target", description)
}

fn development_only(reply: Reply) -> Reply {
    reply.header(
        HeaderName::from_static(DEV_ONLY_HEADER),
        "DEVELOPMENT ONLY - not for production",
    )
}

/// A CORS preflight that [`screen`] let through: any method and header for the
/// loopback `origin` (no cookies are involved); without `Origin` it is no
/// preflight and gets no CORS headers.
fn preflight(headers: &HeaderMap, origin: Option<&str>) -> Reply {
    let requested = headers
        .get(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Authorization, Content-Type, MCP-Protocol-Version")
        .to_string();
    Reply {
        status: StatusCode::NO_CONTENT,
        headers: vec![],
        body: Bytes::new(),
    }
    .cors(origin)
    .header(
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        "GET, POST, OPTIONS",
    )
    .header(http::header::ACCESS_CONTROL_ALLOW_HEADERS, &requested)
    .header(http::header::ACCESS_CONTROL_MAX_AGE, "600")
}

/// Form or query parameters. An empty value counts as absent (RFC 6749 §3.1).
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Self {
        Self::parse_bytes(query.as_bytes())
    }

    fn parse_bytes(bytes: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(bytes)
                .into_owned()
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        )
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The single value of `name`; `Err` when it is repeated.
    fn one(&self, name: &str) -> Result<Option<&str>, ()> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            _ => Err(()),
        }
    }

    /// A parameter given more than once, except those in `allowed`.
    fn repeated(&self, allowed: &[&str]) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(i, (k, _))| {
            (!allowed.contains(&k.as_str()) && self.0[..i].iter().any(|(p, _)| p == k))
                .then_some(k.as_str())
        })
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// RFC 7636 §4.1: `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
fn is_pkce_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Space-separated scope tokens (RFC 6749 §3.3), de-duplicated, in order.
fn normalize_scope(scope: &str) -> Result<String, ()> {
    let mut tokens: Vec<&str> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        if !token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(());
        }
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    Ok(tokens.join(" "))
}

/// `resource` (RFC 8707 §2): an absolute URI without a fragment.
fn check_resource(resource: &str) -> Result<(), ()> {
    match Url::parse(resource) {
        Ok(url) if url.fragment().is_none() => Ok(()),
        _ => Err(()),
    }
}

/// Which redirect URIs a client may register: `https`, `http` on a loopback host,
/// or a private-use scheme of a native app (RFC 8252 §7.1); never a fragment.
pub(crate) fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    let url = Url::parse(uri).map_err(|_| "not an absolute URI")?;
    if url.fragment().is_some() {
        return Err("must not contain a fragment");
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err("plain http is allowed for loopback hosts only"),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "ftp" | "ws" | "wss"
        | "https" => Err("scheme not allowed for redirects"),
        _ => Ok(()),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Exact match, except that for a loopback IP literal any port is accepted
/// (RFC 8252 §7.3, OAuth 2.1 §8.4.2: native apps get an ephemeral port).
fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(mut a), Ok(mut b)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    let loopback_ip = |u: &Url| {
        u.scheme() == "http"
            && matches!(u.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)))
            && is_loopback(u)
    };
    if !loopback_ip(&a) || !loopback_ip(&b) {
        return false;
    }
    let _ = a.set_port(None);
    let _ = b.set_port(None);
    a.as_str() == b.as_str()
}

#[cfg(test)]
mod tests;
