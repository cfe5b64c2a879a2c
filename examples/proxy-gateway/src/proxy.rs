//! The proxy's decisions as pure functions (unit-tested natively): where a request
//! goes, which headers travel, and the error bodies.

use serde_json::json;
use url::{Position, Url};

/// The Spin variable holding the upstream base URL, e.g. `http://127.0.0.1:3001`.
pub const UPSTREAM_VARIABLE: &str = "upstream_url";

/// Where requests are forwarded to, parsed from [`UPSTREAM_VARIABLE`].
#[derive(Debug, PartialEq, Eq)]
pub struct Upstream {
    /// `true` for `https`.
    pub https: bool,
    /// `host[:port]` (the default port is left out); becomes the `Host` upstream.
    pub authority: String,
    /// Path prefix without a trailing slash: `""` for `http://h:1` or `http://h:1/`.
    pub base_path: String,
}

impl Upstream {
    /// Parses the variable's value: an absolute `http`/`https` URL with a host, no
    /// credentials, query or fragment. `None` or blank means unset.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        let value = value.map(str::trim).unwrap_or_default();
        if value.is_empty() {
            return Err(format!("{UPSTREAM_VARIABLE} is not set"));
        }
        let invalid = |why: &str| format!("{UPSTREAM_VARIABLE} is invalid: {why}");
        let url = Url::parse(value).map_err(|e| invalid(&e.to_string()))?;
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(invalid("the scheme must be http or https")),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it must not contain credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("it must not have a query or fragment"));
        }
        Ok(Self {
            https,
            authority: url[Position::BeforeHost..Position::AfterPort].to_owned(),
            base_path: url.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The upstream path and query for the incoming `path_with_query`: the base
    /// path followed by the incoming one, unchanged.
    pub fn path_with_query(&self, incoming: Option<&str>) -> String {
        let incoming = match incoming {
            Some(p) if p.starts_with('/') => p,
            // `*` (OPTIONS) or absent: the root of the upstream.
            _ => "/",
        };
        format!("{}{incoming}", self.base_path)
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and others a proxy must not forward:
/// they describe one connection, not the message. `host` is replaced by the
/// upstream authority (and is forbidden in wasi:http fields anyway).
pub fn is_hop_by_hop(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade" | "host"
    ) || name.starts_with("proxy-")
}

/// The headers to forward, in their order: all but the hop-by-hop ones and those
/// the `Connection` header names as connection-specific.
pub fn forwarded_headers(headers: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let named_by_connection: Vec<String> = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value)
                .split(',')
                .map(|token| token.trim().to_ascii_lowercase())
                .filter(|token| !token.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    headers
        .iter()
        .filter(|(name, _)| {
            !is_hop_by_hop(name) && !named_by_connection.contains(&name.to_ascii_lowercase())
        })
        .cloned()
        .collect()
}

/// The request body's declared length: `Content-Length` when it is present and
/// valid. Without one the body may still be chunked: hosts hide `Transfer-Encoding`
/// from components, so the body itself must tell.
pub fn declared_length(headers: &[(String, Vec<u8>)]) -> Option<u64> {
    let mut lengths = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| std::str::from_utf8(value).ok()?.trim().parse::<u64>().ok());
    match (lengths.next(), lengths.next()) {
        (Some(Some(length)), None) => Some(length),
        _ => None,
    }
}

/// A JSON error body in the middleware's format.
pub fn error_body(error: &str, description: &str) -> Vec<u8> {
    json!({ "error": error, "error_description": description })
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn parses_upstream_urls() {
        assert_eq!(
            Upstream::parse(Some("http://127.0.0.1:3001")),
            Ok(Upstream {
                https: false,
                authority: "127.0.0.1:3001".into(),
                base_path: String::new()
            })
        );
        assert_eq!(
            Upstream::parse(Some(" https://mcp.example.com/base/ ")),
            Ok(Upstream {
                https: true,
                authority: "mcp.example.com".into(),
                base_path: "/base".into()
            })
        );
        // The default port is implied; IPv6 literals keep their brackets.
        let upstream = Upstream::parse(Some("http://[::1]:80/")).unwrap();
        assert_eq!(upstream.authority, "[::1]");
        assert_eq!(
            Upstream::parse(Some("http://[::1]:8080"))
                .unwrap()
                .authority,
            "[::1]:8080"
        );
    }

    #[test]
    fn rejects_unset_and_invalid_upstreams() {
        for (value, why) in [
            (None, "is not set"),
            (Some(""), "is not set"),
            (Some("   "), "is not set"),
            (Some("127.0.0.1:3001"), "invalid"),
            (Some("/relative"), "invalid"),
            (Some("ftp://example.com"), "http or https"),
            (Some("http://user:pw@example.com"), "credentials"),
            (Some("http://example.com/?q=1"), "query or fragment"),
            (Some("http://example.com/#f"), "query or fragment"),
        ] {
            let err = Upstream::parse(value).unwrap_err();
            assert!(err.starts_with("upstream_url "), "{err}");
            assert!(err.contains(why), "{value:?}: {err}");
        }
    }

    #[test]
    fn joins_paths() {
        let root = Upstream::parse(Some("http://h:1")).unwrap();
        assert_eq!(root.path_with_query(Some("/mcp?a=1&b")), "/mcp?a=1&b");
        assert_eq!(root.path_with_query(Some("/")), "/");
        assert_eq!(root.path_with_query(None), "/");
        assert_eq!(root.path_with_query(Some("*")), "/");
        let based = Upstream::parse(Some("http://h:1/api/v1/")).unwrap();
        assert_eq!(based.path_with_query(Some("/mcp?x")), "/api/v1/mcp?x");
        assert_eq!(based.path_with_query(Some("/")), "/api/v1/");
        // Encoded bytes pass untouched.
        assert_eq!(
            based.path_with_query(Some("/a%2Fb?q=%20")),
            "/api/v1/a%2Fb?q=%20"
        );
    }

    #[test]
    fn drops_hop_by_hop_headers() {
        let incoming = headers(&[
            ("Host", "127.0.0.1:3000"),
            ("Connection", "keep-alive, X-Conn-Only"),
            ("keep-alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("TE", "trailers"),
            ("Trailer", "x-t"),
            ("Upgrade", "websocket"),
            ("Proxy-Authorization", "Basic x"),
            ("proxy-connection", "close"),
            ("x-conn-only", "1"),
            ("Authorization", "Bearer t"),
            ("mcp-session-id", "s1"),
            ("accept", "text/event-stream"),
            ("accept", "application/json"),
            ("Last-Event-ID", "42"),
            ("content-length", "12"),
        ]);
        assert_eq!(
            forwarded_headers(&incoming),
            headers(&[
                ("Authorization", "Bearer t"),
                ("mcp-session-id", "s1"),
                ("accept", "text/event-stream"),
                ("accept", "application/json"),
                ("Last-Event-ID", "42"),
                ("content-length", "12"),
            ])
        );
        assert!(is_hop_by_hop("PROXY-Authenticate"));
        assert!(!is_hop_by_hop("x-proxy"));
        assert!(!is_hop_by_hop("content-type"));
    }

    #[test]
    fn reads_declared_lengths() {
        assert_eq!(declared_length(&headers(&[("accept", "*/*")])), None);
        assert_eq!(
            declared_length(&headers(&[("Content-Length", "0")])),
            Some(0)
        );
        assert_eq!(
            declared_length(&headers(&[("content-length", "17")])),
            Some(17)
        );
        assert_eq!(declared_length(&headers(&[("content-length", "x")])), None);
        let twice = headers(&[("content-length", "1"), ("content-length", "1")]);
        assert_eq!(declared_length(&twice), None);
    }

    #[test]
    fn error_bodies_are_json() {
        let body: serde_json::Value =
            serde_json::from_slice(&error_body("bad_gateway", "a \"quoted\" reason")).unwrap();
        assert_eq!(
            body,
            json!({"error": "bad_gateway", "error_description": "a \"quoted\" reason"})
        );
    }
}
