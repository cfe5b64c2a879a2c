//! Benchmark loop (not a test): the core's token verification, timed from inside
//! the program, so that the same loop can run natively and as a wasm32-wasip2
//! command under wasmtime (`make bench-verify`; driven by
//! host/examples/bench_verify_wasm.rs).
//!
//!   verify_loop [seconds per algorithm] < fixture.json
//!
//! The fixture (written by the driver) holds a JWKS, the issuer, the audience and
//! one valid token per algorithm: {"issuer", "audience", "jwks", "tokens": [[alg, token]]}.
//! Prints one line per algorithm: `verify <alg> <ns per verification> <iterations>`.

use std::hint::black_box;
use std::io::Read as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmcp_spin_authkit::jwks::{AlgorithmSet, KeySet};
use wasmcp_spin_authkit::token::{self, Policy};

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(seconds);
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .expect("read the fixture from stdin");
    let fixture: serde_json::Value = serde_json::from_str(&input).expect("fixture is JSON");
    let text = |v: &serde_json::Value| v.as_str().expect("a string").to_owned();

    let keys = KeySet::parse(fixture["jwks"].to_string().as_bytes()).expect("JWKS parses");
    let policy = Policy {
        issuer: text(&fixture["issuer"]),
        audiences: vec![text(&fixture["audience"])],
        leeway_seconds: 60,
        max_token_bytes: 16 * 1024,
        algorithms: AlgorithmSet::ALL,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();

    for pair in fixture["tokens"].as_array().expect("tokens") {
        let alg = text(&pair[0]);
        let jwt = text(&pair[1]);
        // Warm-up, and a check that the token is accepted (a failure would be cheap).
        token::verify(&jwt, &keys, &policy, now).expect("the fixture token verifies");
        let started = Instant::now();
        let mut iterations = 0u64;
        while iterations < 10 || started.elapsed() < budget {
            for _ in 0..10 {
                let verified = token::verify(black_box(&jwt), &keys, &policy, now);
                black_box(verified.is_ok());
            }
            iterations += 10;
        }
        let ns = started.elapsed().as_nanos() as f64 / iterations as f64;
        println!("verify {alg} {ns:.0} {iterations}");
    }
}
