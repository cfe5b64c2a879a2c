//! Rejections and the responses they become: RFC 6750 §3 `WWW-Authenticate:
//! Bearer` challenges with the RFC 9728 §5.1 `resource_metadata` parameter, and
//! the seed README's JSON error body. One `match` maps every rejection to its
//! status and code.

use crate::config::ConfigError;
use crate::reply::Reply;
use crate::token::TokenError;

/// Why a request is not let through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No credentials (or not Bearer ones): 401 with no error code (RFC 6750 §3.1).
    MissingToken { description: &'static str },
    /// The request is malformed (e.g. several `Authorization` headers): 400.
    InvalidRequest { description: &'static str },
    /// The token was refused: 401 `invalid_token`.
    InvalidToken(TokenError),
    /// A valid token without every required scope: 403 `insufficient_scope`, with
    /// `scope` listing all required scopes so the client can step up (MCP
    /// authorization spec, "Scope Challenge Handling"; RFC 6750 §3.1).
    InsufficientScope { required: String },
}

/// Builds the response for a rejection. `scope` (the required scopes, if any) goes
/// into 401 challenges too, so that clients request it up front (MCP authorization
/// spec, "Protected Resource Metadata Discovery": servers SHOULD include `scope`).
pub fn reply(rejection: &Rejection, resource_metadata: &str, scope: Option<&str>) -> Reply {
    let (status, code, description) = match rejection {
        Rejection::MissingToken { description } => (401, None, *description),
        Rejection::InvalidRequest { description } => (400, Some("invalid_request"), *description),
        Rejection::InvalidToken(err) => (401, Some("invalid_token"), err.description()),
        Rejection::InsufficientScope { .. } => (
            403,
            Some("insufficient_scope"),
            "Token lacks a required scope",
        ),
    };
    let mut challenge = String::from("Bearer ");
    if let Some(code) = code {
        push_param(&mut challenge, "error", code);
        push_param(&mut challenge, "error_description", description);
    }
    match (rejection, scope) {
        (Rejection::InsufficientScope { required }, _) => {
            push_param(&mut challenge, "scope", required)
        }
        (Rejection::MissingToken { .. } | Rejection::InvalidToken(_), Some(scope)) => {
            push_param(&mut challenge, "scope", scope)
        }
        _ => {}
    }
    push_param(&mut challenge, "resource_metadata", resource_metadata);
    Reply::error(status, code.unwrap_or("unauthorized"), description)
        .with_header("www-authenticate", challenge)
}

/// 500 for an unusable configuration, naming the variable (never a default issuer).
pub fn config_error(err: &ConfigError) -> Reply {
    Reply::error(500, "server_error", &format!("Server misconfigured: {err}"))
}

/// 503 when the signing keys cannot be obtained: never a pass.
pub fn keys_unavailable(description: &str) -> Reply {
    Reply::error(503, "temporarily_unavailable", description)
        .with_header("retry-after", "10".to_owned())
}

/// 400 for a request whose Host/authority or path cannot form a URL.
pub fn bad_request(description: &'static str) -> Reply {
    Reply::error(400, "invalid_request", description)
}

/// 403 for a browser origin that may not call the server ([`crate::origin`]).
pub fn forbidden_origin() -> Reply {
    Reply::error(403, "forbidden", "Origin not allowed").with_header("vary", "Origin".to_owned())
}

/// Appends `name="value"` as an RFC 9110 §5.6.4 quoted-string, escaping `"` and
/// `\` and dropping control characters, so no input can break out of the header.
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
mod tests {
    use super::*;

    const META: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

    fn body(reply: &Reply) -> serde_json::Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn missing_token_has_no_error_code() {
        let r = reply(
            &Rejection::MissingToken {
                description: "Missing authorization header",
            },
            META,
            None,
        );
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some(format!("Bearer resource_metadata=\"{META}\"").as_str())
        );
        assert_eq!(
            body(&r),
            serde_json::json!({"error": "unauthorized", "error_description": "Missing authorization header"})
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }

    #[test]
    fn invalid_token_challenge() {
        let r = reply(&Rejection::InvalidToken(TokenError::Malformed), META, None);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate").unwrap(),
            format!(
                "Bearer error=\"invalid_token\", error_description=\"Invalid token format\", resource_metadata=\"{META}\""
            )
        );
        assert_eq!(body(&r)["error"], "invalid_token");
        assert_eq!(body(&r)["error_description"], "Invalid token format");
    }

    #[test]
    fn invalid_request_is_400() {
        let r = reply(
            &Rejection::InvalidRequest {
                description: "Multiple authorization headers",
            },
            META,
            None,
        );
        assert_eq!(r.status, 400);
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_request\""));
    }

    #[test]
    fn required_scopes_appear_in_401_challenges() {
        let missing = Rejection::MissingToken {
            description: "Missing authorization header",
        };
        let r = reply(&missing, META, Some("mcp:read mcp:write"));
        assert_eq!(
            r.header("www-authenticate").unwrap(),
            format!("Bearer scope=\"mcp:read mcp:write\", resource_metadata=\"{META}\"")
        );
        let r = reply(
            &Rejection::InvalidToken(TokenError::Expired),
            META,
            Some("a"),
        );
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .contains("scope=\"a\""));
    }

    #[test]
    fn quoted_strings_cannot_be_broken_out_of() {
        let mut out = String::from("Bearer ");
        push_param(&mut out, "resource_metadata", "http://x/\", evil=\"1\r\n\\");
        assert_eq!(
            out,
            "Bearer resource_metadata=\"http://x/\\\", evil=\\\"1\\\\\""
        );
    }

    #[test]
    fn config_error_names_variable() {
        let r = config_error(&ConfigError::Missing("authkit_issuer"));
        assert_eq!(r.status, 500);
        assert!(body(&r)["error_description"]
            .as_str()
            .unwrap()
            .contains("authkit_issuer"));
    }
}
