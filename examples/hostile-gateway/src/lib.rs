//! TEST FIXTURE: a wrapped gateway written by an attacker.
//!
//! The middleware trusts what it keeps in the key-value store (cached signing
//! keys, remembered signature checks). This gateway runs inside the same composed
//! component, so on every request it tries to write every key shape the
//! middleware uses, in every stored format it has ever had, into every store
//! label it can open, through every key-value interface Spin offers:
//!
//! - the issuer's JWKS and discovery documents replaced by the attacker's key
//!   set (header `x-hostile-jwks`), fresh and with far-future timestamps;
//! - refresh/attempt records that would stop the middleware from refetching;
//! - remembered signature checks for the attacker's token (header
//!   `x-hostile-token`), against both the forged and the real key set;
//! - garbage and counters under the middleware's prefix.
//!
//! It answers 200 with a JSON report: how many of those writes the store
//! accepted (`reserved_written`), how many reserved keys it could read, and
//! whether its own, ordinary key-value state still works (`own_state`).
//! `host/tests/trust_boundary.rs` then sends a token signed by the attacker's
//! key, which must get 401.

use hmac_sha256::Hash;

/// Store labels tried (Spin grants only what `key_value_stores` lists).
pub const LABELS: &[&str] = &["default", "authkit", "cache", "jwks", "spin"];

/// A key-value write the attack attempts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forgery {
    pub key: String,
    pub value: Vec<u8>,
}

/// Far future, as a NumericDate.
const FAR_FUTURE: u64 = 4_000_000_000;

/// The URLs the middleware may key documents by: the configured JWKS URI and
/// issuer, their normalised spellings, and the discovery documents.
pub fn target_urls(jwks_uri: Option<&str>, issuer: Option<&str>) -> Vec<String> {
    let mut urls = Vec::new();
    let mut push = |url: String| {
        if !urls.contains(&url) {
            urls.push(url);
        }
    };
    for url in [jwks_uri, issuer].into_iter().flatten() {
        push(url.to_owned());
        push(format!("{}/", url.trim_end_matches('/')));
        push(url.trim_end_matches('/').to_owned());
    }
    if let Some(issuer) = issuer {
        let issuer = issuer.trim_end_matches('/');
        push(format!("{issuer}/.well-known/openid-configuration"));
        push(format!("{issuer}/.well-known/oauth-authorization-server"));
        if let Some((origin, path)) = split_origin(issuer) {
            push(format!(
                "{origin}/.well-known/oauth-authorization-server{path}"
            ));
            push(format!("{origin}/.well-known/openid-configuration{path}"));
        }
    }
    urls
}

fn split_origin(url: &str) -> Option<(&str, &str)> {
    let after_scheme = url.find("://")? + 3;
    match url[after_scheme..].find('/') {
        Some(slash) => Some(url.split_at(after_scheme + slash)),
        None => Some((url, "")),
    }
}

/// Every write of the attack, at time `now`.
///
/// `forged_jwks`: the attacker's key set; `token`: the attacker's token;
/// `real_documents`: cached bodies the gateway managed to read (their
/// fingerprints make remembered checks against the real key set).
pub fn forgeries(
    now: u64,
    urls: &[String],
    forged_jwks: &[u8],
    token: Option<&str>,
    real_documents: &[Vec<u8>],
) -> Vec<Forgery> {
    let mut out = Vec::new();
    let mut add = |key: String, value: Vec<u8>| out.push(Forgery { key, value });
    let with_body = |header: String| {
        let mut value = header.into_bytes();
        value.extend_from_slice(forged_jwks);
        value
    };
    for url in urls {
        // v1: `authkit-cache-v1\n<fetched_at> <lifetime> <attempted_at>\n<body>`.
        add(
            format!("authkit/v1/{url}"),
            with_body(format!(
                "authkit-cache-v1\n{now} {FAR_FUTURE} {FAR_FUTURE}\n"
            )),
        );
        // v2 document, fresh now, and from the future with an endless lifetime.
        for fetched_at in [FAR_FUTURE, now] {
            add(
                format!("authkit/v2/doc/{url}"),
                with_body(format!("authkit-doc-v2\n{fetched_at} {FAR_FUTURE}\n")),
            );
        }
        // v2 attempt record: "just fetched", so no refresh would be tried.
        add(
            format!("authkit/v2/attempt/{url}"),
            format!("authkit-attempt-v2\n{FAR_FUTURE} ok\n").into_bytes(),
        );
    }
    if let Some(token) = token {
        let fingerprints = std::iter::once(forged_jwks)
            .chain(real_documents.iter().map(Vec::as_slice))
            .map(Hash::hash);
        for fingerprint in fingerprints {
            for version in ["v1", "v2"] {
                let mut hash = Hash::new();
                hash.update(format!("authkit-verified-{version}\0").as_bytes());
                hash.update(fingerprint);
                hash.update(token.as_bytes());
                let proof = hash.finalize();
                add(
                    format!("authkit/{version}/verified/{:02x}", proof[0]),
                    format!("authkit-verified-{version}\n{} {FAR_FUTURE}\n", hex(&proof))
                        .into_bytes(),
                );
            }
        }
    }
    add("authkit/".to_owned(), vec![0xff, 0x00, 0xfe]);
    add(
        "authkit/v2/garbage".to_owned(),
        b"\0\0\0not a record".to_vec(),
    );
    out
}

/// The documents a cached value holds, whatever its format: the bytes after
/// the header lines (v1/v2 document entries).
pub fn cached_body(value: &[u8]) -> Option<Vec<u8>> {
    let first = value.iter().position(|b| *b == b'\n')?;
    let second = first + 1 + value[first + 1..].iter().position(|b| *b == b'\n')?;
    Some(value[second + 1..].to_vec())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(target_arch = "wasm32")]
mod component;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_cover_both_spellings_and_discovery() {
        let urls = target_urls(Some("http://127.0.0.1:9/jwks"), Some("http://127.0.0.1:9"));
        for url in [
            "http://127.0.0.1:9/jwks",
            "http://127.0.0.1:9/",
            "http://127.0.0.1:9/.well-known/openid-configuration",
            "http://127.0.0.1:9/.well-known/oauth-authorization-server",
        ] {
            assert!(urls.iter().any(|u| u == url), "{url} in {urls:?}");
        }
    }

    #[test]
    fn every_key_is_under_the_middleware_prefix() {
        let urls = target_urls(Some("https://i.test/jwks"), Some("https://i.test/t"));
        let all = forgeries(
            10,
            &urls,
            b"{}",
            Some("a.b.c"),
            &[b"{\"keys\":[]}".to_vec()],
        );
        assert!(all.len() > 20);
        assert!(all.iter().all(|f| f.key.starts_with("authkit/")));
        assert!(all
            .iter()
            .any(|f| f.key.starts_with("authkit/v2/verified/")));
    }

    #[test]
    fn cached_body_skips_both_header_lines() {
        assert_eq!(
            cached_body(b"magic\n1 2\n{\"keys\":[]}").unwrap(),
            b"{\"keys\":[]}"
        );
        assert_eq!(cached_body(b"no newline"), None);
    }
}
