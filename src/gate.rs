//! The decision: answer the request here, or let it through to the gateway.
//!
//! Like tower-http's authorization layers, this module decides and the edge
//! carries the decision out. It sees plain request parts, the configuration, a
//! [`KeySource`] (the seam where the edge fetches or caches the JWKS) and the time.

use crate::challenge::{self, Rejection};
use crate::config::{Config, ConfigError, MAX_TOKEN_BYTES};
use crate::jwks::KeySet;
use crate::metadata;
use crate::origin::{self, AllowedOrigins};
use crate::reply::Reply;
use crate::token::{self, ParsedToken, Policy, TokenError, VerifiedToken};
use crate::verified::Proof;

/// The parts of an incoming request the decision needs.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    /// Upper-case method name, e.g. `"POST"`.
    pub method: &'a str,
    /// `"http"` or `"https"`, as the host saw the request.
    pub scheme: &'a str,
    /// The `X-Forwarded-Proto` header, if any: behind a TLS-terminating proxy
    /// (Fermyon Cloud, ingress controllers) the component sees `http`.
    pub forwarded_proto: Option<&'a str>,
    /// Host and optional port the request was sent to.
    pub authority: &'a str,
    /// Path and query, as received.
    pub path_with_query: &'a str,
    /// Every `Authorization` header value, raw bytes, in order.
    pub authorization: &'a [Vec<u8>],
    /// Whether `Access-Control-Request-Method` is present (a CORS preflight).
    pub cors_preflight: bool,
    /// Every `Origin` header value, raw bytes, in order (none: not a browser).
    pub origin: &'a [Vec<u8>],
}

/// Signing keys could not be obtained; the request gets a 503.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysUnavailable {
    /// Operator-facing detail for the log (URLs, statuses; never tokens).
    pub detail: String,
}

/// What the middleware needs from the authorization server: its keys (fetched,
/// cached) and its metadata. Not consulted for inline keys (`authkit_jwks`).
pub trait KeySource {
    /// Keys for `config`'s issuer. Called at most once per request, and only when
    /// a bearer token is present.
    fn keys(&mut self, config: &Config) -> Result<KeySet, KeysUnavailable>;

    /// Keys fetched again because a token named an unknown `kid` (rotation);
    /// `None` when no newer set may or could be had (the source paces this).
    fn refreshed_keys(&mut self, _config: &Config) -> Option<KeySet> {
        None
    }

    /// The issuer's authorization server metadata document (RFC 8414 or OIDC
    /// Discovery), already checked to be about the configured issuer.
    fn server_metadata(&mut self, _config: &Config) -> Result<Vec<u8>, KeysUnavailable> {
        Err(KeysUnavailable {
            detail: "no authorization server metadata source".into(),
        })
    }

    /// Whether an earlier request recorded this signature check ([`crate::verified`]).
    fn signature_verified(&mut self, _proof: &Proof) -> bool {
        false
    }

    /// Records a good signature check for later requests.
    fn remember_signature(&mut self, _proof: &Proof, _expires_at: u64) {}
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Hand the original request to the wrapped gateway, untouched.
    Forward,
    /// Answer with this response.
    Respond(Reply),
}

/// Description sent with a 503 (details go to the log only).
pub const KEYS_UNAVAILABLE: &str = "Unable to obtain the authorization server's signing keys";

/// Decides what happens to a request.
pub fn decide(
    req: &RequestParts<'_>,
    config: &Result<Config, ConfigError>,
    keys: &mut dyn KeySource,
    now: u64,
) -> Decision {
    // Before anything else, preflights and metadata included (DNS rebinding); an
    // unusable configuration leaves the default origins.
    let (allowed_origins, resource) = match config {
        Ok(config) => (&config.allowed_origins, config.resource.as_ref()),
        Err(_) => (&AllowedOrigins::Defaults, None),
    };
    if !origin::is_allowed(req.origin, allowed_origins, resource) {
        return Decision::Respond(challenge::forbidden_origin());
    }
    if req.method == "OPTIONS" && req.cors_preflight {
        return Decision::Respond(crate::cors::preflight());
    }
    let scheme = effective_scheme(req.scheme, req.forwarded_proto);
    let Some(origin) = metadata::request_origin(scheme, req.authority) else {
        return Decision::Respond(challenge::bad_request("Invalid Host header"));
    };
    let Some(path) = metadata::normalized_path(&origin, req.path_with_query) else {
        return Decision::Respond(challenge::bad_request("Invalid request target"));
    };
    let config = match config {
        Ok(config) => config,
        Err(err) => return Decision::Respond(challenge::config_error(err)),
    };

    if let Some(resource_path) = metadata::requested_resource_path(&path) {
        let reply = serve_metadata(req.method, config, &origin, resource_path);
        return Decision::Respond(derived_from_request(reply, config));
    }
    if metadata::is_server_metadata_path(&path) {
        return Decision::Respond(serve_server_metadata(req.method, config, keys));
    }

    let resource_metadata = metadata::metadata_url(config, &origin, &path);
    let scope = (!config.required_scopes.is_empty()).then(|| config.required_scopes.join(" "));
    let reject = |r: Rejection| {
        let reply = challenge::reply(&r, &resource_metadata, scope.as_deref());
        Decision::Respond(derived_from_request(reply, config))
    };

    let token = match bearer_token(req.authorization) {
        Ok(token) => token,
        Err(rejection) => return reject(rejection),
    };
    let policy = policy(config);
    // Shape and header first: malformed tokens never cost a key lookup or fetch.
    let parsed = match token::parse(token, &policy) {
        Ok(parsed) => parsed,
        Err(err) => return reject(Rejection::InvalidToken(err)),
    };
    let verified = match &config.inline_keys {
        Some(inline) => verify(&parsed, inline, &policy, now, keys),
        None => {
            let fetched = match keys.keys(config) {
                Ok(keys) => keys,
                Err(_) => return Decision::Respond(challenge::keys_unavailable(KEYS_UNAVAILABLE)),
            };
            match verify(&parsed, &fetched, &policy, now, keys) {
                // The provider may have rotated its keys since they were cached.
                Err(TokenError::UnknownKey) => match keys.refreshed_keys(config) {
                    Some(refreshed) => verify(&parsed, &refreshed, &policy, now, keys),
                    None => Err(TokenError::UnknownKey),
                },
                result => result,
            }
        }
    };
    match verified {
        Ok(token) if token.has_scopes(&config.required_scopes) => Decision::Forward,
        Ok(_) => reject(Rejection::InsufficientScope {
            required: config.required_scopes.join(" "),
        }),
        Err(err) => reject(Rejection::InvalidToken(err)),
    }
}

/// Verifies `parsed` against `key_set`, skipping the signature check when an
/// earlier request recorded it for these exact keys and token; the claims are
/// always checked at `now`.
fn verify(
    parsed: &ParsedToken<'_>,
    key_set: &KeySet,
    policy: &Policy,
    now: u64,
    source: &mut dyn KeySource,
) -> Result<VerifiedToken, TokenError> {
    let proof = Proof::new(key_set.fingerprint(), parsed.compact());
    if source.signature_verified(&proof) {
        return token::verified_claims(parsed, policy, now);
    }
    let verified = token::verify_parsed(parsed, key_set, policy, now)?;
    source.remember_signature(&proof, verified.expires_at);
    Ok(verified)
}

/// The token policy implied by the configuration.
pub fn policy(config: &Config) -> Policy {
    Policy {
        issuer: config.issuer.clone(),
        audiences: config.audiences.clone(),
        leeway_seconds: config.leeway_seconds,
        max_token_bytes: MAX_TOKEN_BYTES,
        algorithms: config.algorithms,
    }
}

/// `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`
/// on the MCP server's origin: clients of the 2025-03-26 revision look there first.
fn serve_server_metadata(method: &str, config: &Config, keys: &mut dyn KeySource) -> Reply {
    if !matches!(method, "GET" | "HEAD") {
        return Reply::error(405, "invalid_request", "Method not allowed")
            .with_header("allow", "GET, HEAD, OPTIONS".to_owned());
    }
    match keys.server_metadata(config) {
        Ok(document) => {
            let mut reply = Reply::json(200, &serde_json::Value::Null);
            reply.body = if method == "HEAD" {
                Vec::new()
            } else {
                document
            };
            reply
        }
        Err(_) => {
            challenge::keys_unavailable("Unable to obtain the authorization server's metadata")
        }
    }
}

fn serve_metadata(method: &str, config: &Config, origin: &str, resource_path: &str) -> Reply {
    match method {
        "GET" | "HEAD" => {
            let resource = metadata::resource_url(config, origin, resource_path);
            let mut reply = Reply::json(200, &metadata::document(config, &resource));
            if method == "HEAD" {
                reply.body.clear();
            }
            reply
        }
        _ => Reply::error(405, "invalid_request", "Method not allowed")
            .with_header("allow", "GET, HEAD, OPTIONS".to_owned()),
    }
}

/// Without `authkit_resource`, the metadata document and the challenge's
/// `resource_metadata` URL are built from the request's `Host` and
/// `X-Forwarded-Proto` (the only forwarded header read): a shared cache must
/// neither store them nor serve one host's answer for another (RFC 9111 §4.1,
/// §5.2.2.5).
fn derived_from_request(reply: Reply, config: &Config) -> Reply {
    if config.resource.is_some() {
        return reply;
    }
    reply
        .with_header("cache-control", "no-store".to_owned())
        .with_header("vary", "Host, X-Forwarded-Proto".to_owned())
}

/// The scheme clients used: `X-Forwarded-Proto` when it names one (its first
/// entry), else the request's own. It only shapes the advertised URLs;
/// `authkit_resource` overrides both.
fn effective_scheme<'a>(scheme: &'a str, forwarded_proto: Option<&str>) -> &'a str {
    let forwarded = forwarded_proto
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    match forwarded {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        Some(p) if p.eq_ignore_ascii_case("http") => "http",
        _ => scheme,
    }
}

/// Extracts the token from `Authorization: Bearer <token>` (RFC 6750 §2.1; the
/// scheme is case-insensitive, RFC 9110 §11.1). Tokens in the query string or
/// the body are never looked at.
fn bearer_token(values: &[Vec<u8>]) -> Result<&str, Rejection> {
    let value = match values {
        [] => {
            return Err(Rejection::MissingToken {
                description: "Missing authorization header",
            })
        }
        [value] => value,
        _ => {
            return Err(Rejection::InvalidRequest {
                description: "Multiple authorization headers",
            })
        }
    };
    let malformed = Rejection::InvalidToken(TokenError::Malformed);
    let value = std::str::from_utf8(value).map_err(|_| malformed.clone())?;
    let value = value.trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::MissingToken {
            description: "Unsupported authorization scheme",
        });
    }
    let token = rest.trim_start_matches([' ', '\t']);
    // RFC 6750 §2.1 b64token syntax.
    let b64token = !token.is_empty()
        && token.trim_end_matches('=').bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if !b64token {
        return Err(malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests;
