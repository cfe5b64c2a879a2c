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

/// [`metadata_urls`] parsed, in order. The first is where a discovered document
/// is cached, whichever URL served it, so that a provider that only serves the
/// OIDC form costs no 404 per request; none when the issuer (or that first URL)
/// is not a URL.
pub fn metadata_candidates(issuer: &str) -> Vec<Url> {
    let mut urls = metadata_urls(issuer).into_iter();
    let Some(cache_url) = urls.next().and_then(|u| Url::parse(&u).ok()) else {
        return Vec::new();
    };
    // A later candidate that does not parse is only skipped.
    let rest = urls.filter_map(|u| Url::parse(&u).ok());
    std::iter::once(cache_url).chain(rest).collect()
}

/// An authorization server metadata document checked to be about the configured
/// issuer, and the `jwks_uri` it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerMetadata {
    /// The document, byte for byte.
    pub document: Vec<u8>,
    /// Its `jwks_uri`.
    pub jwks_uri: Url,
}

impl IssuerMetadata {
    /// Reads `document` (see [`jwks_uri`]).
    pub fn parse(document: &[u8], expected_issuer: &str) -> Result<Self, DiscoveryError> {
        Ok(Self {
            jwks_uri: jwks_uri(document, expected_issuer)?,
            document: document.to_vec(),
        })
    }
}

/// Fetches each of `candidates` in order ([`metadata_candidates`]) and returns the
/// first document that names `issuer` and a usable `jwks_uri`, read once, with
/// the response it came in; or every candidate's failure.
pub fn discover(
    fetcher: &mut dyn Fetcher,
    candidates: &[Url],
    issuer: &str,
) -> Result<(IssuerMetadata, Fetched), String> {
    let mut failures = Vec::new();
    for candidate in candidates {
        match fetcher.fetch(candidate) {
            Ok(fetched) => match IssuerMetadata::parse(&fetched.body, issuer) {
                Ok(metadata) => return Ok((metadata, fetched)),
                Err(e) => failures.push(format!("{candidate}: {e:?}")),
            },
            Err(e) => failures.push(format!("{candidate}: {e}")),
        }
    }
    Err(format!("discovery failed ({})", failures.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Sites;

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

    #[test]
    fn candidates_are_the_metadata_urls_parsed() {
        let parsed: Vec<String> = metadata_candidates("https://idp.example.com/tenant1")
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(parsed, metadata_urls("https://idp.example.com/tenant1"));
        assert!(metadata_candidates("not a url").is_empty());
    }

    #[test]
    fn discovery_tries_rfc8414_then_oidc() {
        let oidc = r#"{"issuer":"https://a.example","jwks_uri":"https://a.example/keys"}"#;
        let mut sites = Sites::default();
        let served = Fetched {
            body: oidc.into(),
            max_age: Some(300),
        };
        sites.respond(
            "https://a.example/.well-known/openid-configuration",
            Ok(served.clone()),
        );
        let candidates = metadata_candidates("https://a.example");
        let (metadata, fetched) = discover(&mut sites, &candidates, "https://a.example").unwrap();
        assert_eq!(fetched, served);
        assert_eq!(metadata.document, oidc.as_bytes());
        assert_eq!(metadata.jwks_uri.as_str(), "https://a.example/keys");
        assert_eq!(
            sites.fetched,
            [
                "https://a.example/.well-known/oauth-authorization-server",
                "https://a.example/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn discovery_skips_documents_about_other_issuers() {
        let liar = r#"{"issuer":"https://evil.example","jwks_uri":"https://evil.example/keys"}"#;
        let mut sites = Sites::default();
        sites.serve(
            "https://a.example/.well-known/oauth-authorization-server",
            liar,
        );
        sites.serve("https://a.example/.well-known/openid-configuration", liar);
        let candidates = metadata_candidates("https://a.example");
        assert_eq!(
            discover(&mut sites, &candidates, "https://a.example"),
            Err("discovery failed (\
                 https://a.example/.well-known/oauth-authorization-server: IssuerMismatch; \
                 https://a.example/.well-known/openid-configuration: IssuerMismatch)"
                .to_owned())
        );
    }
}
