//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document, its
//! well-known locations, and the URLs that point at it.

use serde_json::json;
use url::Url;

use crate::config::Config;

/// RFC 9728 §3: the well-known URI suffix.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// If `path` asks for protected-resource metadata, the path of the resource it
/// describes: `""` for the root form, `"/mcp"` for
/// `/.well-known/oauth-protected-resource/mcp` (RFC 9728 §3.1).
pub fn requested_resource_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(WELL_KNOWN_PATH)?;
    match rest {
        "" | "/" => Some(""),
        _ if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// The canonical URL of the protected resource: `authkit_resource` when set, else
/// the origin the request reached plus `resource_path`.
pub fn resource_url(config: &Config, origin: &str, resource_path: &str) -> String {
    match &config.resource {
        Some(resource) => crate::config::canonical_resource(resource).to_owned(),
        None => format!("{origin}{}", path_suffix(resource_path)),
    }
}

/// Where a client finds the metadata for the resource at `origin` + `resource_path`:
/// the well-known URI inserted between host and path (RFC 9728 §3.1), derived
/// from `authkit_resource` when set so that it names the public URL.
pub fn metadata_url(config: &Config, origin: &str, resource_path: &str) -> String {
    match &config.resource {
        Some(resource) => {
            let path = resource.path().trim_end_matches('/');
            format!(
                "{}{WELL_KNOWN_PATH}{path}",
                resource.origin().ascii_serialization()
            )
        }
        None => format!("{origin}{WELL_KNOWN_PATH}{}", path_suffix(resource_path)),
    }
}

fn path_suffix(resource_path: &str) -> &str {
    if resource_path == "/" {
        ""
    } else {
        resource_path
    }
}

/// The metadata document (RFC 9728 §2). `scopes_supported` lists the required
/// scopes, so that clients request them up front.
pub fn document(config: &Config, resource: &str) -> serde_json::Value {
    let mut doc = json!({
        "resource": resource,
        "authorization_servers": [config.issuer],
        "bearer_methods_supported": ["header"],
    });
    if !config.required_scopes.is_empty() {
        doc["scopes_supported"] = json!(config.required_scopes);
    }
    doc
}

/// Authorization server metadata locations on the MCP server's own origin
/// (RFC 8414 §3 and OIDC Discovery §4, root form), served from the issuer.
pub fn is_server_metadata_path(path: &str) -> bool {
    matches!(
        path,
        "/.well-known/oauth-authorization-server" | "/.well-known/openid-configuration"
    )
}

/// Normalises a request's scheme and authority into an origin
/// (`https://host[:port]`), or `None` if they do not form one.
pub fn request_origin(scheme: &str, authority: &str) -> Option<String> {
    // RFC 3986 host (reg-name, IPv4, bracketed IPv6) and port characters only.
    let allowed = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']' | b'_' | b'~')
    };
    if authority.is_empty() || !authority.bytes().all(allowed) {
        return None;
    }
    let url = Url::parse(&format!("{scheme}://{authority}/")).ok()?;
    url.host()?;
    Some(url.origin().ascii_serialization())
}

/// The request path, normalised and percent-encoded by the URL parser so that it
/// is safe to embed in a header; `None` if it cannot be part of a URL.
pub fn normalized_path(origin: &str, path_with_query: &str) -> Option<String> {
    let path = path_with_query.split(['?', '#']).next().unwrap_or("");
    if !path.is_empty() && !path.starts_with('/') {
        return None;
    }
    let url = Url::parse(&format!("{origin}{path}")).ok()?;
    Some(url.path().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(resource: Option<&str>) -> Config {
        use crate::config::var;
        let mut config = Config::from_lookup(|name| {
            Ok(match name {
                var::ISSUER => Some("https://acme.authkit.app".to_owned()),
                var::AUDIENCE => Some("https://api.example.com/mcp".to_owned()),
                _ => None,
            })
        })
        .unwrap();
        config.resource = resource.map(|r| Url::parse(r).unwrap());
        config
    }

    #[test]
    fn well_known_forms() {
        assert_eq!(requested_resource_path(WELL_KNOWN_PATH), Some(""));
        assert_eq!(
            requested_resource_path("/.well-known/oauth-protected-resource/"),
            Some("")
        );
        assert_eq!(
            requested_resource_path("/.well-known/oauth-protected-resource/mcp"),
            Some("/mcp")
        );
        assert_eq!(
            requested_resource_path("/.well-known/oauth-protected-resourcex"),
            None
        );
        assert_eq!(requested_resource_path("/mcp"), None);
    }

    #[test]
    fn resource_from_request_or_config() {
        let origin = "http://127.0.0.1:3000";
        assert_eq!(
            resource_url(&config(None), origin, "/mcp"),
            "http://127.0.0.1:3000/mcp"
        );
        assert_eq!(
            resource_url(&config(Some("https://api.example.com/mcp")), origin, "/mcp"),
            "https://api.example.com/mcp"
        );
        // A resource without a path gains no `/` (the MCP spec's canonical form).
        assert_eq!(
            resource_url(&config(None), origin, "/"),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            resource_url(&config(Some("https://api.example.com/")), origin, "/mcp"),
            "https://api.example.com"
        );
    }

    #[test]
    fn metadata_url_inserts_well_known_before_path() {
        let origin = "http://127.0.0.1:3000";
        assert_eq!(
            metadata_url(&config(None), origin, "/mcp"),
            "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url(&config(None), origin, "/"),
            "http://127.0.0.1:3000/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url(&config(Some("https://api.example.com/mcp")), origin, "/x"),
            "https://api.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url(&config(Some("https://api.example.com")), origin, "/x"),
            "https://api.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn document_shape() {
        let doc = document(&config(None), "http://127.0.0.1:3000/mcp");
        assert_eq!(
            doc,
            json!({
                "resource": "http://127.0.0.1:3000/mcp",
                "authorization_servers": ["https://acme.authkit.app"],
                "bearer_methods_supported": ["header"],
            })
        );
    }

    #[test]
    fn origins_are_normalised_and_checked() {
        assert_eq!(
            request_origin("http", "127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(
            request_origin("https", "Example.COM:443").as_deref(),
            Some("https://example.com")
        );
        for bad in ["", "evil.com/x", "a@b", "a\"b", "[::1", "a b"] {
            assert_eq!(request_origin("http", bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_are_percent_encoded() {
        let o = "http://h";
        assert_eq!(normalized_path(o, "/mcp?x=1").as_deref(), Some("/mcp"));
        assert_eq!(normalized_path(o, "").as_deref(), Some("/"));
        assert_eq!(normalized_path(o, "/a\"b\\c").as_deref(), Some("/a%22b/c"));
        assert_eq!(normalized_path(o, "*"), None);
    }
}
