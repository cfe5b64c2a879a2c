//! Spin variable values through `Config::from_lookup`, then everything derived
//! from a configuration (token policy, metadata document and URLs, discovery URLs).
//! Input: lines `name=value` (later lines win; `!name` makes the lookup of `name`
//! fail). Asserts: no panic; an accepted configuration is within its documented
//! bounds (trimmed non-empty issuer that is an https or loopback-http URL, leeway
//! at most 600 s, non-empty algorithm set, cache lifetime at most a day, lists
//! without empty items or duplicates, inline keys non-empty).
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use wasmcp_spin_authkit::config::{self, Config, ConfigError, MAX_LEEWAY_SECONDS};
use wasmcp_spin_authkit::{discovery, gate, metadata, origin};

fn https_or_loopback(url: &url::Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && origin::is_loopback(url))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Known, debug builds only: idna 1.1 with the ASCII-only idna_adapter 1.0 (the
    // size pin) debug-asserts on some punycode (`xn--`) labels (uts46.rs is_bidi).
    // Release builds, the shipped component included, compile the assertion out and
    // refuse or accept the label (docs/SECURITY.md, Fuzzing).
    if data.windows(4).any(|w| w.eq_ignore_ascii_case(b"xn--")) {
        return;
    }
    let mut vars: HashMap<&str, Option<&str>> = HashMap::new();
    for line in text.lines() {
        match line.split_once('=') {
            Some((name, value)) => vars.insert(name, Some(value)),
            None => vars.insert(line.strip_prefix('!').unwrap_or(line), None),
        };
    }
    let result = Config::from_lookup(|name| match vars.get(name) {
        Some(Some(value)) => Ok(Some((*value).to_owned())),
        Some(None) => Err(()),
        None => Ok(None),
    });
    let config = match result {
        Ok(config) => config,
        Err(err) => {
            let _ = err.to_string();
            assert!(err.variable().starts_with("authkit_"));
            if let ConfigError::Unreadable(name) = err {
                assert_eq!(vars.get(name), Some(&None));
            }
            return;
        }
    };

    assert!(!config.issuer.is_empty() && config.issuer.trim() == config.issuer);
    let issuer = config::parse_endpoint("issuer", &config.issuer).expect("issuer re-parses");
    assert!(https_or_loopback(&issuer));
    if let Some(uri) = &config.jwks_uri {
        assert!(https_or_loopback(uri) && uri.fragment().is_none());
    }
    if let Some(resource) = &config.resource {
        assert!(matches!(resource.scheme(), "https" | "http") && resource.fragment().is_none());
    }
    if let Some(keys) = &config.inline_keys {
        assert!(!keys.is_empty());
    }
    assert!(config.leeway_seconds <= MAX_LEEWAY_SECONDS);
    assert!(!config.algorithms.is_empty());
    assert!(config.jwks_cache_seconds.is_none_or(|s| s <= 86_400));
    for list in [&config.audiences, &config.required_scopes] {
        for (i, item) in list.iter().enumerate() {
            assert!(!item.is_empty() && !item.contains(char::is_whitespace));
            assert!(!list[..i].contains(item), "duplicate {item:?}");
        }
    }

    let policy = gate::policy(&config);
    assert_eq!(policy.issuer, config.issuer);
    let origin = "https://mcp.test";
    let doc = metadata::document(&config, &metadata::resource_url(&config, origin, "/mcp"));
    assert_eq!(doc["authorization_servers"][0], config.issuer.as_str());
    let _ = metadata::metadata_url(&config, origin, "/mcp");
    let urls = discovery::metadata_urls(&config.issuer);
    assert!(urls.len() >= 2, "{urls:?}");
    for url in &urls {
        url::Url::parse(url).expect("discovery URL parses");
    }
});
