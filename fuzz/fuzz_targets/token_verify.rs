//! Arbitrary bytes as a compact JWS, through `token::parse` and `token::verify_parsed`
//! against the committed key set, policy and time. Asserts: no panic; `verify`
//! agrees with `parse` + `verify_parsed`; `parse` refuses
//! only for shape/header reasons (never key, signature or time ones); anything accepted carries the signing
//! input of a committed token (the fuzzer holds no private key).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmcp_spin_authkit::token::{self, TokenError};
use wasmcp_spin_authkit_fuzz as fx;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let policy = fx::policy();
    let keys = fx::key_set();
    let result = match token::parse(token, &policy) {
        Ok(parsed) => token::verify_parsed(&parsed, keys, &policy, fx::NOW),
        Err(err) => {
            // Refused before any key lookup: never for key, signature or time reasons.
            assert!(
                !matches!(
                    err,
                    TokenError::UnknownKey
                        | TokenError::AlgorithmMismatch
                        | TokenError::UnusableKey
                        | TokenError::BadSignature
                        | TokenError::MissingExpiry
                        | TokenError::Expired
                        | TokenError::NotYetValid
                        | TokenError::WrongIssuer
                        | TokenError::WrongAudience
                ),
                "{err:?}"
            );
            Err(err)
        }
    };
    assert_eq!(result, token::verify(token, keys, &policy, fx::NOW));
    if let Ok(verified) = &result {
        fx::assert_only_fixtures_accepted(token, verified);
    }
});
