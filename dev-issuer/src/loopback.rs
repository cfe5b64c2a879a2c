//! Who may talk to the development issuer: requests addressed to a loopback
//! host (`Host`), which defeats DNS rebinding, and browsers on loopback origins
//! only (`Origin`), which keeps the web pages a developer visits from
//! registering clients and minting tokens.
//!
//! A loopback host is `localhost` (exactly, in any ASCII case; not
//! `*.localhost`), an IPv4 address in 127.0.0.0/8 written in dotted decimal, or
//! the IPv6 literal `[::1]`; any port. Nothing else (no trailing dot, userinfo,
//! path, unbracketed IPv6 or zone) is accepted.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `host[:port]` (a `Host` header, or the authority of an absolute-form request
/// target) names a loopback host.
pub(crate) fn is_loopback_authority(authority: &str) -> bool {
    let (host, port) = match authority.rfind(':') {
        // The colons of an IPv6 literal are inside its brackets.
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let port_ok = port.is_none_or(|p| {
        (1..=5).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok()
    });
    port_ok && is_loopback_host(host)
}

/// `scheme://host[:port]` (an `Origin` header) with scheme `http` or `https` and
/// a loopback host. `null` and anything else that is not exactly an origin are not.
pub(crate) fn is_loopback_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && is_loopback_authority(authority)
}

fn is_loopback_host(host: &str) -> bool {
    if let Some(ip) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return ip.parse::<Ipv6Addr>() == Ok(Ipv6Addr::LOCALHOST);
    }
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.octets()[0] == 127)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LocalHost",
            "localhost:3001",
            "127.0.0.1",
            "127.0.0.1:3001",
            "127.1.2.3:80",
            "127.255.255.255",
            "[::1]",
            "[::1]:3001",
            "[0:0:0:0:0:0:0:1]:1",
            "localhost:65535",
        ] {
            assert!(is_loopback_authority(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:3001",
            "evil.localhost",
            "evil.localhost:3001",
            "localhost.",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "127.0.0.1.nip.io",
            "localhostx",
            "128.0.0.1",
            "10.0.0.1",
            "0.0.0.0",
            "127.1",
            "2130706433",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "127.000.000.001",
            "::1",
            "[::]",
            "[::2]",
            "[::ffff:127.0.0.1]",
            "[::1%25lo]",
            "[::1]x",
            "[::1]:",
            "localhost:",
            "localhost:65536",
            "localhost:+80",
            "localhost:123456",
            "localhost:80:80",
            "user@localhost",
            "localhost/x",
            " localhost",
        ] {
            assert!(!is_loopback_authority(host), "{host}");
        }
    }

    #[test]
    fn loopback_origins() {
        for origin in [
            "http://localhost:6274",
            "http://localhost",
            "https://localhost:8443",
            "HTTP://LOCALHOST:6274",
            "http://127.0.0.1:6274",
            "http://127.9.9.9",
            "http://[::1]:6274",
        ] {
            assert!(is_loopback_origin(origin), "{origin}");
        }
        for origin in [
            "null",
            "",
            "localhost:6274",
            "//localhost:6274",
            "https://evil.example",
            "http://evil.localhost:8080",
            "http://localhost.evil.example",
            "http://localhost:6274/",
            "http://localhost:6274/path",
            "http://user@localhost:6274",
            "file://localhost",
            "ws://localhost:6274",
            "chrome-extension://localhost",
            "http://0.0.0.0:6274",
            "http://[::]:6274",
            "http://localhost:6274 http://evil.example",
        ] {
            assert!(!is_loopback_origin(origin), "{origin}");
        }
    }
}
