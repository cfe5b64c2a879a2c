//! The decision: answer the request here, or let it through to the gateway.
//!
//! Like tower-http's authorization layers, this module decides and the edge
//! carries the decision out. It sees plain request parts, the configuration, a
//! [`KeySource`] (the issuer's keys and metadata, fetched and cached behind it)
//! and the time. What it answers itself it picks as an [`Answer`], which
//! [`crate::response`] turns into the bytes the edge writes.
//!
//! The order of the checks is part of the contract: the `Origin` check comes
//! first (DNS rebinding: a foreign page learns nothing, not even metadata), then
//! CORS preflights, the request's own URL, the configuration, the well-known
//! metadata paths, and only then the bearer token, whose shape and header are
//! checked before any key is fetched.

use crate::config::{Config, ConfigError, MAX_TOKEN_BYTES};
use crate::jwks::KeySet;
use crate::metadata;
use crate::origin::{self, AllowedOrigins};
use crate::response::{self, Answer, Challenge, Refusal, Rejection, Reply};
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

/// Decides what happens to a request.
pub fn decide(
    req: &RequestParts<'_>,
    config: &Result<Config, ConfigError>,
    keys: &mut dyn KeySource,
    now: u64,
) -> Decision {
    match answer(req, config, keys, now) {
        Some(answer) => Decision::Respond(response::reply(answer)),
        None => Decision::Forward,
    }
}

/// What the middleware answers itself, or `None` to forward the request.
fn answer(
    req: &RequestParts<'_>,
    config: &Result<Config, ConfigError>,
    keys: &mut dyn KeySource,
    now: u64,
) -> Option<Answer> {
    // Before anything else, preflights and metadata included (DNS rebinding); an
    // unusable configuration leaves the default origins.
    let (allowed_origins, resource) = match config {
        Ok(config) => (&config.allowed_origins, config.resource.as_ref()),
        Err(_) => (&AllowedOrigins::Defaults, None),
    };
    if !origin::is_allowed(req.origin, allowed_origins, resource) {
        return Some(Refusal::OriginNotAllowed.into());
    }
    if req.method == "OPTIONS" && req.cors_preflight {
        return Some(Answer::Preflight);
    }
    let scheme = effective_scheme(req.scheme, req.forwarded_proto);
    let Some(origin) = metadata::request_origin(scheme, req.authority) else {
        return Some(Refusal::InvalidHost.into());
    };
    let Some(path) = metadata::normalized_path(&origin, req.path_with_query) else {
        return Some(Refusal::InvalidTarget.into());
    };
    let config = match config {
        Ok(config) => config,
        Err(err) => return Some(Refusal::Misconfigured(err.clone()).into()),
    };

    if let Some(resource_path) = metadata::requested_resource_path(&path) {
        let answer = resource_metadata(req.method, config, &origin, resource_path);
        return Some(built_from_request(answer, config));
    }
    if metadata::is_server_metadata_path(&path) {
        return Some(server_metadata(req.method, config, keys));
    }

    // The challenge is built only for a refusal: an accepted request pays nothing.
    let reject = |rejection| {
        let challenge = Challenge {
            resource_metadata: metadata::metadata_url(config, &origin, &path),
            scope: (!config.required_scopes.is_empty()).then(|| config.required_scopes.join(" ")),
        };
        let answer = Refusal::Bearer(rejection, challenge).into();
        Some(built_from_request(answer, config))
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
            let Ok(fetched) = keys.keys(config) else {
                return Some(Refusal::KeysUnavailable.into());
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
        Ok(token) if token.has_scopes(&config.required_scopes) => None,
        Ok(_) => reject(Rejection::InsufficientScope),
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
/// on the MCP server's origin: clients of the 2025-03-26 revision of the MCP
/// authorization spec look there first, so the issuer's document is served there.
fn server_metadata(method: &str, config: &Config, keys: &mut dyn KeySource) -> Answer {
    if !matches!(method, "GET" | "HEAD") {
        return Refusal::MethodNotAllowed.into();
    }
    match keys.server_metadata(config) {
        Ok(document) => Answer::ServerMetadata {
            document,
            head: method == "HEAD",
        },
        Err(_) => Refusal::ServerMetadataUnavailable.into(),
    }
}

/// The protected-resource metadata document (RFC 9728 §3) for the resource at
/// `origin` + `resource_path`.
fn resource_metadata(method: &str, config: &Config, origin: &str, resource_path: &str) -> Answer {
    if !matches!(method, "GET" | "HEAD") {
        return Refusal::MethodNotAllowed.into();
    }
    let resource = metadata::resource_url(config, origin, resource_path);
    Answer::ResourceMetadata {
        document: metadata::document(config, &resource),
        head: method == "HEAD",
    }
}

/// Without `authkit_resource`, the metadata document and the challenge's
/// `resource_metadata` URL are built from the request's `Host` and
/// `X-Forwarded-Proto` (the only forwarded header read), and answered as such
/// ([`Answer::BuiltFromRequest`]).
fn built_from_request(answer: Answer, config: &Config) -> Answer {
    if config.resource.is_some() {
        answer
    } else {
        Answer::BuiltFromRequest(Box::new(answer))
    }
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
        [] => return Err(Rejection::MissingToken),
        [value] => value,
        _ => return Err(Rejection::SeveralAuthorizationHeaders),
    };
    let malformed = Rejection::InvalidToken(TokenError::Malformed);
    let value = std::str::from_utf8(value).map_err(|_| malformed)?;
    let value = value.trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::UnsupportedScheme);
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
