//! Outgoing `wasi:http` requests, filtered like Spin's `allowed_outbound_hosts`.
//!
//! Patterns are `scheme://host[:port]`:
//! - scheme: `http`, `https` or `*`;
//! - host: an exact name or IP (`127.0.0.1` and `localhost` are different
//!   hosts, as in Spin), `*` for any host, or `*.example.com` for any
//!   subdomain of `example.com` (not `example.com` itself);
//! - port: a number, `*` for any port, or omitted for the scheme's default
//!   (https: 443, http: 80).
//!
//! `*` alone allows everything, as does `*://*:*`. A denied request fails with
//! `error-code.HTTP-request-denied`, as in Spin.

use std::future::Future;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use http::Uri;
use http_body_util::BodyExt;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemePattern {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`, stored as `.example.com`.
    Subdomain(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// The default port of the request's scheme.
    Default,
    Exact(u16),
}

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AllowedHost {
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHost {
    pub(crate) fn parse(pattern: &str) -> anyhow::Result<Self> {
        let p = pattern.trim();
        if p == "*" {
            return Ok(Self {
                scheme: SchemePattern::Any,
                host: HostPattern::Any,
                port: PortPattern::Any,
            });
        }
        let (scheme, rest) = p.split_once("://").with_context(|| {
            format!("allowed outbound host `{pattern}` has no scheme (write e.g. `https://{p}`)")
        })?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "*" => SchemePattern::Any,
            s @ ("http" | "https") => SchemePattern::Exact(s.to_string()),
            s => bail!("allowed outbound host `{pattern}`: unsupported scheme `{s}`"),
        };
        // A bare trailing slash is harmless; any other path is a mistake.
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('/') {
            bail!("allowed outbound host `{pattern}` must not contain a path");
        }
        // Split off the port, minding bracketed IPv6 literals (`[::1]:8080`).
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                (&authority[..i], Some(&authority[i + 1..]))
            }
            _ => (authority, None),
        };
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(n) => PortPattern::Exact(n.parse().with_context(|| {
                format!("allowed outbound host `{pattern}`: invalid port `{n}`")
            })?),
        };
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(domain) = host.strip_prefix("*.") {
            HostPattern::Subdomain(format!(".{domain}"))
        } else if host.is_empty() || host.contains('*') || host.contains('{') {
            bail!("allowed outbound host `{pattern}`: unsupported host pattern `{host}`");
        } else {
            HostPattern::Exact(host)
        };
        Ok(Self { scheme, host, port })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = match &self.scheme {
            SchemePattern::Any => true,
            SchemePattern::Exact(s) => s == scheme,
        };
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Subdomain(suffix) => host.ends_with(suffix.as_str()),
            HostPattern::Exact(h) => h == host,
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Default => default_port(scheme) == Some(port),
            PortPattern::Exact(p) => p == port,
        };
        scheme_ok && host_ok && port_ok
    }
}

/// Which outgoing requests a server lets its component make.
#[derive(Clone, Debug)]
pub(crate) struct OutboundPolicy {
    /// `None`: no allow-list was given, everything is allowed.
    allowed: Option<Arc<[AllowedHost]>>,
}

impl OutboundPolicy {
    pub(crate) fn new(patterns: Option<&[String]>) -> anyhow::Result<Self> {
        let allowed = match patterns {
            None => None,
            Some(ps) => Some(
                ps.iter()
                    .map(|p| AllowedHost::parse(p))
                    .collect::<anyhow::Result<Vec<_>>>()?
                    .into(),
            ),
        };
        Ok(Self { allowed })
    }

    pub(crate) fn allows(&self, uri: &Uri) -> bool {
        let Some(allowed) = &self.allowed else {
            return true;
        };
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        let Some(port) = uri.port_u16().or_else(|| default_port(&scheme)) else {
            return false;
        };
        allowed.iter().any(|a| a.allows(&scheme, &host, port))
    }
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        if !self.allows(request.uri()) {
            eprintln!(
                "outbound request to {} denied: not in allowed outbound hosts",
                request.uri()
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        // What the trait's default does: hand the request to wasmtime's client.
        Box::new(async move {
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(patterns: &[&str]) -> OutboundPolicy {
        let ps: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        OutboundPolicy::new(Some(&ps)).unwrap()
    }

    fn allows(p: &OutboundPolicy, url: &str) -> bool {
        p.allows(&url.parse().unwrap())
    }

    #[test]
    fn no_list_allows_everything() {
        let p = OutboundPolicy::new(None).unwrap();
        assert!(allows(&p, "https://example.com/x"));
        assert!(allows(&p, "http://127.0.0.1:9/"));
    }

    #[test]
    fn empty_list_denies_everything() {
        let p = policy(&[]);
        assert!(!allows(&p, "https://example.com/"));
    }

    #[test]
    fn wildcards_allow_everything() {
        for pat in ["*", "*://*:*"] {
            let p = policy(&[pat]);
            assert!(allows(&p, "https://example.com/"), "{pat}");
            assert!(allows(&p, "http://127.0.0.1:4001/"), "{pat}");
        }
    }

    #[test]
    fn subdomains() {
        let p = policy(&["https://*.authkit.app"]);
        assert!(allows(&p, "https://tenant.authkit.app/oauth2/jwks"));
        assert!(allows(&p, "https://a.b.authkit.app/"));
        assert!(allows(&p, "https://tenant.authkit.app:443/"));
        assert!(!allows(&p, "https://authkit.app/"));
        assert!(!allows(&p, "https://evilauthkit.app/"));
        assert!(!allows(&p, "http://tenant.authkit.app/"));
        assert!(!allows(&p, "https://tenant.authkit.app:8443/"));
    }

    #[test]
    fn ports() {
        let exact = policy(&["http://127.0.0.1:4001"]);
        assert!(allows(&exact, "http://127.0.0.1:4001/x"));
        assert!(!allows(&exact, "http://127.0.0.1:4002/x"));
        assert!(!allows(&exact, "http://localhost:4001/x"));
        let any = policy(&["http://127.0.0.1:*"]);
        assert!(allows(&any, "http://127.0.0.1:1/"));
        assert!(allows(&any, "http://127.0.0.1/"));
        assert!(!allows(&any, "https://127.0.0.1:1/"));
        let default = policy(&["http://example.com"]);
        assert!(allows(&default, "http://example.com/"));
        assert!(allows(&default, "http://example.com:80/"));
        assert!(!allows(&default, "http://example.com:8080/"));
        let any_scheme = policy(&["*://example.com"]);
        assert!(allows(&any_scheme, "http://example.com/"));
        assert!(allows(&any_scheme, "https://example.com/"));
        assert!(!allows(&any_scheme, "https://example.com:80/"));
    }

    #[test]
    fn case_insensitive_hosts_and_ipv6() {
        let p = policy(&["https://Example.COM", "http://[::1]:8080"]);
        assert!(allows(&p, "https://example.com/"));
        assert!(allows(&p, "https://EXAMPLE.com/"));
        assert!(allows(&p, "http://[::1]:8080/"));
        assert!(!allows(&p, "http://[::1]:8081/"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://example.com/path",
            "https://ex*ample.com",
            "https://example.com:port",
            "https://{{ host }}",
        ] {
            let ps = vec![bad.to_string()];
            assert!(OutboundPolicy::new(Some(&ps)).is_err(), "{bad}");
        }
    }
}
