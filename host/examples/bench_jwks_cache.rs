//! Benchmark (not a test): latency of an authenticated MCP request through the
//! composed server with a warm JWKS cache versus a cold one (the key-value store
//! cleared before each request, i.e. what every request costs without the cache).
//!
//!   make bench-cache
//!   # = cargo run --profile host -p authkit-host --example bench_jwks_cache -- build/server-mcp.wasm
//!
//! The JWKS is served on loopback by this process, optionally with an added delay
//! standing in for the network distance to a real provider.

#[path = "../tests/authkit/mod.rs"]
mod authkit;

use std::time::{Duration, Instant};

use authkit::client::post_json;
use authkit::idp::{self, keys, Canned, Idp, AUDIENCE};
use authkit_host::{Host, HostConfig};
use jwt_simple::prelude::*;

const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}"#;

fn main() {
    let wasm = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "build/server-mcp.wasm".into());
    let host = Host::load(&wasm).expect("load the composed server");
    println!("composed server: {wasm}");
    println!(
        "{:<28} {:>6} {:>10} {:>10} {:>10}",
        "case", "n", "p50 ms", "p90 ms", "mean ms"
    );

    for delay_ms in [0u64, 20] {
        let idp = Idp::start();
        idp.route(
            "/jwks",
            Canned {
                delay: Duration::from_millis(delay_ms),
                ..Canned::json(&idp::jwks())
            },
        );
        let config = HostConfig::default()
            .with_variable("authkit_issuer", idp.issuer())
            .with_variable("authkit_jwks_uri", idp.url("/jwks"))
            .with_variable("authkit_audience", AUDIENCE);
        let server = host.serve(config, authkit::loopback()).unwrap();
        let token = keys().rsa.sign(idp::claims(&idp.issuer())).unwrap();
        let request = || {
            let started = Instant::now();
            let r = post_json(server.addr(), "/mcp", Some(&token), CALL);
            assert_eq!(r.status, 200, "{}", r.text());
            started.elapsed()
        };

        request(); // warm-up: fills the cache
        let warm: Vec<Duration> = (0..300).map(|_| request()).collect();
        let cold: Vec<Duration> = (0..100)
            .map(|_| {
                server.key_value().clear();
                request()
            })
            .collect();
        let w = report(&format!("warm cache (JWKS +{delay_ms} ms)"), warm);
        let c = report(&format!("cold cache (JWKS +{delay_ms} ms)"), cold);
        println!(
            "  cold/warm p50 ratio: {:.2}  (JWKS fetches: {})",
            c / w,
            idp.hits("/jwks")
        );
    }
}

/// Prints a row and returns the p50 in ms.
fn report(name: &str, mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(samples[((samples.len() - 1) as f64 * q) as usize]);
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64;
    println!(
        "{name:<28} {:>6} {:>10.3} {:>10.3} {:>10.3}",
        samples.len(),
        p(0.5),
        p(0.9),
        mean
    );
    p(0.5)
}
