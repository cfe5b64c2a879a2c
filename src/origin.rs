//! Which browser origins may call the server (MCP Streamable HTTP, "Security
//! Warning": servers MUST validate the `Origin` header, against DNS rebinding).
//!
//! A request without `Origin` is not from a web page (CLI clients, SDKs, server
//! side connectors) and is not judged here. A request with one is accepted only
//! from:
//! - the origin of `authkit_resource` (the server's own public origin; the
//!   `Host` header is never trusted for this: a rebound DNS name sends its own);
//! - a loopback origin: `localhost`, 127.0.0.0/8 or `[::1]`, any port (the MCP
//!   Inspector runs on `http://localhost:6274`); a page on a rebound name is not
//!   one, and `*.localhost` is not loopback here;
//! - an origin listed in `authkit_allowed_origins`, or any when it is `*`.
//!
//! Everything else, `null` and several `Origin` headers included, gets 403.

use url::Url;

/// `authkit_allowed_origins`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Only the defaults (the resource's origin and loopback).
    #[default]
    Defaults,
    /// The defaults and these origins (ASCII serialization, e.g. `https://app.example`).
    Listed(Vec<String>),
    /// `*`: every origin (the server is meant to be called from any web page).
    Any,
}

impl AllowedOrigins {
    /// Parses `*`, or a comma- or space-separated list of origins
    /// (`scheme://host[:port]`, nothing after). `None` when an item is not one.
    pub fn parse(value: &str) -> Option<Self> {
        if value.trim() == "*" {
            return Some(Self::Any);
        }
        let mut listed = Vec::new();
        for item in value.split([',', ' ', '\t']).filter(|i| !i.is_empty()) {
            let origin = serialized_origin(item)?;
            // `https://app.example/path` is not an origin: say so rather than guess.
            if origin != item.trim_end_matches('/').to_ascii_lowercase() {
                return None;
            }
            listed.push(origin);
        }
        Some(if listed.is_empty() {
            Self::Defaults
        } else {
            Self::Listed(listed)
        })
    }
}

/// Whether a request with these `Origin` header values may proceed, given the
/// configured `allowed` origins and `resource` (`authkit_resource`, whose origin
/// is the server's own). With an unusable configuration the caller passes the
/// defaults and no resource: then only loopback origins are allowed.
pub fn is_allowed(values: &[Vec<u8>], allowed: &AllowedOrigins, resource: Option<&Url>) -> bool {
    let value = match values {
        [] => return true,
        [value] => value,
        _ => return false,
    };
    if *allowed == AllowedOrigins::Any {
        return true;
    }
    // One parse per browser request; requests without Origin never get here.
    let Some(url) = std::str::from_utf8(value).ok().and_then(parse_origin) else {
        return false;
    };
    if is_loopback(&url) {
        return true;
    }
    let origin = url.origin().ascii_serialization();
    resource.is_some_and(|r| r.origin().ascii_serialization() == origin)
        || matches!(allowed, AllowedOrigins::Listed(list) if list.contains(&origin))
}

/// `localhost`, 127.0.0.0/8 and `[::1]`. Not `*.localhost`: RFC 6761 §6.3 lets
/// resolvers send them to loopback, but nothing makes every resolver (or a
/// proxy in between) do so, and no security decision may hang on one that might not.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An http(s) origin; `None` for opaque origins (`null`, `file:`, ...) and
/// anything that does not parse.
fn parse_origin(value: &str) -> Option<Url> {
    Url::parse(value.trim())
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// `scheme://host[:port]`, lower-case, default port dropped.
fn serialized_origin(value: &str) -> Option<String> {
    parse_origin(value).map(|url| url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `authkit_allowed_origins` and `authkit_resource` (`None`: an unusable
    /// configuration, which leaves the defaults and no resource).
    type Setting = (AllowedOrigins, Option<Url>);

    fn config(allowed: Option<&str>) -> Setting {
        let allowed = allowed.map_or(AllowedOrigins::Defaults, |v| {
            AllowedOrigins::parse(v).unwrap()
        });
        let resource = Url::parse("https://mcp.example.com/mcp").unwrap();
        (allowed, Some(resource))
    }

    fn check(values: &[Vec<u8>], config: Option<&Setting>) -> bool {
        match config {
            Some((allowed, resource)) => is_allowed(values, allowed, resource.as_ref()),
            None => is_allowed(values, &AllowedOrigins::Defaults, None),
        }
    }

    fn allowed(origin: &str, config: Option<&Setting>) -> bool {
        check(&[origin.as_bytes().to_vec()], config)
    }

    #[test]
    fn no_origin_is_not_a_browser() {
        assert!(check(&[], Some(&config(None))));
        assert!(check(&[], None));
    }

    #[test]
    fn defaults_are_the_resource_origin_and_loopback() {
        let cfg = config(None);
        for ok in [
            "https://mcp.example.com",
            "https://MCP.example.com:443",
            "http://localhost:6274",
            "http://127.0.0.1:3000",
            "http://127.8.9.10",
            "http://[::1]:6274",
            "https://localhost",
        ] {
            assert!(allowed(ok, Some(&cfg)), "{ok}");
        }
        for refused in [
            "https://evil.example",
            "http://mcp.example.com",
            "https://mcp.example.com:8443",
            "http://evil.localhost:3000",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "null",
            "file://",
            "",
            "not an origin",
        ] {
            assert!(!allowed(refused, Some(&cfg)), "{refused}");
        }
        // Several Origin headers: ambiguous, refused.
        let two = [
            b"http://localhost:1".to_vec(),
            b"http://localhost:2".to_vec(),
        ];
        assert!(!check(&two, Some(&cfg)));
        // An unusable configuration leaves loopback only.
        assert!(allowed("http://localhost:6274", None));
        assert!(!allowed("https://mcp.example.com", None));
    }

    #[test]
    fn listed_origins_and_the_wildcard() {
        let cfg = config(Some("https://app.example, https://other.example:8443"));
        assert!(allowed("https://app.example", Some(&cfg)));
        assert!(allowed("https://other.example:8443", Some(&cfg)));
        assert!(!allowed("https://other.example", Some(&cfg)));
        assert!(!allowed("https://evil.example", Some(&cfg)));
        let any = config(Some("*"));
        assert!(allowed("https://evil.example", Some(&any)));
        assert!(allowed("null", Some(&any)));
    }

    #[test]
    fn list_items_must_be_origins() {
        assert_eq!(AllowedOrigins::parse(""), Some(AllowedOrigins::Defaults));
        assert_eq!(
            AllowedOrigins::parse("https://App.example/"),
            Some(AllowedOrigins::Listed(vec!["https://app.example".into()]))
        );
        for bad in [
            "https://app.example/path",
            "app.example",
            "null",
            "*, https://a.example",
            "ftp://x",
        ] {
            assert_eq!(AllowedOrigins::parse(bad), None, "{bad}");
        }
    }
}
