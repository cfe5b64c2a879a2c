//! Finding the JWKS from the issuer when `authkit_jwks_uri` is unset: RFC 8414
//! authorization-server metadata, then OpenID Connect Discovery.

use serde::Deserialize;
use url::Url;

use crate::config::parse_endpoint;

/// Metadata URLs to try, in order (MCP authorization spec, "Authorization Server
/// Metadata Discovery"): RFC 8414 §3.1 inserts the well-known segment before the
/// issuer's path; OIDC Discovery §4 appends it; for a path-less issuer both
/// forms coincide.
pub fn metadata_urls(issuer: &str) -> Vec<String> {
    let Ok(url) = Url::parse(issuer) else {
        return Vec::new();
    };
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let mut urls = vec![format!(
        "{origin}/.well-known/oauth-authorization-server{path}"
    )];
    if path.is_empty() {
        urls.push(format!("{origin}/.well-known/openid-configuration"));
    } else {
        urls.push(format!("{origin}/.well-known/openid-configuration{path}"));
        urls.push(format!("{origin}{path}/.well-known/openid-configuration"));
    }
    urls
}

/// Why a metadata document gave no JWKS location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryError {
    /// Not a JSON object of the expected shape.
    NotMetadata,
    /// Its `issuer` differs from the configured one (RFC 8414 §3.3 MUST).
    IssuerMismatch,
    /// No `jwks_uri`, or not an acceptable URL.
    NoJwksUri,
}

#[derive(Deserialize)]
struct ServerMetadata {
    issuer: String,
    #[serde(default)]
    jwks_uri: Option<String>,
}

/// The `jwks_uri` of an authorization server metadata document, after checking
/// that the document is about `expected_issuer`.
pub fn jwks_uri(document: &[u8], expected_issuer: &str) -> Result<Url, DiscoveryError> {
    let meta: ServerMetadata =
        serde_json::from_slice(document).map_err(|_| DiscoveryError::NotMetadata)?;
    if meta.issuer != expected_issuer {
        return Err(DiscoveryError::IssuerMismatch);
    }
    let uri = meta.jwks_uri.ok_or(DiscoveryError::NoJwksUri)?;
    parse_endpoint("jwks_uri", &uri).map_err(|_| DiscoveryError::NoJwksUri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_issuer_without_path() {
        assert_eq!(
            metadata_urls("https://acme.authkit.app"),
            [
                "https://acme.authkit.app/.well-known/oauth-authorization-server",
                "https://acme.authkit.app/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            metadata_urls("https://acme.authkit.app/"),
            metadata_urls("https://acme.authkit.app")
        );
    }

    #[test]
    fn urls_for_issuer_with_path() {
        assert_eq!(
            metadata_urls("https://idp.example.com/tenant1/"),
            [
                "https://idp.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://idp.example.com/.well-known/openid-configuration/tenant1",
                "https://idp.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn jwks_uri_requires_matching_issuer() {
        let doc = br#"{"issuer":"https://acme.authkit.app","jwks_uri":"https://acme.authkit.app/oauth2/jwks"}"#;
        assert_eq!(
            jwks_uri(doc, "https://acme.authkit.app").unwrap().as_str(),
            "https://acme.authkit.app/oauth2/jwks"
        );
        assert_eq!(
            jwks_uri(doc, "https://acme.authkit.app/"),
            Err(DiscoveryError::IssuerMismatch)
        );
        assert_eq!(
            jwks_uri(
                br#"{"issuer":"https://acme.authkit.app"}"#,
                "https://acme.authkit.app"
            ),
            Err(DiscoveryError::NoJwksUri)
        );
        assert_eq!(
            jwks_uri(
                br#"{"issuer":"https://a.example","jwks_uri":"http://evil.example/jwks"}"#,
                "https://a.example"
            ),
            Err(DiscoveryError::NoJwksUri)
        );
        assert_eq!(jwks_uri(b"<html>", "x"), Err(DiscoveryError::NotMetadata));
    }
}
