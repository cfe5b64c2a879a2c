//! Arbitrary bytes as a JWKS document through `KeySet::parse`, then candidate selection
//! (which decodes and constructs the key) for every algorithm, with no `kid`, each
//! committed `kid` and an unknown one, then verification of the committed tokens.
//! Asserts: no panic; a parsed set is non-empty and holds at most `MAX_KEYS`; a
//! selected key verifies exactly the algorithm asked for; `contains_kid` agrees with
//! selection; a committed token accepted under the fuzzed set yields what it
//! yields under the committed set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmcp_spin_authkit::jwks::{Algorithm, KeySelectionError, KeySet, MAX_KEYS};
use wasmcp_spin_authkit::token;
use wasmcp_spin_authkit_fuzz as fx;

fuzz_target!(|data: &[u8]| {
    let Ok(set) = KeySet::parse(data) else {
        return;
    };
    assert!(!set.is_empty() && set.len() <= MAX_KEYS);
    for alg in Algorithm::ALL {
        for kid in [
            None,
            Some("rsa-1"),
            Some("rsa-2"),
            Some("ec-256"),
            Some("ec-384"),
            Some("ed-1"),
            Some(""),
        ] {
            match set.candidates(alg, kid) {
                Ok(candidates) => {
                    let unmatched = candidates.kid_unmatched();
                    if let Some(kid) = kid {
                        assert_eq!(unmatched, !set.contains_kid(kid));
                    }
                    let mut count = 0;
                    for key in candidates {
                        count += 1;
                        if let Ok(key) = key {
                            assert_eq!(key.algorithm(), alg);
                        }
                    }
                    assert!((1..=set.len()).contains(&count));
                }
                Err(KeySelectionError::UnknownKey) => {}
                Err(KeySelectionError::AlgorithmMismatch) => {
                    assert!(kid.is_some_and(|k| set.contains_kid(k)));
                }
                Err(KeySelectionError::UnusableKey) => {}
            }
        }
    }
    for fixture in fx::tokens() {
        if let Ok(verified) = token::verify(fixture.token, &set, &fx::policy(), fx::NOW) {
            assert_eq!(verified, fixture.verified);
        }
    }
});
