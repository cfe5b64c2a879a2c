//! `Authorization` header values through `gate::decide` (bearer extraction, token
//! parsing, key lookup, verification, the challenge). Input: the header values,
//! separated by `\n` (empty input: no header). Asserts: no panic; the request is
//! forwarded only for exactly one `Bearer` value whose token carries a committed
//! token's signing input; keys are fetched at most once, and never for a token
//! refused by `token::parse`; every refusal is 400/401/403 with a Bearer challenge
//! that does not echo the token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmcp_spin_authkit::config::Config;
use wasmcp_spin_authkit::gate::{self, Decision, KeySource, KeysUnavailable, RequestParts};
use wasmcp_spin_authkit::jwks::KeySet;
use wasmcp_spin_authkit::token;
use wasmcp_spin_authkit_fuzz as fx;

struct Keys {
    calls: usize,
}

impl KeySource for Keys {
    fn keys(&mut self, _: &Config) -> Result<KeySet, KeysUnavailable> {
        self.calls += 1;
        Ok(fx::key_set().clone())
    }
}

/// The token as RFC 6750 §2.1 frames it, found independently of `gate`.
fn bearer(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?.trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_start_matches([' ', '\t']))
}

fuzz_target!(|data: &[u8]| {
    let values: Vec<Vec<u8>> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
    };
    let req = RequestParts {
        method: "POST",
        scheme: "http",
        forwarded_proto: None,
        authority: "127.0.0.1:3000",
        path_with_query: "/mcp",
        authorization: &values,
        cors_preflight: false,
        origin: &[],
    };
    let config = fx::config();
    let mut keys = Keys { calls: 0 };
    let decision = gate::decide(&req, &config, &mut keys, fx::NOW);
    assert!(keys.calls <= 1);

    let token = match values.as_slice() {
        [value] => bearer(value),
        _ => None,
    };
    let parses = token.is_some_and(|t| token::parse(t, &fx::policy()).is_ok());
    if !parses {
        assert_eq!(
            keys.calls, 0,
            "keys fetched for a token that does not parse"
        );
    }
    match decision {
        Decision::Forward => {
            let token = token.expect("forwarded without one Bearer value");
            let verified = token::verify(token, fx::key_set(), &fx::policy(), fx::NOW)
                .expect("forwarded a token that does not verify");
            fx::assert_only_fixtures_accepted(token, &verified);
        }
        Decision::Respond(reply) => {
            assert!(matches!(reply.status, 400 | 401 | 403), "{}", reply.status);
            let challenge = reply.header("www-authenticate").expect("challenge");
            assert!(challenge.starts_with("Bearer "), "{challenge}");
            // A long b64token (RFC 6750 §2.1 characters: no quotes, commas or spaces)
            // cannot be a fragment of the fixed descriptions and URLs; other strings
            // can be built from the reply's own text (a finding of this harness).
            let b64token = |t: &&str| {
                t.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
                })
            };
            if let Some(t) = token.filter(|t| t.len() >= 48).filter(b64token) {
                let body = String::from_utf8_lossy(&reply.body);
                assert!(!body.contains(t), "token echoed in body");
                for (_, v) in &reply.headers {
                    assert!(!v.contains(t), "token echoed in a header");
                }
            }
        }
    }
});
