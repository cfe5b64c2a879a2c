//! Authorization server metadata documents through `discovery::jwks_uri` and
//! `discovery::discover`, for a fuzzer-chosen issuer. Input: the issuer on
//! the first line, the document after it. Asserts: no panic; a `jwks_uri` is only
//! taken from a document whose `issuer` is exactly the configured one, and is an
//! https (or loopback http) URL without fragment or credentials; discovery
//! succeeds exactly when that document is acceptable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use url::Url;
use wasmcp_spin_authkit::cache::{Fetched, Fetcher};
use wasmcp_spin_authkit::origin;
use wasmcp_spin_authkit::discovery;

/// Serves the same document at every URL.
struct Everywhere<'a>(&'a [u8], usize);

impl Fetcher for Everywhere<'_> {
    fn fetch(&mut self, _: &Url) -> Result<Fetched, String> {
        self.1 += 1;
        Ok(Fetched {
            body: self.0.to_vec(),
            max_age: None,
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let (issuer, document) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(issuer) = std::str::from_utf8(issuer) else {
        return;
    };
    // Known, debug builds only: idna 1.1 with the ASCII-only idna_adapter 1.0 (the
    // size pin) debug-asserts on some punycode (`xn--`) labels (uts46.rs is_bidi).
    // Release builds, the shipped component included, compile the assertion out and
    // refuse or accept the label (docs/SECURITY.md, Fuzzing).
    if data.windows(4).any(|w| w.eq_ignore_ascii_case(b"xn--")) {
        return;
    }
    let result = discovery::jwks_uri(document, issuer);
    if let Ok(url) = &result {
        // serde_json skips ignored members without checking their UTF-8: compare
        // against a lossy reading (the members that matter are valid).
        let doc: Value =
            serde_json::from_str(&String::from_utf8_lossy(document)).expect("accepted: JSON");
        assert_eq!(
            doc["issuer"].as_str(),
            Some(issuer),
            "issuer mismatch accepted"
        );
        assert!(url.scheme() == "https" || origin::is_loopback(url), "{url}");
        assert!(url.fragment().is_none() && url.username().is_empty() && url.password().is_none());
    }

    // The configured issuer is ASCII (`config::parse_endpoint`); discovery only
    // ever sees such an issuer.
    if !issuer.is_ascii() {
        return;
    }
    let urls = discovery::metadata_urls(issuer);
    let candidates = discovery::metadata_candidates(issuer);
    let parseable = urls.iter().filter(|u| Url::parse(u).is_ok()).count();
    let first_parses = urls.first().is_some_and(|u| Url::parse(u).is_ok());
    assert_eq!(candidates.len(), if first_parses { parseable } else { 0 });
    let mut fetcher = Everywhere(document, 0);
    let found = discovery::discover(&mut fetcher, &candidates, issuer);
    assert_eq!(found.is_ok(), result.is_ok() && !candidates.is_empty());
    match &found {
        Ok((metadata, fetched)) => {
            assert_eq!(fetcher.1, 1);
            assert_eq!(metadata.document, fetched.body);
            assert_eq!(Ok(&metadata.jwks_uri), result.as_ref());
        }
        Err(_) => assert_eq!(fetcher.1, candidates.len()),
    }
});
