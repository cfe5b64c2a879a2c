//! Every response the middleware writes itself, built in one place.
//!
//! The gate decides *what* to answer as data ([`Answer`]); [`reply`] turns it
//! into a [`Reply`] (status, headers, body) that the edge writes out unchanged.
//! Every error the middleware can answer with is a [`Refusal`], and one `match`
//! (behind [`reply`]) gives each its status, OAuth error code, description and
//! the header that goes with it: a `WWW-Authenticate: Bearer` challenge (RFC 6750
//! §3) with the RFC 9728 §5.1 `resource_metadata` parameter for bearer-token
//! rejections, `Allow`, `Retry-After` or `Vary` for the others.
//!
//! Error bodies are `{"error": code, "error_description": description}` (the
//! members of RFC 6749 §5.2), and descriptions are fixed texts (a configuration
//! error names the variable at fault): no input and no internal detail (URLs,
//! upstream statuses) is ever echoed back.
//!
//! CORS: tokens travel in the `Authorization` header, never in cookies, so a
//! wildcard `Access-Control-Allow-Origin` is safe (the browser sends no ambient
//! credentials), and every response written here is readable by browser-based
//! MCP clients (the MCP Inspector, web apps), challenges included.

use std::borrow::Cow;

use serde_json::json;

use crate::config::ConfigError;
use crate::token::TokenError;

/// Request headers an MCP client sends (Streamable HTTP, including the 2026
/// `Mcp-Method`/`Mcp-Name` headers): allowed in a CORS preflight.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Accept, Mcp-Session-Id, \
MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name";
/// Methods of the Streamable HTTP transport: allowed in a CORS preflight.
pub const ALLOW_METHODS: &str = "GET, POST, DELETE, OPTIONS";
/// Response headers a browser client must be able to read (the challenge, and
/// the session the gateway assigns).
pub const EXPOSE_HEADERS: &str = "WWW-Authenticate, Mcp-Session-Id";
/// Methods of the well-known metadata endpoints (`Allow` of their 405).
const METADATA_METHODS: &str = "GET, HEAD, OPTIONS";
/// Seconds a client is asked to wait after a 503 (RFC 9110 §10.2.3): after a
/// failed fetch the key source tries none for as long, so an earlier retry would
/// meet the same 503.
const RETRY_AFTER_SECONDS: &str = "10";

/// A response the middleware writes itself, as plain data for the edge to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lower-case) and values, in the order they are written.
    pub headers: Vec<(&'static str, String)>,
    /// The body bytes (empty for 204 and `HEAD`).
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of the first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the middleware answers instead of forwarding the request: chosen by
/// the gate, turned into bytes by [`reply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 204 to a CORS preflight: the methods and headers an MCP client uses.
    Preflight,
    /// 200 with the protected-resource metadata document (RFC 9728 §3.2); the
    /// body is empty for `HEAD`.
    ResourceMetadata {
        /// The RFC 9728 §2 document ([`crate::metadata::document`]).
        document: serde_json::Value,
        /// Whether the request was a `HEAD`.
        head: bool,
    },
    /// 200 with the issuer's authorization server metadata, verbatim (RFC 8414
    /// §3.2); the body is empty for `HEAD`.
    ServerMetadata {
        /// The document as the issuer served it.
        document: Vec<u8>,
        /// Whether the request was a `HEAD`.
        head: bool,
    },
    /// An error response.
    Refusal(Refusal),
    /// This answer, built from the request's `Host` and `X-Forwarded-Proto`
    /// (no `authkit_resource` is configured): a shared cache must neither store
    /// it nor serve one host's answer for another (RFC 9111 §4.1, §5.2.2.5), so
    /// it gets `Cache-Control: no-store` and `Vary: Host, X-Forwarded-Proto`.
    BuiltFromRequest(Box<Answer>),
}

impl From<Refusal> for Answer {
    fn from(refusal: Refusal) -> Self {
        Self::Refusal(refusal)
    }
}

/// Why the middleware answers a request with an error. [`reply`] maps each
/// variant to its status, error code, description and header in one `match`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A web page on an origin that may not call the server ([`crate::origin`];
    /// MCP Streamable HTTP: servers MUST validate `Origin`): 403 `forbidden`,
    /// with `Vary: Origin` since another origin may get another answer.
    OriginNotAllowed,
    /// The request's `Host` (authority) does not form an origin: 400
    /// `invalid_request`.
    InvalidHost,
    /// The request target does not form a path: 400 `invalid_request`.
    InvalidTarget,
    /// The configuration is unusable: 500 `server_error`, naming the variable
    /// (and never falling back to a default issuer).
    Misconfigured(ConfigError),
    /// A well-known metadata path was asked with a method other than `GET` or
    /// `HEAD`: 405 with the `Allow` header RFC 9110 §15.5.6 requires.
    MethodNotAllowed,
    /// The issuer's signing keys cannot be obtained: 503 with `Retry-After`,
    /// never a pass. The cause goes to the log only.
    KeysUnavailable,
    /// The issuer's authorization server metadata cannot be obtained: 503 with
    /// `Retry-After`.
    ServerMetadataUnavailable,
    /// The bearer token is missing or refused: answered with a
    /// `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
    Bearer(Rejection, Challenge),
}

/// Why a request's credentials are refused (RFC 6750 §3.1 error codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No `Authorization` header: 401 with no error code (RFC 6750 §3.1: a
    /// request without authentication information gets none).
    MissingToken,
    /// Credentials of another scheme than Bearer (e.g. Basic): treated as no
    /// bearer token, 401 with no error code.
    UnsupportedScheme,
    /// More than one `Authorization` header: 400 `invalid_request`.
    SeveralAuthorizationHeaders,
    /// The token was refused: 401 `invalid_token`, described by
    /// [`TokenError::description`].
    InvalidToken(TokenError),
    /// A valid token without every required scope: 403 `insufficient_scope`
    /// (RFC 6750 §3.1; MCP authorization spec, "Scope Challenge Handling").
    InsufficientScope,
}

/// What a challenge tells the client besides the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Where the protected resource's metadata is (RFC 9728 §5.1
    /// `resource_metadata`): how an MCP client finds the authorization server.
    pub resource_metadata: String,
    /// The required scopes, space-separated, if any (RFC 6750 §3 `scope`).
    /// Sent with 401s too, so that clients request them up front (MCP
    /// authorization spec, "Protected Resource Metadata Discovery": servers
    /// SHOULD include `scope`), and with `insufficient_scope` so that the client
    /// can step up; not with `invalid_request`.
    pub scope: Option<String>,
}

/// Turns an answer into the response the edge writes.
///
/// A body is always sized (`content-length`, RFC 9110 §8.6): a host can then send
/// the head and the whole body at once. Without it Spin frames the body with the
/// chunked coding (RFC 9112 §7.1) in several small writes, and its sockets keep
/// Nagle's algorithm on, so the last chunk waited for the client's delayed ACK:
/// measured, 44 ms per refused request on Spin 4.1 (0.3 ms on a host with
/// `TCP_NODELAY`).
pub fn reply(answer: Answer) -> Reply {
    let mut reply = unsized_reply(answer);
    if !reply.body.is_empty() {
        reply
            .headers
            .push(("content-length", reply.body.len().to_string()));
    }
    reply
}

fn unsized_reply(answer: Answer) -> Reply {
    match answer {
        Answer::Preflight => Reply {
            status: 204,
            headers: vec![
                ("access-control-allow-origin", "*".to_owned()),
                ("access-control-allow-methods", ALLOW_METHODS.to_owned()),
                ("access-control-allow-headers", ALLOW_HEADERS.to_owned()),
                ("access-control-expose-headers", EXPOSE_HEADERS.to_owned()),
                ("access-control-max-age", "86400".to_owned()),
            ],
            body: Vec::new(),
        },
        Answer::ResourceMetadata { document, head } => json(
            200,
            if head {
                Vec::new()
            } else {
                document.to_string().into_bytes()
            },
        ),
        Answer::ServerMetadata { document, head } => {
            json(200, if head { Vec::new() } else { document })
        }
        Answer::Refusal(refusal) => refuse(refusal),
        Answer::BuiltFromRequest(answer) => {
            let mut reply = unsized_reply(*answer);
            reply.headers.extend([
                ("cache-control", "no-store".to_owned()),
                ("vary", "Host, X-Forwarded-Proto".to_owned()),
            ]);
            reply
        }
    }
}

/// The header that goes with an error besides the JSON and CORS ones.
enum ErrorHeader<'a> {
    Vary(&'static str),
    Allow,
    RetryAfter,
    /// `WWW-Authenticate: Bearer` with these parameters, then `resource_metadata`.
    WwwAuthenticate(&'a Challenge, Params),
}

/// The parameters of a challenge before `resource_metadata`.
#[derive(Clone, Copy)]
enum Params {
    /// `scope` (if the challenge has one) and no error code: RFC 6750 §3.1, a
    /// request without authentication information gets none.
    Scope,
    /// `error` and `error_description`.
    Error,
    /// `error`, `error_description`, then `scope` (if the challenge has one).
    ErrorAndScope,
}

/// The one place where an error becomes a status, an error code, a
/// description and its header.
fn refuse(refusal: Refusal) -> Reply {
    use ErrorHeader::{Allow, RetryAfter, Vary, WwwAuthenticate};
    use Params::{Error, ErrorAndScope, Scope};
    type Row<'a> = (
        u16,
        &'static str,
        Cow<'static, str>,
        Option<ErrorHeader<'a>>,
    );
    let (status, code, description, header): Row<'_> = match &refusal {
        Refusal::OriginNotAllowed => (
            403,
            "forbidden",
            "Origin not allowed".into(),
            Some(Vary("Origin")),
        ),
        Refusal::InvalidHost => (400, "invalid_request", "Invalid Host header".into(), None),
        Refusal::InvalidTarget => (
            400,
            "invalid_request",
            "Invalid request target".into(),
            None,
        ),
        Refusal::Misconfigured(err) => (
            500,
            "server_error",
            format!("Server misconfigured: {err}").into(),
            None,
        ),
        Refusal::MethodNotAllowed => (
            405,
            "invalid_request",
            "Method not allowed".into(),
            Some(Allow),
        ),
        Refusal::KeysUnavailable => (
            503,
            "temporarily_unavailable",
            "Unable to obtain the authorization server's signing keys".into(),
            Some(RetryAfter),
        ),
        Refusal::ServerMetadataUnavailable => (
            503,
            "temporarily_unavailable",
            "Unable to obtain the authorization server's metadata".into(),
            Some(RetryAfter),
        ),
        Refusal::Bearer(Rejection::MissingToken, c) => (
            401,
            "unauthorized",
            "Missing authorization header".into(),
            Some(WwwAuthenticate(c, Scope)),
        ),
        Refusal::Bearer(Rejection::UnsupportedScheme, c) => (
            401,
            "unauthorized",
            "Unsupported authorization scheme".into(),
            Some(WwwAuthenticate(c, Scope)),
        ),
        Refusal::Bearer(Rejection::SeveralAuthorizationHeaders, c) => (
            400,
            "invalid_request",
            "Multiple authorization headers".into(),
            Some(WwwAuthenticate(c, Error)),
        ),
        Refusal::Bearer(Rejection::InvalidToken(err), c) => (
            401,
            "invalid_token",
            err.description().into(),
            Some(WwwAuthenticate(c, ErrorAndScope)),
        ),
        Refusal::Bearer(Rejection::InsufficientScope, c) => (
            403,
            "insufficient_scope",
            "Token lacks a required scope".into(),
            Some(WwwAuthenticate(c, ErrorAndScope)),
        ),
    };
    let body = json!({ "error": code, "error_description": description });
    let mut reply = json(status, body.to_string().into_bytes());
    match header {
        None => {}
        Some(Vary(value)) => reply.headers.push(("vary", value.to_owned())),
        Some(Allow) => reply.headers.push(("allow", METADATA_METHODS.to_owned())),
        Some(RetryAfter) => reply
            .headers
            .push(("retry-after", RETRY_AFTER_SECONDS.to_owned())),
        Some(WwwAuthenticate(challenge, params)) => {
            let mut value = String::from("Bearer ");
            if matches!(params, Error | ErrorAndScope) {
                push_param(&mut value, "error", code);
                push_param(&mut value, "error_description", &description);
            }
            if let Some(scope) = &challenge.scope {
                if matches!(params, Scope | ErrorAndScope) {
                    push_param(&mut value, "scope", scope);
                }
            }
            push_param(
                &mut value,
                "resource_metadata",
                &challenge.resource_metadata,
            );
            reply.headers.push(("www-authenticate", value));
        }
    }
    reply
}

/// A JSON response, readable cross-origin.
fn json(status: u16, body: Vec<u8>) -> Reply {
    Reply {
        status,
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("access-control-allow-origin", "*".to_owned()),
            ("access-control-expose-headers", EXPOSE_HEADERS.to_owned()),
        ],
        body,
    }
}

/// Appends `name="value"` as an RFC 9110 §5.6.4 quoted-string, escaping `"` and
/// `\` and dropping control and non-ASCII characters, so no input can break out
/// of the header.
fn push_param(out: &mut String, name: &str, value: &str) {
    if !out.ends_with(' ') {
        out.push_str(", ");
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || !c.is_ascii() => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
