//! Finding the JWKS from the issuer when `authkit_jwks_uri` is unset: RFC 8414
//! authorization-server metadata, then OpenID Connect Discovery.

use serde::Deserialize;
use url::Url;

use crate::cache::{Fetched, Fetcher};
use crate::config::parse_endpoint;

/// Metadata URLs to try, in order (MCP authorization spec, "Authorization Server
/// Metadata Discovery"): RFC 8414 §3.1 inserts the well-known segment before the
/// issuer's path; OIDC Discovery §4 appends it; for a path-less issuer both
/// forms coincide.
pub fn metadata_urls(issuer: &str) -> Vec<String> {
    // The configured issuer passed this already; parsing it the same way keeps
    // arbitrary input away from the URL parser's IDNA path.
    let Ok(url) = parse_endpoint(crate::config::var::ISSUER, issuer) else {
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

/// A [`Fetcher`] that finds the issuer's metadata: it tries each of
/// [`metadata_urls`] in order and returns the first document that names the
/// issuer and a usable `jwks_uri`. Cached under one key (the first URL), so a
/// provider that only serves the OIDC form costs no 404 per request.
pub struct MetadataDiscovery<'a> {
    pub fetcher: &'a mut dyn Fetcher,
    pub issuer: &'a str,
}

impl MetadataDiscovery<'_> {
    /// The cache key of the discovered document.
    pub fn cache_url(issuer: &str) -> Option<Url> {
        metadata_urls(issuer)
            .first()
            .and_then(|u| Url::parse(u).ok())
    }
}

impl Fetcher for MetadataDiscovery<'_> {
    fn fetch(&mut self, _: &Url) -> Result<Fetched, String> {
        let mut failures = Vec::new();
        for candidate in metadata_urls(self.issuer) {
            let Ok(url) = Url::parse(&candidate) else {
                continue;
            };
            match self.fetcher.fetch(&url) {
                Ok(fetched) => match jwks_uri(&fetched.body, self.issuer) {
                    Ok(_) => return Ok(fetched),
                    Err(e) => failures.push(format!("{candidate}: {e:?}")),
                },
                Err(e) => failures.push(format!("{candidate}: {e}")),
            }
        }
        Err(format!("discovery failed ({})", failures.join("; ")))
    }
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

    /// Serves documents by URL and records the order of requests.
    struct Sites(Vec<(&'static str, &'static str)>, Vec<String>);

    impl Fetcher for Sites {
        fn fetch(&mut self, url: &Url) -> Result<Fetched, String> {
            self.1.push(url.to_string());
            self.0
                .iter()
                .find(|(u, _)| *u == url.as_str())
                .map(|(_, body)| Fetched {
                    body: body.as_bytes().to_vec(),
                    max_age: Some(300),
                })
                .ok_or_else(|| "HTTP status 404".to_owned())
        }
    }

    #[test]
    fn discovery_tries_rfc8414_then_oidc() {
        let oidc = r#"{"issuer":"https://a.example","jwks_uri":"https://a.example/keys"}"#;
        let mut sites = Sites(
            vec![("https://a.example/.well-known/openid-configuration", oidc)],
            vec![],
        );
        let mut discovery = MetadataDiscovery {
            fetcher: &mut sites,
            issuer: "https://a.example",
        };
        let url = MetadataDiscovery::cache_url("https://a.example").unwrap();
        let fetched = discovery.fetch(&url).unwrap();
        assert_eq!(fetched.body, oidc.as_bytes());
        assert_eq!(fetched.max_age, Some(300));
        assert_eq!(
            sites.1,
            [
                "https://a.example/.well-known/oauth-authorization-server",
                "https://a.example/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn discovery_skips_documents_about_other_issuers() {
        let liar = r#"{"issuer":"https://evil.example","jwks_uri":"https://evil.example/keys"}"#;
        let mut sites = Sites(
            vec![
                (
                    "https://a.example/.well-known/oauth-authorization-server",
                    liar,
                ),
                ("https://a.example/.well-known/openid-configuration", liar),
            ],
            vec![],
        );
        let mut discovery = MetadataDiscovery {
            fetcher: &mut sites,
            issuer: "https://a.example",
        };
        let err = discovery
            .fetch(&MetadataDiscovery::cache_url("https://a.example").unwrap())
            .unwrap_err();
        assert!(err.contains("IssuerMismatch"), "{err}");
    }
}
