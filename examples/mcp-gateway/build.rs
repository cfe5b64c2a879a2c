//! With `wasi-http-0-2-0`, keep the component's wasi:http imports at 0.2.0.
//!
//! Rust's libstd for wasm32-wasip2 embeds the WIT of wasi 0.2.4 (including the
//! wasi:http proxy world), and by default `wasm-component-ld` merges semver-compatible
//! imports into the newest version it knows, which would turn our
//! `wasi:http/types@0.2.0` import into `@0.2.4`. A spin-sdk 3 / cargo-component build
//! imports `wasi:http/types@0.2.0`, so this build opts out of that merging.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32");
    let wasi_0_2_0 = std::env::var_os("CARGO_FEATURE_WASI_HTTP_0_2_0").is_some();
    if wasm && wasi_0_2_0 {
        println!("cargo:rustc-link-arg-cdylib=--merge-imports-based-on-semver=false");
    }
}
