//! Where the keys come from: `authkit_jwks_uri`, or the issuer's metadata.
//!
//! This is the seam for a cross-request cache (Spin instantiates per request, so
//! it must live in wasi:keyvalue, not in memory).

use url::Url;

use super::fetch;
use crate::config::Config;
use crate::discovery;
use crate::gate::{KeySource, KeysUnavailable};
use crate::jwks::KeySet;

/// Fetches over wasi:http on every call.
pub struct RemoteKeys;

impl KeySource for RemoteKeys {
    fn keys(&mut self, config: &Config) -> Result<KeySet, KeysUnavailable> {
        let result = jwks_uri(config).and_then(|uri| {
            let document = fetch::get_json(&uri).map_err(|e| format!("JWKS {uri}: {e}"))?;
            KeySet::parse(&document).map_err(|e| format!("JWKS {uri}: {e}"))
        });
        result.map_err(|detail| {
            eprintln!("authkit: signing keys unavailable: {detail}");
            KeysUnavailable { detail }
        })
    }
}

fn jwks_uri(config: &Config) -> Result<Url, String> {
    if let Some(uri) = &config.jwks_uri {
        return Ok(uri.clone());
    }
    let mut failures = Vec::new();
    for candidate in discovery::metadata_urls(&config.issuer) {
        let Ok(url) = Url::parse(&candidate) else {
            continue;
        };
        match fetch::get_json(&url) {
            Ok(document) => match discovery::jwks_uri(&document, &config.issuer) {
                Ok(uri) => return Ok(uri),
                Err(e) => failures.push(format!("{candidate}: {e:?}")),
            },
            Err(e) => failures.push(format!("{candidate}: {e}")),
        }
    }
    Err(format!("discovery failed ({})", failures.join("; ")))
}
