//! The `authkit-host` binary: readiness line, variables, errors, and
//! `serve --dev-issuer`.

mod authkit;
mod common;
mod devflow;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use common::get;
use devflow::{addr_in, run_until, token_in, verify};

const BIN: &str = env!("CARGO_BIN_EXE_authkit-host");

/// Kills the server process when the test ends, even on a failed assert.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `authkit-host serve` and waits for its `Serving http://ADDR` line.
fn start(args: &[&str], env: &[(&str, &str)]) -> (Server, SocketAddr) {
    let wasm = common::guest_wasm();
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg(&wasm)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start authkit-host");
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("Serving http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    (server, addr)
}

#[test]
fn serves_with_variables_from_flags_and_env() {
    let (_server, addr) = start(
        &["--var", "from_flag=flag", "--var", "both=flag"],
        &[
            ("SPIN_VARIABLE_FROM_ENV", "env"),
            ("SPIN_VARIABLE_BOTH", "env"),
        ],
    );
    let all = &get(addr, "/config?key=x").json()["all"];
    assert_eq!(all["from_flag"], "flag");
    assert_eq!(all["from_env"], "env");
    assert_eq!(all["both"], "flag", "--var wins over SPIN_VARIABLE_*");
}

#[test]
fn key_value_and_outbound_flags() {
    let (_server, addr) = start(
        &[
            "--no-key-value-store",
            "--allow-outbound",
            "https://*.authkit.app",
        ],
        &[],
    );
    assert_eq!(
        get(addr, "/kv/open?label=default").json()["error"],
        "access-denied"
    );
    let j = get(addr, "/outbound?url=http://127.0.0.1:9/").json();
    assert!(
        j["error"].as_str().unwrap().contains("HttpRequestDenied"),
        "{j}"
    );

    let (_server, addr) = start(&["--key-value-store", "cache"], &[]);
    assert_eq!(get(addr, "/kv/open?label=cache").json()["ok"], true);
}

#[test]
fn bad_input_exits_non_zero_with_a_message() {
    let cases: &[&[&str]] = &[
        &["serve", "/nonexistent/component.wasm"],
        &["serve"],
        &["serve", "x.wasm", "--bogus"],
        &["serve", "x.wasm", "--listen", "not-an-address"],
        &["frobnicate"],
    ];
    for args in cases {
        let out = Command::new(BIN).args(*args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
    }

    // A file that is not a component.
    let not_wasm = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-a-component.wasm");
    std::fs::write(&not_wasm, b"hello").unwrap();
    let out = Command::new(BIN)
        .arg("serve")
        .arg(&not_wasm)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-a-component.wasm"));
}

#[test]
fn serve_with_dev_issuer_points_the_component_at_it() {
    let wasm = common::guest_wasm();
    let wasm = wasm.to_str().unwrap();
    let (_p, lines) = run_until(
        BIN,
        &[
            "serve",
            wasm,
            "--listen",
            "127.0.0.1:0",
            "--dev-issuer",
            "127.0.0.1:0",
            "--var",
            "other=1",
        ],
        "MCP Inspector CLI",
    );
    let server = addr_in(&lines[0], "Serving http://");
    let mcp = format!("http://{server}/mcp");
    assert!(
        lines.contains(&format!("Protected MCP endpoint: {mcp}")),
        "{lines:#?}"
    );
    let all = &common::get(server, "/config?key=x").json()["all"];
    let issuer = all["authkit_issuer"].as_str().unwrap();
    assert!(lines.contains(&format!("Issuer:                 {issuer}")));
    assert_eq!(all["authkit_jwks_uri"], format!("{issuer}/jwks"));
    // Both loopback spellings, since clients may use either (RFC 8707 resource).
    let localhost = mcp.replace("127.0.0.1", "localhost");
    assert_eq!(all["authkit_audience"], format!("{mcp},{localhost}"));
    assert_eq!(all["other"], "1");
    let issuer_addr: SocketAddr = issuer.strip_prefix("http://").unwrap().parse().unwrap();
    verify(issuer_addr, &token_in(&lines), &mcp);
}
