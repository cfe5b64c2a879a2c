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

/// A composed server fixture: its file, and the compiled component (compiled
/// once per test binary, on first use in the local host).
#[derive(Clone, Copy)]
pub struct Fixture {
    var: &'static str,
    host: &'static OnceLock<Host>,
}

impl Fixture {
    pub fn path(&self) -> PathBuf {
        fixture(self.var)
    }

    /// The component in the local host (for tests that inspect its state).
    pub fn host(&self) -> Host {
        self.host
            .get_or_init(|| {
                Host::load(self.path()).unwrap_or_else(|e| panic!("load {}: {e:#}", self.var))
            })
            .clone()
    }
}

macro_rules! fixture {
    ($name:ident, $var:literal) => {
        pub fn $name() -> Fixture {
            static HOST: OnceLock<Host> = OnceLock::new();
            Fixture {
                var: $var,
                host: &HOST,
            }
        }
    };
}

fixture!(mcp_server, "AUTHKIT_TEST_SERVER_MCP");
fixture!(mcp_server_020, "AUTHKIT_TEST_SERVER_MCP_020");
fixture!(echo_server, "AUTHKIT_TEST_SERVER_ECHO");
fixture!(hostile_server, "AUTHKIT_TEST_SERVER_HOSTILE");
fixture!(unguarded_hostile_server, "AUTHKIT_TEST_SERVER_UNGUARDED");

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A running composed server: in the local host, or under `spin up` when
/// AUTHKIT_TEST_SPIN_SERVE names tests/spin/spin-serve (`make spin-test`).
pub enum Served {
    Local(RunningServer),
    Spin(SpinServer),
}

impl Served {
    pub fn addr(&self) -> SocketAddr {
        match self {
            Served::Local(server) => server.addr(),
            Served::Spin(server) => server.addr,
        }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn on_spin(&self) -> bool {
        matches!(self, Served::Spin(_))
    }
}

/// True when the portable tests run on Spin.
pub fn on_spin() -> bool {
    std::env::var_os("AUTHKIT_TEST_SPIN_SERVE").is_some()
}

/// Starts `server` with these Spin variables, in the local host or on Spin.
pub fn serve(server: &Fixture, vars: &[(&str, &str)]) -> Served {
    if let Some(shim) = std::env::var_os("AUTHKIT_TEST_SPIN_SERVE") {
        return Served::Spin(SpinServer::start(&shim, &server.path(), vars));
    }
    let mut config = HostConfig::default();
    for (name, value) in vars {
        config = config.with_variable(*name, *value);
    }
    Served::Local(
        server
            .host()
            .serve(config, loopback())
            .expect("start the composed server"),
    )
}

/// `spin-serve serve WASM --var ...`, stopped on drop.
pub struct SpinServer {
    child: std::process::Child,
    addr: SocketAddr,
}

impl SpinServer {
    pub fn start(shim: &std::ffi::OsStr, wasm: &std::path::Path, vars: &[(&str, &str)]) -> Self {
        use std::io::BufRead as _;
        let mut command = std::process::Command::new(shim);
        command
            .arg("serve")
            .arg(wasm)
            .args(["--listen", "127.0.0.1:0"]);
        for (name, value) in vars {
            command.arg("--var").arg(format!("{name}={value}"));
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start spin-serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = match line.trim().strip_prefix("Serving http://") {
            Some(addr) => addr.parse().unwrap(),
            None => {
                let _ = child.kill();
                panic!("spin-serve did not start: {line:?}")
            }
        };
        SpinServer { child, addr }
    }
}

impl SpinServer {
    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SpinServer {
    fn drop(&mut self) {
        // SIGTERM: spin-serve stops Spin and removes its application directory.
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
