use serde_json::json;

use super::*;
use crate::config::var;

const META: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

/// The headers of every JSON response, in order.
fn json_headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_owned()),
        ("access-control-allow-origin", "*".to_owned()),
        ("access-control-expose-headers", EXPOSE_HEADERS.to_owned()),
    ]
}

fn error_body(code: &str, description: &str) -> Vec<u8> {
    format!("{{\"error\":\"{code}\",\"error_description\":\"{description}\"}}").into_bytes()
}

fn challenge(scope: Option<&str>) -> Challenge {
    Challenge {
        resource_metadata: META.to_owned(),
        scope: scope.map(str::to_owned),
    }
}

/// The reply to `refusal`: its status, its headers after the JSON ones, and
/// the body `{"error": code, "error_description": description}`.
fn assert_refusal(
    refusal: Refusal,
    status: u16,
    extra: &[(&'static str, &str)],
    code: &str,
    description: &str,
) {
    let case = format!("{refusal:?}");
    let mut headers = json_headers();
    headers.extend(extra.iter().map(|(n, v)| (*n, (*v).to_owned())));
    assert_eq!(
        unsized_reply(refusal.into()),
        Reply {
            status,
            headers,
            body: error_body(code, description),
        },
        "{case}"
    );
}

#[test]
fn every_refusal_without_a_challenge() {
    let retry = [("retry-after", "10")];
    for (refusal, status, extra, code, description) in [
        (
            Refusal::OriginNotAllowed,
            403,
            &[("vary", "Origin")][..],
            "forbidden",
            "Origin not allowed",
        ),
        (
            Refusal::InvalidHost,
            400,
            &[],
            "invalid_request",
            "Invalid Host header",
        ),
        (
            Refusal::InvalidTarget,
            400,
            &[],
            "invalid_request",
            "Invalid request target",
        ),
        (
            Refusal::MethodNotAllowed,
            405,
            &[("allow", "GET, HEAD, OPTIONS")],
            "invalid_request",
            "Method not allowed",
        ),
        (
            Refusal::KeysUnavailable,
            503,
            &retry,
            "temporarily_unavailable",
            "Unable to obtain the authorization server's signing keys",
        ),
        (
            Refusal::ServerMetadataUnavailable,
            503,
            &retry,
            "temporarily_unavailable",
            "Unable to obtain the authorization server's metadata",
        ),
    ] {
        assert_refusal(refusal, status, extra, code, description);
    }
}

#[test]
fn configuration_errors_name_the_variable() {
    for (err, description) in [
        (
            ConfigError::Missing(var::ISSUER),
            "Server misconfigured: missing required variable authkit_issuer",
        ),
        (
            ConfigError::InvalidUrl(var::JWKS_URI),
            "Server misconfigured: variable authkit_jwks_uri is not an absolute http(s) URL",
        ),
        (
            ConfigError::InsecureUrl(var::ISSUER),
            "Server misconfigured: variable authkit_issuer must use https \
             (plain http is accepted for loopback hosts only)",
        ),
        (
            ConfigError::InvalidValue(var::LEEWAY_SECONDS),
            "Server misconfigured: variable authkit_leeway_seconds has an invalid value",
        ),
        (
            ConfigError::Unreadable(var::AUDIENCE),
            "Server misconfigured: variable authkit_audience could not be read",
        ),
    ] {
        assert_refusal(
            Refusal::Misconfigured(err),
            500,
            &[],
            "server_error",
            description,
        );
    }
}

#[test]
fn a_missing_token_gets_a_challenge_without_an_error_code() {
    for (rejection, description) in [
        (Rejection::MissingToken, "Missing authorization header"),
        (
            Rejection::UnsupportedScheme,
            "Unsupported authorization scheme",
        ),
    ] {
        assert_refusal(
            Refusal::Bearer(rejection, challenge(None)),
            401,
            &[(
                "www-authenticate",
                &format!("Bearer resource_metadata=\"{META}\""),
            )],
            "unauthorized",
            description,
        );
        assert_refusal(
            Refusal::Bearer(rejection, challenge(Some("mcp:read mcp:write"))),
            401,
            &[(
                "www-authenticate",
                &format!("Bearer scope=\"mcp:read mcp:write\", resource_metadata=\"{META}\""),
            )],
            "unauthorized",
            description,
        );
    }
}

#[test]
fn several_authorization_headers_are_invalid_request_without_scope() {
    for scope in [None, Some("mcp:read")] {
        assert_refusal(
            Refusal::Bearer(Rejection::SeveralAuthorizationHeaders, challenge(scope)),
            400,
            &[(
                "www-authenticate",
                &format!(
                    "Bearer error=\"invalid_request\", error_description=\"Multiple \
                     authorization headers\", resource_metadata=\"{META}\""
                ),
            )],
            "invalid_request",
            "Multiple authorization headers",
        );
    }
}

#[test]
fn every_token_error_is_invalid_token_with_its_description() {
    for (err, description) in [
        (TokenError::TooLarge, "Token too large"),
        (TokenError::Malformed, "Invalid token format"),
        (
            TokenError::UnsupportedAlgorithm,
            "Unsupported token algorithm",
        ),
        (
            TokenError::UnsupportedCritical,
            "Unsupported critical token header",
        ),
        (TokenError::UnsupportedType, "Unsupported token type"),
        (TokenError::UnknownKey, "Unknown signing key"),
        (
            TokenError::AlgorithmMismatch,
            "Token algorithm does not match the signing key",
        ),
        (TokenError::UnusableKey, "Signing key is not usable"),
        (TokenError::BadSignature, "Invalid token signature"),
        (TokenError::InvalidClaims, "Invalid token claims"),
        (TokenError::MissingExpiry, "Token has no expiration"),
        (TokenError::Expired, "Token has expired"),
        (TokenError::NotYetValid, "Token is not yet valid"),
        (TokenError::WrongIssuer, "Invalid token issuer"),
        (TokenError::WrongAudience, "Invalid token audience"),
    ] {
        let params = format!("error=\"invalid_token\", error_description=\"{description}\"");
        for (scope, challenge_value) in [
            (
                None,
                format!("Bearer {params}, resource_metadata=\"{META}\""),
            ),
            (
                Some("mcp:read"),
                format!("Bearer {params}, scope=\"mcp:read\", resource_metadata=\"{META}\""),
            ),
        ] {
            assert_refusal(
                Refusal::Bearer(Rejection::InvalidToken(err), challenge(scope)),
                401,
                &[("www-authenticate", &challenge_value)],
                "invalid_token",
                description,
            );
        }
    }
}

#[test]
fn insufficient_scope_is_a_403_naming_the_required_scopes() {
    assert_refusal(
        Refusal::Bearer(
            Rejection::InsufficientScope,
            challenge(Some("mcp:read mcp:write")),
        ),
        403,
        &[(
            "www-authenticate",
            &format!(
                "Bearer error=\"insufficient_scope\", error_description=\"Token lacks a \
                 required scope\", scope=\"mcp:read mcp:write\", resource_metadata=\"{META}\""
            ),
        )],
        "insufficient_scope",
        "Token lacks a required scope",
    );
}

#[test]
fn the_preflight_allows_what_mcp_clients_send() {
    assert_eq!(
        unsized_reply(Answer::Preflight),
        Reply {
            status: 204,
            headers: vec![
                ("access-control-allow-origin", "*".to_owned()),
                (
                    "access-control-allow-methods",
                    "GET, POST, DELETE, OPTIONS".to_owned()
                ),
                (
                    "access-control-allow-headers",
                    "Authorization, Content-Type, Accept, Mcp-Session-Id, \
                     MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name"
                        .to_owned()
                ),
                (
                    "access-control-expose-headers",
                    "WWW-Authenticate, Mcp-Session-Id".to_owned()
                ),
                ("access-control-max-age", "86400".to_owned()),
            ],
            body: Vec::new(),
        }
    );
}

#[test]
fn metadata_documents_are_json_and_empty_for_head() {
    let document =
        json!({"resource": "https://mcp.example.com/mcp", "bearer_methods_supported": ["header"]});
    let get = Answer::ResourceMetadata {
        document: document.clone(),
        head: false,
    };
    assert_eq!(
        unsized_reply(get),
        Reply {
            status: 200,
            headers: json_headers(),
            body: document.to_string().into_bytes(),
        }
    );
    let head = Answer::ResourceMetadata {
        document,
        head: true,
    };
    assert_eq!(
        unsized_reply(head),
        Reply {
            status: 200,
            headers: json_headers(),
            body: Vec::new(),
        }
    );
    // The issuer's document is passed on byte for byte.
    let issuer = b"{ \"issuer\": \"https://issuer.test\" }".to_vec();
    for (head, body) in [(false, issuer.clone()), (true, Vec::new())] {
        let answer = Answer::ServerMetadata {
            document: issuer.clone(),
            head,
        };
        assert_eq!(
            unsized_reply(answer),
            Reply {
                status: 200,
                headers: json_headers(),
                body,
            }
        );
    }
}

#[test]
fn answers_built_from_the_request_are_not_for_shared_caches() {
    let refusal = Refusal::Bearer(Rejection::MissingToken, challenge(None));
    let plain = unsized_reply(refusal.clone().into());
    let built = unsized_reply(Answer::BuiltFromRequest(Box::new(refusal.into())));
    let mut headers = plain.headers.clone();
    headers.push(("cache-control", "no-store".to_owned()));
    headers.push(("vary", "Host, X-Forwarded-Proto".to_owned()));
    assert_eq!(built, Reply { headers, ..plain });
}

#[test]
fn quoted_strings_cannot_be_broken_out_of() {
    let mut out = String::from("Bearer ");
    push_param(
        &mut out,
        "resource_metadata",
        "http://x/\", evil=\"1\r\n\\é",
    );
    assert_eq!(
        out,
        "Bearer resource_metadata=\"http://x/\\\", evil=\\\"1\\\\\""
    );
}

#[test]
fn header_finds_the_first_value_by_lower_case_name() {
    let r = unsized_reply(Refusal::OriginNotAllowed.into());
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("Vary"), None);
    assert_eq!(r.header("www-authenticate"), None);
}

#[test]
fn every_body_is_sized() {
    let answers = [
        Answer::Preflight,
        Refusal::OriginNotAllowed.into(),
        Refusal::Bearer(Rejection::MissingToken, challenge(Some("mcp:tools"))).into(),
        Answer::ServerMetadata {
            document: b"{}".to_vec(),
            head: false,
        },
        Answer::ServerMetadata {
            document: b"{}".to_vec(),
            head: true,
        },
    ];
    for answer in answers {
        let plain = unsized_reply(answer.clone());
        let sized = reply(answer);
        let mut headers = plain.headers.clone();
        if !plain.body.is_empty() {
            headers.push(("content-length", plain.body.len().to_string()));
        }
        assert_eq!(sized, Reply { headers, ..plain });
    }
}
