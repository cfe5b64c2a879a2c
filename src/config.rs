//! Configuration from Spin variables, validated once per request.
//!
//! Every default lives here. The source of the values (Spin's `wasi:config/store`)
//! is the edge's business: this module only sees a lookup function.

use std::fmt;

use url::Url;

use crate::jwks::{Algorithm, AlgorithmSet, KeySet};
use crate::origin::{is_loopback, AllowedOrigins};

/// Variable names, as declared in `spin.toml` (Spin variables are lower-case).
pub mod var {
    /// The issuer (required, no default): compared byte for byte with `iss` and
    /// published as the one authorization server. `https`, or `http` on loopback.
    pub const ISSUER: &str = "authkit_issuer";
    /// The JWKS endpoint; unset: discovered from the issuer's metadata.
    pub const JWKS_URI: &str = "authkit_jwks_uri";
    /// An inline JWKS document: no network at all.
    pub const JWKS: &str = "authkit_jwks";
    /// Accepted `aud` values, comma-separated (any one matches); unset: the
    /// canonical `authkit_resource`.
    pub const AUDIENCE: &str = "authkit_audience";
    /// The canonical URL of the protected resource (RFC 9728 `resource`, RFC 8707
    /// resource indicator); unset: derived from each request.
    pub const RESOURCE: &str = "authkit_resource";
    /// Scopes every token must carry, space-separated.
    pub const REQUIRED_SCOPES: &str = "authkit_required_scopes";
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (0 to
    /// [`MAX_LEEWAY_SECONDS`](super::MAX_LEEWAY_SECONDS)).
    pub const LEEWAY_SECONDS: &str = "authkit_leeway_seconds";
    /// Accepted JWS algorithms, comma- or space-separated; unset: all supported.
    pub const ALGORITHMS: &str = "authkit_algorithms";
    /// A fixed JWKS cache lifetime in seconds (0 to 86400), overriding the
    /// provider's `Cache-Control`.
    pub const JWKS_CACHE_SECONDS: &str = "authkit_jwks_cache_seconds";
    /// Browser origins allowed besides the defaults, or `*` ([`crate::origin`]).
    pub const ALLOWED_ORIGINS: &str = "authkit_allowed_origins";
    /// `true`: no audience check when `authkit_audience` is empty, so tokens the
    /// issuer minted for any other resource are accepted. Loudly named because
    /// RFC 8707 and the MCP authorization spec require servers to accept only
    /// tokens issued for them.
    pub const DANGEROUSLY_ACCEPT_ANY_AUDIENCE: &str = "authkit_dangerously_accept_any_audience";
}

/// Default clock skew tolerated on `exp`, `nbf` and `iat` (RFC 7519 §4.1.4 allows
/// "a small leeway").
pub const LEEWAY_SECONDS: u64 = 60;

/// Largest leeway accepted from `authkit_leeway_seconds`: more would make expiry moot.
pub const MAX_LEEWAY_SECONDS: u64 = 600;

/// Largest compact JWT accepted, in bytes: bounds the work an unauthenticated
/// request can cause before any signature is checked. Access tokens are a few
/// KB at most; jwt-simple's own default would be 1 MB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Validated middleware configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Expected `iss`, compared byte for byte (RFC 9068 §4), and the single
    /// entry of `authorization_servers` in the metadata document.
    pub issuer: String,
    /// Where the signing keys are. `None`: discovered from the issuer's metadata.
    pub jwks_uri: Option<Url>,
    /// Keys given inline (`authkit_jwks`): no network at all.
    pub inline_keys: Option<KeySet>,
    /// Accepted `aud` values (any one suffices): `authkit_audience`, else the
    /// canonical `authkit_resource` (RFC 8707; MCP authorization: a server only
    /// accepts tokens issued for it). Empty only with
    /// `authkit_dangerously_accept_any_audience=true`: then not checked.
    pub audiences: Vec<String>,
    /// Canonical URL of the protected resource (RFC 9728 `resource`); `None`:
    /// derived from each request's scheme, authority and path.
    pub resource: Option<Url>,
    /// Scopes every token must carry (403 `insufficient_scope` otherwise).
    pub required_scopes: Vec<String>,
    /// Clock skew tolerated on time claims.
    pub leeway_seconds: u64,
    /// Algorithms accepted (a subset of those supported).
    pub algorithms: AlgorithmSet,
    /// Fixed JWKS cache lifetime, overriding the provider's `Cache-Control`.
    pub jwks_cache_seconds: Option<u64>,
    /// Browser origins allowed besides the defaults ([`crate::origin`]).
    pub allowed_origins: AllowedOrigins,
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
    /// A value that is not of the variable's form (number, list, JWKS).
    InvalidValue(&'static str),
    /// The configuration store itself failed.
    Unreadable(&'static str),
}

impl ConfigError {
    /// The variable at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            Self::Missing(v)
            | Self::InvalidUrl(v)
            | Self::InsecureUrl(v)
            | Self::InvalidValue(v)
            | Self::Unreadable(v) => v,
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
            Self::InvalidValue(v) => write!(f, "variable {v} has an invalid value"),
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
        Self::from_dyn_lookup(&mut lookup)
    }

    /// One compiled copy of the parser, whatever the caller's closure (wasm size).
    fn from_dyn_lookup(
        lookup: &mut dyn FnMut(&'static str) -> Result<Option<String>, ()>,
    ) -> Result<Self, ConfigError> {
        let mut get = |name: &'static str| -> Result<Option<String>, ConfigError> {
            let value = lookup(name).map_err(|()| ConfigError::Unreadable(name))?;
            Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
        };

        let issuer = get(var::ISSUER)?.ok_or(ConfigError::Missing(var::ISSUER))?;
        parse_endpoint(var::ISSUER, &issuer)?;
        let jwks_uri = get(var::JWKS_URI)?
            .map(|v| parse_endpoint(var::JWKS_URI, &v))
            .transpose()?;
        let inline_keys = get(var::JWKS)?
            .map(|v| KeySet::parse(v.as_bytes()).map_err(|_| ConfigError::InvalidValue(var::JWKS)))
            .transpose()?;
        let resource = get(var::RESOURCE)?
            .map(|v| parse_resource(var::RESOURCE, &v))
            .transpose()?;
        let any_audience = match get(var::DANGEROUSLY_ACCEPT_ANY_AUDIENCE)?.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError::InvalidValue(
                    var::DANGEROUSLY_ACCEPT_ANY_AUDIENCE,
                ))
            }
        };
        let audiences = match (list(get(var::AUDIENCE)?, ','), &resource) {
            (audiences, _) if !audiences.is_empty() => audiences,
            (_, _) if any_audience => Vec::new(),
            (_, Some(resource)) => resource_audiences(resource),
            // Nothing to check `aud` against: refusing beats accepting tokens
            // minted for any other resource of the issuer.
            (_, None) => return Err(ConfigError::Missing(var::RESOURCE)),
        };
        let required_scopes = list(get(var::REQUIRED_SCOPES)?, ' ');
        let leeway_seconds = match get(var::LEEWAY_SECONDS)? {
            None => LEEWAY_SECONDS,
            Some(v) => parse_seconds(var::LEEWAY_SECONDS, &v, 0..=MAX_LEEWAY_SECONDS)?,
        };
        let algorithms = match get(var::ALGORITHMS)? {
            None => AlgorithmSet::ALL,
            Some(v) => parse_algorithms(&v)?,
        };
        let jwks_cache_seconds = get(var::JWKS_CACHE_SECONDS)?
            .map(|v| parse_seconds(var::JWKS_CACHE_SECONDS, &v, 0..=86_400))
            .transpose()?;
        let allowed_origins = match get(var::ALLOWED_ORIGINS)? {
            None => AllowedOrigins::Defaults,
            Some(v) => {
                AllowedOrigins::parse(&v).ok_or(ConfigError::InvalidValue(var::ALLOWED_ORIGINS))?
            }
        };

        Ok(Self {
            issuer,
            jwks_uri,
            inline_keys,
            audiences,
            resource,
            required_scopes,
            leeway_seconds,
            algorithms,
            jwks_cache_seconds,
            allowed_origins,
        })
    }
}

/// The canonical form of a resource URL (MCP authorization, "Canonical Server
/// URI"): a URL without a path has none, not even `/`.
pub fn canonical_resource(resource: &Url) -> &str {
    let url = resource.as_str();
    if resource.path() == "/" && resource.query().is_none() {
        &url[..url.len() - 1]
    } else {
        url
    }
}

/// The `aud` values that name `resource`: its canonical form, and for a URL
/// without a path also the form with `/`, which URL libraries produce
/// (`new URL(...).href`): the two name the same resource (RFC 3986 §6.2.3).
fn resource_audiences(resource: &Url) -> Vec<String> {
    let canonical = canonical_resource(resource);
    let mut audiences = vec![canonical.to_owned()];
    if canonical != resource.as_str() {
        audiences.push(resource.as_str().to_owned());
    }
    audiences
}

/// Splits on `separator` (and white space), dropping empty items and duplicates.
fn list(value: Option<String>, separator: char) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in value
        .iter()
        .flat_map(|v| v.split(|c: char| c == separator || c.is_whitespace()))
        .filter(|i| !i.is_empty())
    {
        if !items.iter().any(|i| i == item) {
            items.push(item.to_owned());
        }
    }
    items
}

fn parse_seconds(
    name: &'static str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or(ConfigError::InvalidValue(name))
}

/// `RS256 ES256` or `RS256,ES256`: every name must be a supported algorithm.
fn parse_algorithms(value: &str) -> Result<AlgorithmSet, ConfigError> {
    let names = list(Some(value.to_owned()), ',');
    let mut set = AlgorithmSet::EMPTY;
    for name in &names {
        let alg = Algorithm::from_name(name).ok_or(ConfigError::InvalidValue(var::ALGORITHMS))?;
        set = set.with(alg);
    }
    if set.is_empty() {
        return Err(ConfigError::InvalidValue(var::ALGORITHMS));
    }
    Ok(set)
}

/// An authorization-server URL: absolute, http(s), https unless loopback, no fragment.
pub fn parse_endpoint(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = parse_ascii_url(value).ok_or(ConfigError::InvalidUrl(name))?;
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
    let url = parse_ascii_url(value).ok_or(ConfigError::InvalidUrl(name))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() || url.fragment().is_some()
    {
        return Err(ConfigError::InvalidUrl(name));
    }
    Ok(url)
}

/// URLs are ASCII here (non-ASCII hosts in their `xn--` form): the pinned IDNA back
/// end (`idna_adapter` 1.0) handles ASCII only, and debug-asserts on an upper-case
/// letter in a label that also has non-ASCII ones (`http://Xü`, found by fuzzing).
/// Percent-escapes in the host are refused too: they decode to the same labels
/// (`http://X%C3%BC`).
fn parse_ascii_url(value: &str) -> Option<Url> {
    let after_scheme = value.split_once(':').map_or(value, |(_, rest)| rest);
    // The URL parser reads `\` as `/` and drops tabs and newlines: such URLs are
    // refused rather than second-guessed.
    let after_slashes = after_scheme.trim_start_matches(['/', '\\']);
    let authority = after_slashes
        .split(['/', '\\', '?', '#'])
        .next()
        .unwrap_or("");
    if !value.is_ascii()
        || value.bytes().any(|b| b.is_ascii_control() || b == b' ')
        || authority.contains('%')
    {
        return None;
    }
    // Host names are case-insensitive and the parser lower-cases them anyway; doing
    // it first keeps upper-case letters off the IDNA path (`xn--` labels).
    if authority.bytes().any(|b| b.is_ascii_uppercase()) {
        let start = value.len() - after_slashes.len();
        let end = start + authority.len();
        let lowered = format!(
            "{}{}{}",
            &value[..start],
            authority.to_ascii_lowercase(),
            &value[end..]
        );
        return Url::parse(&lowered).ok();
    }
    Url::parse(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// With `authkit_resource` set unless the test sets what the audience is.
    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<&str, &str> = vars.iter().copied().collect();
        if ![
            var::AUDIENCE,
            var::RESOURCE,
            var::DANGEROUSLY_ACCEPT_ANY_AUDIENCE,
        ]
        .iter()
        .any(|v| map.contains_key(v))
        {
            map.insert(var::RESOURCE, "https://mcp.example.com/mcp");
        }
        bare_config(&map)
    }

    fn bare_config(map: &HashMap<&str, &str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| Ok(map.get(name).map(|v| v.to_string())))
    }

    #[test]
    fn audience_defaults_to_the_canonical_resource() {
        let issuer = (var::ISSUER, "https://acme.authkit.app");
        let cfg = config(&[issuer, (var::RESOURCE, "https://mcp.example.com/mcp")]).unwrap();
        assert_eq!(cfg.audiences, ["https://mcp.example.com/mcp"]);
        // Without a path: canonical without `/`, and the `/` spelling accepted too.
        let cfg = config(&[issuer, (var::RESOURCE, "https://mcp.example.com")]).unwrap();
        assert_eq!(
            cfg.audiences,
            ["https://mcp.example.com", "https://mcp.example.com/"]
        );
        let cfg = config(&[issuer, (var::RESOURCE, "https://MCP.example.com/")]).unwrap();
        assert_eq!(
            cfg.audiences,
            ["https://mcp.example.com", "https://mcp.example.com/"]
        );
        assert_eq!(
            canonical_resource(cfg.resource.as_ref().unwrap()),
            "https://mcp.example.com"
        );
        // An explicit audience wins.
        let cfg = config(&[
            issuer,
            (var::RESOURCE, "https://mcp.example.com/mcp"),
            (var::AUDIENCE, "client_123"),
        ])
        .unwrap();
        assert_eq!(cfg.audiences, ["client_123"]);
    }

    #[test]
    fn no_audience_check_only_when_dangerously_asked_for() {
        let issuer = (var::ISSUER, "https://acme.authkit.app");
        let map = HashMap::from([issuer]);
        assert_eq!(bare_config(&map), Err(ConfigError::Missing(var::RESOURCE)));
        let flag = var::DANGEROUSLY_ACCEPT_ANY_AUDIENCE;
        let cfg = config(&[issuer, (flag, "true")]).unwrap();
        assert!(cfg.audiences.is_empty());
        let cfg = config(&[
            issuer,
            (flag, "true"),
            (var::RESOURCE, "https://m.example/mcp"),
        ])
        .unwrap();
        assert!(cfg.audiences.is_empty());
        assert_eq!(
            config(&[issuer, (flag, "false")]),
            Err(ConfigError::Missing(var::RESOURCE))
        );
        for bad in ["yes", "1", "TRUE "] {
            assert_eq!(
                config(&[
                    issuer,
                    (flag, bad),
                    (var::RESOURCE, "https://m.example/mcp")
                ]),
                Err(ConfigError::InvalidValue(flag)),
                "{bad}"
            );
        }
    }

    #[test]
    fn subdomains_of_localhost_are_not_loopback() {
        for url in [
            "http://evil.localhost:4000",
            "http://localhost.evil.example",
        ] {
            assert!(!is_loopback(&Url::parse(url).unwrap()), "{url}");
            assert_eq!(
                config(&[(var::ISSUER, url)]),
                Err(ConfigError::InsecureUrl(var::ISSUER)),
                "{url}"
            );
        }
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
        let cfg = config(&[
            (var::ISSUER, "https://acme.authkit.app"),
            (var::AUDIENCE, "https://mcp.example.com/mcp"),
        ])
        .unwrap();
        assert_eq!(cfg.issuer, "https://acme.authkit.app");
        assert_eq!(cfg.jwks_uri, None);
        assert_eq!(cfg.audiences, ["https://mcp.example.com/mcp"]);
        assert_eq!(cfg.resource, None);
    }

    #[test]
    fn empty_optional_variables_count_as_unset() {
        let cfg = config(&[
            (var::ISSUER, "https://acme.authkit.app"),
            (var::JWKS_URI, ""),
            (var::AUDIENCE, ""),
            (var::RESOURCE, ""),
            (var::DANGEROUSLY_ACCEPT_ANY_AUDIENCE, ""),
        ]);
        // Empty audience and resource: nothing to check `aud` against.
        assert_eq!(cfg, Err(ConfigError::Missing(var::RESOURCE)));
        let cfg = config(&[
            (var::ISSUER, "https://acme.authkit.app"),
            (var::JWKS_URI, ""),
            (var::AUDIENCE, ""),
            (var::RESOURCE, "https://mcp.example.com/mcp"),
        ])
        .unwrap();
        assert_eq!(cfg.jwks_uri, None);
        assert_eq!(cfg.audiences, ["https://mcp.example.com/mcp"]);
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
            // Non-ASCII hosts (the pinned IDNA back end is ASCII-only; this one
            // debug-asserted inside it): refused, not a panic.
            (var::ISSUER, "http:X\u{fc}"),
            (var::ISSUER, "https://b\u{fc}cher.example"),
            (var::JWKS_URI, "https://Keys.b\u{fc}cher.example/jwks"),
            (var::RESOURCE, "https://MCP.\u{fc}.example/mcp"),
            (var::ISSUER, "https://X%C3%BC.example"),
            (var::ISSUER, "hTtp:\\/P%F2\rl.xy"),
            (var::ISSUER, "https://acme .authkit.app"),
            (var::JWKS_URI, "http:X%C3%BC"),
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
    fn lists_numbers_and_algorithms() {
        let cfg = config(&[
            (var::ISSUER, "https://acme.authkit.app"),
            (
                var::AUDIENCE,
                "https://a.example/mcp, https://b.example/mcp,,https://a.example/mcp",
            ),
            (var::REQUIRED_SCOPES, "  mcp:read   mcp:write "),
            (var::LEEWAY_SECONDS, "30"),
            (var::ALGORITHMS, "RS256, ES256"),
            (var::JWKS_CACHE_SECONDS, "300"),
        ])
        .unwrap();
        assert_eq!(
            cfg.audiences,
            ["https://a.example/mcp", "https://b.example/mcp"]
        );
        assert_eq!(cfg.required_scopes, ["mcp:read", "mcp:write"]);
        assert_eq!(cfg.leeway_seconds, 30);
        assert!(
            cfg.algorithms.contains(Algorithm::RS256) && cfg.algorithms.contains(Algorithm::ES256)
        );
        assert!(!cfg.algorithms.contains(Algorithm::PS256));
        assert_eq!(cfg.jwks_cache_seconds, Some(300));

        let defaults = config(&[(var::ISSUER, "https://acme.authkit.app")]).unwrap();
        assert_eq!(defaults.leeway_seconds, LEEWAY_SECONDS);
        assert_eq!(defaults.algorithms, AlgorithmSet::ALL);
        assert!(defaults.required_scopes.is_empty() && defaults.inline_keys.is_none());
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (name, value) in [
            (var::LEEWAY_SECONDS, "-1"),
            (var::LEEWAY_SECONDS, "3600"),
            (var::LEEWAY_SECONDS, "1m"),
            (var::ALGORITHMS, "HS256"),
            (var::ALGORITHMS, "none"),
            (var::ALGORITHMS, ", ,"),
            (var::JWKS_CACHE_SECONDS, "forever"),
            (var::JWKS, "{\"keys\": []}"),
            (var::JWKS, "not json"),
        ] {
            let err =
                config(&[(var::ISSUER, "https://acme.authkit.app"), (name, value)]).unwrap_err();
            assert_eq!(err, ConfigError::InvalidValue(name), "{name}={value}");
        }
    }

    #[test]
    fn lookup_failure_is_reported() {
        let err = Config::from_lookup(|_| Err(())).unwrap_err();
        assert_eq!(err, ConfigError::Unreadable(var::ISSUER));
    }
}
