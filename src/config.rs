//! Configuration from Spin variables, validated once per request.
//!
//! Every default lives here. The source of the values (Spin's `wasi:config/store`)
//! is the edge's business: this module only sees a lookup function.

use std::fmt;

use url::Url;

/// Variable names, as declared in `spin.toml` (Spin variables are lower-case).
pub mod var {
    pub const ISSUER: &str = "authkit_issuer";
    pub const JWKS_URI: &str = "authkit_jwks_uri";
    pub const AUDIENCE: &str = "authkit_audience";
    pub const RESOURCE: &str = "authkit_resource";
}

/// Clock skew tolerated on `exp`, `nbf` and `iat` (RFC 7519 §4.1.4 allows "a small leeway").
pub const LEEWAY_SECONDS: u64 = 60;

/// Largest compact JWT accepted, in bytes (RFC 8725 §3.x: bound what you parse).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Validated middleware configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Expected `iss`, compared byte for byte (RFC 9068 §4), and the single
    /// entry of `authorization_servers` in the metadata document.
    pub issuer: String,
    /// Where the signing keys are. `None`: discovered from the issuer's metadata.
    pub jwks_uri: Option<Url>,
    /// Accepted `aud` values; empty means the audience is not checked.
    pub audiences: Vec<String>,
    /// Canonical URL of the protected resource (RFC 9728 `resource`); `None`:
    /// derived from each request's scheme, authority and path.
    pub resource: Option<Url>,
}

/// Why the configuration is unusable. Every protected request answers 500 with it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is unset or empty.
    Missing(&'static str),
    /// A variable that must hold an absolute URL does not parse as one.
    InvalidUrl(&'static str),
    /// A URL variable uses plain `http` for a host other than loopback
    /// (MCP authorization spec: authorization server endpoints MUST use HTTPS).
    InsecureUrl(&'static str),
    /// The configuration store itself failed.
    Unreadable(&'static str),
}

impl ConfigError {
    /// The variable at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            Self::Missing(v) | Self::InvalidUrl(v) | Self::InsecureUrl(v) | Self::Unreadable(v) => {
                v
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(v) => write!(f, "missing required variable {v}"),
            Self::InvalidUrl(v) => write!(f, "variable {v} is not an absolute http(s) URL"),
            Self::InsecureUrl(v) => write!(
                f,
                "variable {v} must use https (plain http is accepted for loopback hosts only)"
            ),
            Self::Unreadable(v) => write!(f, "variable {v} could not be read"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Builds the configuration from a variable lookup. A lookup error is reported
    /// as [`ConfigError::Unreadable`]; an empty value counts as unset, because
    /// Spin hands an optional variable with `default = ""` over as `""`.
    pub fn from_lookup<F>(mut lookup: F) -> Result<Self, ConfigError>
    where
        F: FnMut(&'static str) -> Result<Option<String>, ()>,
    {
        let mut get = |name: &'static str| -> Result<Option<String>, ConfigError> {
            let value = lookup(name).map_err(|()| ConfigError::Unreadable(name))?;
            Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
        };

        let issuer = get(var::ISSUER)?.ok_or(ConfigError::Missing(var::ISSUER))?;
        parse_endpoint(var::ISSUER, &issuer)?;
        let jwks_uri = get(var::JWKS_URI)?
            .map(|v| parse_endpoint(var::JWKS_URI, &v))
            .transpose()?;
        let audiences = get(var::AUDIENCE)?.into_iter().collect();
        let resource = get(var::RESOURCE)?
            .map(|v| parse_resource(var::RESOURCE, &v))
            .transpose()?;

        Ok(Self {
            issuer,
            jwks_uri,
            audiences,
            resource,
        })
    }
}

/// An authorization-server URL: absolute, http(s), https unless loopback, no fragment.
pub fn parse_endpoint(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|_| ConfigError::InvalidUrl(name))?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host().is_none()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(ConfigError::InvalidUrl(name));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(ConfigError::InsecureUrl(name));
    }
    Ok(url)
}

/// RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
fn parse_resource(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|_| ConfigError::InvalidUrl(name))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() || url.fragment().is_some()
    {
        return Err(ConfigError::InvalidUrl(name));
    }
    Ok(url)
}

/// `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Config::from_lookup(|name| Ok(map.get(name).map(|v| v.to_string())))
    }

    #[test]
    fn issuer_is_required() {
        assert_eq!(config(&[]), Err(ConfigError::Missing(var::ISSUER)));
        assert_eq!(
            config(&[(var::ISSUER, "  ")]),
            Err(ConfigError::Missing(var::ISSUER))
        );
    }

    #[test]
    fn minimal_config_keeps_issuer_verbatim() {
        let cfg = config(&[(var::ISSUER, "https://acme.authkit.app")]).unwrap();
        assert_eq!(cfg.issuer, "https://acme.authkit.app");
        assert_eq!(cfg.jwks_uri, None);
        assert!(cfg.audiences.is_empty());
        assert_eq!(cfg.resource, None);
    }

    #[test]
    fn empty_optional_variables_count_as_unset() {
        let cfg = config(&[
            (var::ISSUER, "https://acme.authkit.app"),
            (var::JWKS_URI, ""),
            (var::AUDIENCE, ""),
            (var::RESOURCE, ""),
        ])
        .unwrap();
        assert_eq!(cfg.jwks_uri, None);
        assert!(cfg.audiences.is_empty());
    }

    #[test]
    fn full_config() {
        let cfg = config(&[
            (var::ISSUER, "https://acme.authkit.app"),
            (var::JWKS_URI, "https://acme.authkit.app/oauth2/jwks"),
            (var::AUDIENCE, "https://mcp.example.com/mcp"),
            (var::RESOURCE, "https://mcp.example.com/mcp"),
        ])
        .unwrap();
        assert_eq!(
            cfg.jwks_uri.unwrap().as_str(),
            "https://acme.authkit.app/oauth2/jwks"
        );
        assert_eq!(cfg.audiences, vec!["https://mcp.example.com/mcp"]);
        assert_eq!(
            cfg.resource.unwrap().as_str(),
            "https://mcp.example.com/mcp"
        );
    }

    #[test]
    fn unparsable_urls_name_the_variable() {
        for (name, value) in [
            (var::ISSUER, "acme.authkit.app"),
            (var::ISSUER, "ftp://acme.authkit.app"),
            (var::ISSUER, "https://acme.authkit.app/#frag"),
            (var::ISSUER, "https://user:pw@acme.authkit.app"),
            (var::JWKS_URI, "not a url"),
            (var::RESOURCE, "/mcp"),
        ] {
            let mut vars = vec![(var::ISSUER, "https://acme.authkit.app")];
            vars.retain(|(n, _)| *n != name);
            vars.push((name, value));
            let err = config(&vars).unwrap_err();
            assert_eq!(err, ConfigError::InvalidUrl(name), "{name}={value}");
            assert!(err.to_string().contains(name));
        }
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert_eq!(
            config(&[(var::ISSUER, "http://acme.example.com")]),
            Err(ConfigError::InsecureUrl(var::ISSUER))
        );
        for ok in [
            "http://127.0.0.1:4000",
            "http://localhost:4000/tenant",
            "http://[::1]:4000",
        ] {
            assert!(config(&[(var::ISSUER, ok)]).is_ok(), "{ok}");
        }
        assert_eq!(
            config(&[
                (var::ISSUER, "https://acme.authkit.app"),
                (var::JWKS_URI, "http://keys.example.com/jwks")
            ]),
            Err(ConfigError::InsecureUrl(var::JWKS_URI))
        );
    }

    #[test]
    fn lookup_failure_is_reported() {
        let err = Config::from_lookup(|_| Err(())).unwrap_err();
        assert_eq!(err, ConfigError::Unreadable(var::ISSUER));
    }
}
