//! Benchmark (not a test): HTTP load on the local host with a real load generator
//! (oha), the example gateway alone versus behind the middleware, and the same
//! load on peer MCP servers (bench/peers/<name>/) verifying the same tokens.
//!
//!   make bench-load
//!   # = cargo run --profile host -p authkit-host --example bench_load -- \
//!   #     --oha .tools/bin/oha --gateway target/wasm32-wasip2/release/mcp_gateway.wasm \
//!   #     --server build/server-mcp.wasm [--peers bench/peers] [--duration 10] \
//!   #     [--warmup 2] [--spin-serve tests/spin/spin-serve] [--out build/bench/load.md]
//!
//! Cases, each at concurrency 1 and 16 (a warm-up run, then a timed run):
//! - A: the gateway alone, no token;
//! - B: middleware + the same gateway, RS256 token, warm JWKS cache (the JWKS is
//!   served on 127.0.0.1 by this process);
//! - C: as B with ES256 and with EdDSA tokens;
//! - D: as B with a token whose signature does not verify (every answer a 401);
//! - on Spin, with `--spin-serve tests/spin/spin-serve` (`make bench-load` passes it
//!   when a Spin CLI is found): A, B and D again under `spin up` (its SQLite
//!   key-value store, its instance handling), the same gateway and server files;
//! - peers: for each bench/peers/<name>/: `install` (non-zero: skipped), then `run`
//!   with PORT, JWKS_URI, ISSUER, AUDIENCE in the environment, loaded like B, then
//!   its process group is stopped.
//!
//! Every request is `POST /mcp` `tools/call` `echo`. Prints a Markdown table and
//! writes it to --out.

#[path = "../tests/authkit/mod.rs"]
mod authkit;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use authkit::client;
use authkit::idp::{keys, Idp};
use authkit::SpinServer;
use authkit_host::{Host, HostConfig, RunningServer};
use jwt_simple::prelude::*;
use serde_json::Value;

const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}"#;
const CONCURRENCY: [u32; 2] = [1, 16];
/// How long a peer's `install` and start-up may take.
const PEER_INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
const PEER_START_TIMEOUT: Duration = Duration::from_secs(120);

struct Options {
    oha: String,
    gateway: String,
    server: String,
    peers: Option<PathBuf>,
    /// tests/spin/spin-serve: also load the cases on `spin up`.
    spin_serve: Option<PathBuf>,
    duration: u64,
    warmup: u64,
    out: Option<String>,
}

/// One timed oha run.
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// "200×1234" etc., plus error kinds other than the deadline cut-off.
    responses: String,
    ok: bool,
}

struct Row {
    case: String,
    concurrency: u32,
    result: Result<Run, String>,
}

fn main() -> anyhow::Result<()> {
    let opts = parse_args()?;
    let idp = Idp::start();
    let issuer = idp.issuer();
    let jwks_uri = idp.url("/jwks");
    let mut rows = Vec::new();

    // A: the gateway alone.
    {
        let host = Host::load(&opts.gateway)?;
        let server = host.serve(HostConfig::default(), authkit::loopback())?;
        let url = format!("{}/mcp", server.url());
        for c in CONCURRENCY {
            rows.push(load(&opts, "A gateway alone", c, &url, None, 200));
        }
    }

    // B, C, D: middleware + gateway.
    {
        let host = Host::load(&opts.server)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/mcp", listener.local_addr()?);
        let config = HostConfig::default()
            .with_variable("authkit_issuer", &issuer)
            .with_variable("authkit_jwks_uri", &jwks_uri)
            .with_variable("authkit_audience", &url);
        let server: RunningServer = host.serve_listener(config, listener)?;
        let k = keys();
        let cases = [
            ("B RS256", k.rsa.sign(claims(&issuer, &url))?, 200),
            ("C ES256", k.es256.sign(claims(&issuer, &url))?, 200),
            ("C EdDSA", k.ed25519.sign(claims(&issuer, &url))?, 200),
            (
                "D bad signature (401)",
                k.rsa_other.sign(claims(&issuer, &url))?,
                401,
            ),
        ];
        for (name, token, status) in &cases {
            for c in CONCURRENCY {
                rows.push(load(&opts, name, c, &url, Some(token), *status));
            }
        }
        println!(
            "JWKS fetches during the middleware cases: {}",
            idp.hits("/jwks")
        );
        drop(server);
    }

    // A, B and D on Spin: what users deploy on.
    if let Some(shim) = &opts.spin_serve {
        rows.extend(bench_spin(&opts, shim.as_os_str(), &issuer, &jwks_uri)?);
    }

    // Peers: the same load, the same issuer and keys.
    let mut peer_notes = Vec::new();
    let names = peer_names(opts.peers.as_deref());
    for name in &names {
        let dir = opts.peers.as_ref().map(|p| p.join(name));
        match dir {
            Some(dir) if dir.is_dir() => match bench_peer(&opts, name, &dir, &issuer, &jwks_uri) {
                Ok(peer_rows) => rows.extend(peer_rows),
                Err(why) => {
                    println!("peer {name}: skipped: {why:#}");
                    peer_notes.push((name, format!("skipped: {why:#}")));
                }
            },
            _ => peer_notes.push((name, "skipped: not present".to_owned())),
        }
    }

    let report = render(&opts, &rows, &names, &peer_notes);
    print!("{report}");
    if let Some(out) = &opts.out {
        std::fs::write(out, &report).with_context(|| format!("cannot write {out}"))?;
    }
    Ok(())
}

fn parse_args() -> anyhow::Result<Options> {
    let mut opts = Options {
        oha: ".tools/bin/oha".into(),
        gateway: "target/wasm32-wasip2/release/mcp_gateway.wasm".into(),
        server: "build/server-mcp.wasm".into(),
        peers: None,
        spin_serve: None,
        duration: 10,
        warmup: 2,
        out: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--oha" => opts.oha = value()?,
            "--gateway" => opts.gateway = value()?,
            "--server" => opts.server = value()?,
            "--peers" => opts.peers = Some(value()?.into()),
            "--spin-serve" => opts.spin_serve = Some(value()?.into()),
            "--duration" => opts.duration = value()?.parse()?,
            "--warmup" => opts.warmup = value()?.parse()?,
            "--out" => opts.out = Some(value()?),
            _ => anyhow::bail!("unknown argument {arg}"),
        }
    }
    Ok(opts)
}

/// Cases A, B and D under `spin up` (tests/spin/spin-serve writes the manifest:
/// the `default` key-value store, the variables, any outbound host).
fn bench_spin(
    opts: &Options,
    shim: &std::ffi::OsStr,
    issuer: &str,
    jwks_uri: &str,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    {
        let gateway = SpinServer::start(shim, Path::new(&opts.gateway), &[]);
        let url = format!("{}/mcp", gateway.url());
        for c in CONCURRENCY {
            rows.push(load(opts, "A gateway alone (Spin)", c, &url, None, 200));
        }
    }
    // The port is Spin's to pick, so the audience is a fixed name, not the URL.
    let audience = "https://mcp.bench.example/mcp";
    let vars = [
        ("authkit_issuer", issuer),
        ("authkit_jwks_uri", jwks_uri),
        ("authkit_audience", audience),
    ];
    let server = SpinServer::start(shim, Path::new(&opts.server), &vars);
    let url = format!("{}/mcp", server.url());
    let k = keys();
    let cases = [
        ("B RS256 (Spin)", k.rsa.sign(claims(issuer, audience))?, 200),
        (
            "D bad signature (401) (Spin)",
            k.rsa_other.sign(claims(issuer, audience))?,
            401,
        ),
    ];
    for (name, token, status) in &cases {
        for c in CONCURRENCY {
            rows.push(load(opts, name, c, &url, Some(token), *status));
        }
    }
    Ok(rows)
}

/// The expected peers, and any other directory under `dir`.
fn peer_names(dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = ["fastmcp", "ts-sdk", "rmcp"].map(String::from).into();
    if let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) {
        let mut others: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !names.contains(n))
            .collect();
        others.sort();
        names.extend(others);
    }
    names
}

/// Valid for an hour: installs and runs of peers take minutes.
fn claims(issuer: &str, audience: &str) -> JWTClaims<NoCustomClaims> {
    Claims::create(jwt_simple::prelude::Duration::from_hours(1))
        .with_issuer(issuer)
        .with_audience(audience)
        .with_subject("user_123")
}

/// One request with the benchmark's headers: the status it gets.
fn check(url: &str, token: Option<&str>) -> anyhow::Result<(u16, String)> {
    let rest = url.strip_prefix("http://").context("an http:// URL")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = authority.parse()?;
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("Content-Type", b"application/json"),
        ("Accept", b"application/json, text/event-stream"),
        ("MCP-Protocol-Version", b"2025-06-18"),
    ];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_bytes()));
    }
    let r = client::send(addr, "POST", path, &headers, CALL.as_bytes());
    Ok((r.status, r.text()))
}

/// Checks one request, then a warm-up and a timed oha run.
fn load(
    opts: &Options,
    case: &str,
    concurrency: u32,
    url: &str,
    token: Option<&str>,
    expect: u16,
) -> Row {
    let result = (|| {
        let (status, body) = check(url, token)?;
        if status != expect {
            anyhow::bail!("a single request answered {status}, not {expect}: {body:.200}");
        }
        if opts.warmup > 0 {
            oha(opts, concurrency, opts.warmup, url, token, expect)?;
        }
        oha(opts, concurrency, opts.duration, url, token, expect)
    })();
    let row = Row {
        case: case.to_owned(),
        concurrency,
        result: result.map_err(|e| format!("{e:#}")),
    };
    match &row.result {
        Ok(r) => println!(
            "{case:<24} c={concurrency:<3} {:>9.1} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  {}",
            r.rps, r.p50_ms, r.p99_ms, r.responses
        ),
        Err(e) => println!("{case:<24} c={concurrency:<3} failed: {e}"),
    }
    row
}

fn oha(
    opts: &Options,
    concurrency: u32,
    seconds: u64,
    url: &str,
    token: Option<&str>,
    expect: u16,
) -> anyhow::Result<Run> {
    let mut cmd = Command::new(&opts.oha);
    cmd.args(["--no-tui", "--output-format", "json"])
        .args(["-z", &format!("{seconds}s"), "-c", &concurrency.to_string()])
        .args(["-m", "POST", "-d", CALL])
        .args(["-H", "Content-Type: application/json"])
        .args(["-H", "Accept: application/json, text/event-stream"])
        .args(["-H", "MCP-Protocol-Version: 2025-06-18"]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let output = cmd
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", opts.oha))?;
    if !output.status.success() {
        anyhow::bail!(
            "oha failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let json: Value = serde_json::from_slice(&output.stdout).context("oha's JSON output")?;
    let seconds_to_ms = |v: &Value| v.as_f64().map_or(f64::NAN, |s| s * 1000.0);
    let statuses: BTreeMap<String, u64> = json["statusCodeDistribution"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let mut responses: Vec<String> = statuses.iter().map(|(k, v)| format!("{k}×{v}")).collect();
    let mut errors = 0;
    if let Some(errs) = json["errorDistribution"].as_object() {
        for (kind, n) in errs {
            // Requests still in flight at the deadline are cut off: not failures.
            if !kind.contains("deadline") {
                errors += n.as_u64().unwrap_or(0);
                responses.push(format!("error {kind}×{n}"));
            }
        }
    }
    let expected = statuses.get(&expect.to_string()).copied().unwrap_or(0);
    Ok(Run {
        rps: json["summary"]["requestsPerSec"]
            .as_f64()
            .unwrap_or(f64::NAN),
        p50_ms: seconds_to_ms(&json["latencyPercentiles"]["p50"]),
        p99_ms: seconds_to_ms(&json["latencyPercentiles"]["p99"]),
        ok: expected > 0 && errors == 0 && statuses.len() == 1,
        responses: responses.join(" "),
    })
}

/// A peer MCP server: install, start, load like B, stop.
fn bench_peer(
    opts: &Options,
    name: &str,
    dir: &Path,
    issuer: &str,
    jwks_uri: &str,
) -> anyhow::Result<Vec<Row>> {
    let install = dir.join("install");
    let run = dir.join("run");
    anyhow::ensure!(install.is_file(), "no {}", install.display());
    anyhow::ensure!(run.is_file(), "no {}", run.display());

    println!("peer {name}: {}", install.display());
    let mut child = Command::new(&install)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run {}", install.display()))?;
    let status = wait_timeout(&mut child, PEER_INSTALL_TIMEOUT)?;
    anyhow::ensure!(
        status == Some(true),
        "install {}",
        match status {
            None => "timed out".to_owned(),
            Some(_) => "exited non-zero".to_owned(),
        }
    );

    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("http://{addr}/mcp");
    let token = keys().rsa.sign(claims(issuer, &url))?;
    println!("peer {name}: {} on port {port}", run.display());
    let child = Command::new(&run)
        .current_dir(dir)
        .env("PORT", port.to_string())
        .env("JWKS_URI", jwks_uri)
        .env("ISSUER", issuer)
        .env("AUDIENCE", &url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run {}", run.display()))?;
    let mut guard = ProcessGroup(child);

    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = guard.0.try_wait()? {
            anyhow::bail!("run exited ({status}) before accepting connections on {port}");
        }
        anyhow::ensure!(
            started.elapsed() < PEER_START_TIMEOUT,
            "nothing accepted connections on port {port} within {PEER_START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let rows = CONCURRENCY
        .iter()
        .map(|&c| {
            load(
                opts,
                &format!("peer {name} RS256"),
                c,
                &url,
                Some(&token),
                200,
            )
        })
        .collect();
    guard.stop();
    Ok(rows)
}

/// `Some(success)` once the child exits, `None` (after killing its group) on timeout.
fn wait_timeout(child: &mut Child, timeout: Duration) -> anyhow::Result<Option<bool>> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status.success()));
        }
        if started.elapsed() > timeout {
            kill_group(child.id(), "KILL");
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// A child started in its own process group: stopped (the whole group) on drop.
struct ProcessGroup(Child);

impl ProcessGroup {
    fn stop(&mut self) {
        if self.0.try_wait().ok().flatten().is_some() {
            kill_group(self.0.id(), "KILL"); // leftovers of an exited leader
            return;
        }
        kill_group(self.0.id(), "TERM");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if self.0.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        kill_group(self.0.id(), "KILL");
        let _ = self.0.wait();
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.stop();
    }
}

fn render(
    opts: &Options,
    rows: &[Row],
    peers: &[String],
    peer_notes: &[(&String, String)],
) -> String {
    let mut s = format!(
        "oha, POST /mcp tools/call echo, {} s per run after a {} s warm-up, 127.0.0.1\n\n\
         | case | concurrency | req/s | p50 ms | p99 ms | responses |\n\
         | --- | ---: | ---: | ---: | ---: | --- |\n",
        opts.duration, opts.warmup
    );
    for row in rows {
        match &row.result {
            Ok(r) => s.push_str(&format!(
                "| {} | {} | {:.1} | {:.3} | {:.3} | {}{} |\n",
                row.case,
                row.concurrency,
                r.rps,
                r.p50_ms,
                r.p99_ms,
                r.responses,
                if r.ok { "" } else { " (unexpected)" }
            )),
            Err(e) => s.push_str(&format!(
                "| {} | {} | – | – | – | failed: {} |\n",
                row.case,
                row.concurrency,
                e.replace('|', "/").replace('\n', " ")
            )),
        }
    }
    for (name, note) in peer_notes {
        s.push_str(&format!(
            "| peer {name} | – | – | – | – | {} |\n",
            note.replace('|', "/").replace('\n', " ")
        ));
    }

    let find = |case: &str, c: u32| {
        rows.iter()
            .find(|r| r.case == case && r.concurrency == c)
            .and_then(|r| r.result.as_ref().ok())
    };
    s.push('\n');
    if let (Some(a), Some(b)) = (find("A gateway alone", 16), find("B RS256", 16)) {
        s.push_str(&format!(
            "**Headline: B/A throughput at c=16 = {:.2}** ({:.1} / {:.1} req/s)\n\n",
            b.rps / a.rps,
            b.rps,
            a.rps
        ));
    }
    if let (Some(a), Some(b)) = (
        find("A gateway alone (Spin)", 16),
        find("B RS256 (Spin)", 16),
    ) {
        s.push_str(&format!(
            "**On Spin: B/A throughput at c=16 = {:.2}** ({:.1} / {:.1} req/s)\n\n",
            b.rps / a.rps,
            b.rps,
            a.rps
        ));
    }
    for (a_case, b_case) in [
        ("A gateway alone", "B RS256"),
        ("A gateway alone (Spin)", "B RS256 (Spin)"),
    ] {
        for c in CONCURRENCY {
            if let (Some(a), Some(b)) = (find(a_case, c), find(b_case, c)) {
                s.push_str(&format!(
                    "- {b_case} / {a_case} at c={c}: {:.2}; added latency p50 {:+.3} ms, p99 {:+.3} ms\n",
                    b.rps / a.rps,
                    b.p50_ms - a.p50_ms,
                    b.p99_ms - a.p99_ms
                ));
            }
        }
    }
    if let Some(b) = find("B RS256", 16) {
        for name in peers {
            let line = match find(&format!("peer {name} RS256"), 16) {
                Some(p) => format!(
                    "- B / peer {name} at c=16: {:.2} ({:.1} / {:.1} req/s)\n",
                    b.rps / p.rps,
                    b.rps,
                    p.rps
                ),
                None => format!("- B / peer {name} at c=16: n/a (no figures)\n"),
            };
            s.push_str(&line);
        }
    }
    s
}
