//! Support for the middleware tests: composed servers, a JWKS/metadata server
//! run by the test, token minting, and an HTTP/1.1 client that keeps bytes.

#![allow(dead_code)]

pub mod client;
pub mod idp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use authkit_host::{Host, HostConfig, RunningServer};

/// A composed server (middleware + gateway) built by `make fixtures`.
fn fixture(var: &str) -> PathBuf {
    let path = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run these tests with `make integration-test`")
    });
    let path = PathBuf::from(path);
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

macro_rules! cached_host {
    ($name:ident, $var:literal) => {
        pub fn $name() -> Host {
            static HOST: OnceLock<Host> = OnceLock::new();
            HOST.get_or_init(|| Host::load(fixture($var)).expect(concat!("load ", $var)))
                .clone()
        }
    };
}

cached_host!(mcp_server, "AUTHKIT_TEST_SERVER_MCP");
cached_host!(mcp_server_020, "AUTHKIT_TEST_SERVER_MCP_020");
cached_host!(echo_server, "AUTHKIT_TEST_SERVER_ECHO");
cached_host!(hostile_server, "AUTHKIT_TEST_SERVER_HOSTILE");
cached_host!(unguarded_hostile_server, "AUTHKIT_TEST_SERVER_UNGUARDED");

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Starts `host` with these Spin variables.
pub fn serve(host: &Host, vars: &[(&str, &str)]) -> RunningServer {
    let mut config = HostConfig::default();
    for (name, value) in vars {
        config = config.with_variable(*name, *value);
    }
    host.serve(config, loopback())
        .expect("start the composed server")
}
