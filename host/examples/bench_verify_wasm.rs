//! Benchmark (not a test): time per token verification inside a wasm32-wasip2
//! component under wasmtime, against the same loop natively and Criterion's
//! native figure (benches/verify.rs), for RS256 and PS256 (one 2048-bit key), ES256
//! and EdDSA.
//!
//!   make bench-verify
//!   # = cargo run --profile host -p authkit-host --example bench_verify_wasm -- \
//!   #     --wasm target/wasm32-wasip2/release/examples/verify_loop.wasm \
//!   #     [--native target/release/examples/verify_loop] [--criterion target/criterion] \
//!   #     [--seconds 2] [--out build/bench/verify.md] [--json verify.json]
//!
//! `--json` also writes the figures as `{"wasm": {alg: ns}, "native": ..., "criterion":
//! ...}` (bench/pareto.py reads the wasm ones).
//!
//! The guest is examples/verify_loop.rs (the root crate's `token::verify`, built
//! with the release profile, like the middleware), run as a `wasi:cli` command;
//! it times itself with `std::time::Instant` (wasi:clocks) and gets its keys and
//! tokens on stdin from this driver.

#[path = "../tests/authkit/mod.rs"]
mod authkit;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use anyhow::Context as _;
use authkit::idp::{self, keys, AUDIENCE};
use jwt_simple::prelude::*;
use serde_json::{json, Value};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceTable, ResourceType};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

const ISSUER: &str = "https://issuer.bench";
const ALGORITHMS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

struct Guest {
    ctx: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiHttpView for Guest {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: wasmtime_wasi_http::default_hooks(),
        }
    }
}

impl WasiView for Guest {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let mut wasm = None;
    let mut native = None;
    let mut criterion = None;
    let mut seconds = "2".to_owned();
    let mut out = None;
    let mut json_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--wasm" => wasm = Some(value()?),
            "--native" => native = Some(value()?),
            "--criterion" => criterion = Some(value()?),
            "--seconds" => seconds = value()?,
            "--out" => out = Some(value()?),
            "--json" => json_out = Some(value()?),
            _ => anyhow::bail!("unknown argument {arg}"),
        }
    }
    let wasm = wasm.context("--wasm verify_loop.wasm is required")?;

    let k = keys();
    // PS256 with the RS256 key: the same modulus, published under a second kid
    // pinned to PS256 (a JWK names one algorithm).
    let ps256 = PS256KeyPair::from_der(&k.rsa.to_der()?)?.with_key_id("ps-1");
    let n_e = ps256.public_key().to_components();
    let ps256_jwk = json!({
        "kty": "RSA", "kid": "ps-1", "use": "sig", "alg": "PS256",
        "n": idp::b64(&n_e.n), "e": idp::b64(&n_e.e),
    });
    let mut jwks = idp::jwks();
    jwks["keys"]
        .as_array_mut()
        .context("the test JWKS has keys")?
        .push(ps256_jwk);
    let claims = || {
        Claims::create(jwt_simple::prelude::Duration::from_hours(1))
            .with_issuer(ISSUER)
            .with_audience(AUDIENCE)
            .with_subject("user_123")
    };
    let fixture = json!({
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks": jwks,
        "tokens": [
            ["RS256", k.rsa.sign(claims())?],
            ["PS256", ps256.sign(claims())?],
            ["ES256", k.es256.sign(claims())?],
            ["EdDSA", k.ed25519.sign(claims())?],
        ],
    })
    .to_string();

    let in_wasm = run_wasm(&wasm, &fixture, &seconds)?;
    let in_native = match &native {
        Some(path) => run_native(path, &fixture, &seconds)?,
        None => BTreeMap::new(),
    };
    let in_criterion = match &criterion {
        Some(dir) => read_criterion(dir),
        None => BTreeMap::new(),
    };

    let cell = |v: Option<&f64>| v.map_or("n/a".to_owned(), |ns| format!("{ns:.0}"));
    let mut table = String::from(
        "| algorithm | native, Criterion (ns) | native, same loop (ns) | wasm32-wasip2 in wasmtime (ns) | wasm / native |\n\
         | --- | ---: | ---: | ---: | ---: |\n",
    );
    for alg in ALGORITHMS {
        let reference = in_criterion.get(alg).or(in_native.get(alg));
        let ratio = match (in_wasm.get(alg), reference) {
            (Some(w), Some(n)) => format!("{:.2}", w / n),
            _ => "n/a".into(),
        };
        table.push_str(&format!(
            "| {alg} | {} | {} | {} | {ratio} |\n",
            cell(in_criterion.get(alg)),
            cell(in_native.get(alg)),
            cell(in_wasm.get(alg)),
        ));
    }
    print!("{table}");
    if let Some(out) = out {
        std::fs::write(out, &table)?;
    }
    if let Some(path) = json_out {
        let figures = json!({"wasm": in_wasm, "native": in_native, "criterion": in_criterion});
        std::fs::write(path, figures.to_string())?;
    }
    Ok(())
}

/// `verify <alg> <ns> <iterations>` lines into alg → ns.
fn parse_lines(output: &str) -> BTreeMap<String, f64> {
    output
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "verify").then_some(())?;
            Some((words.next()?.to_owned(), words.next()?.parse().ok()?))
        })
        .collect()
}

fn run_wasm(path: &str, fixture: &str, seconds: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let engine = Engine::new(&Config::new())?;
    let component = Component::from_file(&engine, path)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot load {path}"))?;
    let mut linker = Linker::<Guest>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    // The library's wasi:http edge is linked into the command too (its world is in
    // the same object); none of it is called. `Linker::define_unknown_imports_as_traps`
    // would also shadow std's wasi:cli@0.2.6 imports that the host's 0.2.x satisfies.
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    stub_imports(
        &engine,
        &mut linker,
        &component,
        &[
            "wasi:config/",
            "wasi:keyvalue/",
            "wasi:http/incoming-handler",
        ],
    )?;
    let stdout = MemoryOutputPipe::new(1 << 20);
    let ctx = WasiCtx::builder()
        .stdin(MemoryInputPipe::new(fixture.as_bytes().to_vec()))
        .stdout(stdout.clone())
        .inherit_stderr()
        .args(&["verify_loop", seconds])
        .build();
    let mut store = Store::new(
        &engine,
        Guest {
            ctx,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
        },
    );
    let command =
        wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, &component, &linker)?;
    command
        .wasi_cli_run()
        .call_run(&mut store)?
        .map_err(|()| anyhow::anyhow!("the wasm verify loop failed"))?;
    Ok(parse_lines(&String::from_utf8_lossy(&stdout.contents())))
}

fn run_native(path: &str, fixture: &str, seconds: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut child = Command::new(path)
        .arg(seconds)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {path}"))?;
    child.stdin.take().unwrap().write_all(fixture.as_bytes())?;
    let output = child.wait_with_output()?;
    anyhow::ensure!(output.status.success(), "{path} failed");
    Ok(parse_lines(&String::from_utf8_lossy(&output.stdout)))
}

/// Criterion's mean for verify/<alg>, in ns.
fn read_criterion(dir: &str) -> BTreeMap<String, f64> {
    ALGORITHMS
        .iter()
        .filter_map(|alg| {
            let file = format!("{dir}/verify/{alg}/new/estimates.json");
            let text = std::fs::read_to_string(file).ok()?;
            let estimates: Value = serde_json::from_str(&text).ok()?;
            Some((
                alg.to_string(),
                estimates["mean"]["point_estimate"].as_f64()?,
            ))
        })
        .collect()
}

/// Functions that trap and placeholder resources for the component's imports whose
/// names start with one of `prefixes`.
fn stub_imports(
    engine: &Engine,
    linker: &mut Linker<Guest>,
    component: &Component,
    prefixes: &[&str],
) -> anyhow::Result<()> {
    for (name, item) in component.component_type().imports(engine) {
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        let mut stubs = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let what = format!("{name}#{export}");
                    stubs.func_new(export, move |_, _, _, _| {
                        wasmtime::bail!("{what} is not provided by this benchmark")
                    })?;
                }
                // The handler's request types are wasi:http/types' own (`use`d:
                // already linked, and need not be given again).
                ComponentItem::Resource(_) if name.starts_with("wasi:http/") => {}
                ComponentItem::Resource(_) => {
                    stubs.resource(export, ResourceType::host::<()>(), |_, _| Ok(()))?
                }
                _ => {}
            }
        }
    }
    Ok(())
}
