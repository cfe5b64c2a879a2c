//! A small wasmtime host that runs a `wasi:http/incoming-handler` component the
//! way Spin 3 does, for local runs and in-process integration tests.
//!
//! - the component is compiled and pre-instantiated once ([`Host`]); each
//!   request gets a fresh `Store` and instance, and requests run concurrently;
//! - imports: WASI 0.2 (guest stdout/stderr go to the host's), `wasi:http`
//!   0.2.x incoming and outgoing (outgoing filtered like Spin's
//!   `allowed_outbound_hosts`), `wasi:config/store@0.2.0-draft-2024-09-27`
//!   (Spin variables) and `wasi:keyvalue@0.2.0-draft2` (an in-memory store per
//!   server, shared by all its requests);
//! - a trap, or a guest that never sets a response, is a plain-text 500.
//!
//! ```no_run
//! use authkit_host::{Host, HostConfig};
//! let host = Host::load("gateway.wasm")?;
//! let server = host.serve(HostConfig::default().with_variable("k", "v"), "127.0.0.1:0".parse()?)?;
//! println!("listening on {}", server.url());
//! # anyhow::Ok(())
//! ```

mod clock;
mod config_store;
mod keyvalue;
mod outbound;
mod server;

use std::collections::BTreeMap;
use std::hash::{Hash as _, Hasher as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;

use authkit_dev_issuer::background::Background;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

pub use clock::WallClock;
pub use keyvalue::KeyValueData;

use keyvalue::KeyValueCtx;
use outbound::OutboundPolicy;
use server::{RequestState, Server};

/// How long dropping a [`RunningServer`] waits for the runtime's tasks.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(2);

/// What one server offers its component: Spin's per-component settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// Spin variables, read by the guest through `wasi:config/store`.
    pub variables: BTreeMap<String, String>,
    /// Key-value store labels the component may open (Spin's
    /// `key_value_stores`); others are `access-denied`. Empty: none.
    pub key_value_stores: Vec<String>,
    /// Spin's `allowed_outbound_hosts`; `None` allows every outgoing request.
    pub allowed_outbound_hosts: Option<Vec<String>>,
    /// The guests' wall clock (the system's unless a test moves it).
    pub wall_clock: WallClock,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            variables: BTreeMap::new(),
            key_value_stores: vec!["default".to_string()],
            allowed_outbound_hosts: None,
            wall_clock: WallClock::default(),
        }
    }
}

impl HostConfig {
    pub fn with_variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    pub fn with_key_value_stores<S: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = S>,
    ) -> Self {
        self.key_value_stores = labels.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_allowed_outbound_hosts<S: Into<String>>(
        mut self,
        patterns: impl IntoIterator<Item = S>,
    ) -> Self {
        self.allowed_outbound_hosts = Some(patterns.into_iter().map(Into::into).collect());
        self
    }

    /// Guests read the time from `clock` (tests move it instead of sleeping).
    pub fn with_wall_clock(mut self, clock: WallClock) -> Self {
        self.wall_clock = clock;
        self
    }
}

/// Spin's `SPIN_VARIABLE_<NAME>=value` environment variables, as
/// variables named `<name>` (lowercased).
pub fn spin_variables_from_env() -> BTreeMap<String, String> {
    std::env::vars()
        .filter_map(|(k, v)| Some((k.strip_prefix("SPIN_VARIABLE_")?.to_ascii_lowercase(), v)))
        .collect()
}

/// A compiled, pre-instantiated component. Cheap to clone; start any number
/// of servers (with different configs) from one `Host`.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    pre: ProxyPre<RequestState>,
}

impl Host {
    /// Compiles the component at `path`.
    pub fn load(path: impl AsRef<Path>) -> anyhow::Result<Host> {
        Self::load_cached(path, None)
    }

    /// Like [`Host::load`], reusing native code from `cache_dir` when the
    /// same component was compiled before by the same wasmtime build.
    pub fn load_cached(path: impl AsRef<Path>, cache_dir: Option<&Path>) -> anyhow::Result<Host> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read component {}", path.display()))?;
        Self::from_bytes_cached(&bytes, cache_dir)
            .with_context(|| format!("cannot load component {}", path.display()))
    }

    /// Compiles a component from its binary.
    pub fn from_component_bytes(bytes: &[u8]) -> anyhow::Result<Host> {
        Self::from_bytes_cached(bytes, None)
    }

    fn from_bytes_cached(bytes: &[u8], cache_dir: Option<&Path>) -> anyhow::Result<Host> {
        let engine = Engine::new(&Config::new())?;
        let component = match cache_dir {
            Some(dir) => compile_cached(&engine, bytes, dir)?,
            None => Component::new(&engine, bytes)?,
        };

        let mut linker = Linker::<RequestState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        config_store::add_to_linker(&mut linker, RequestState::config)?;
        keyvalue::add_to_linker(&mut linker, RequestState::keyvalue)?;

        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("the component needs an import this host does not provide")?;
        // Finds the export by semver: any wasi:http/incoming-handler@0.2.x.
        let pre = ProxyPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export wasi:http/incoming-handler@0.2.x")?;
        Ok(Host {
            inner: Arc::new(HostInner { pre }),
        })
    }

    /// Starts a server on `addr` (port 0 picks a free port) in a background
    /// thread with its own tokio runtime, and returns once it is listening.
    /// Works from plain `#[test]`s and from within a tokio runtime.
    pub fn serve(&self, config: HostConfig, addr: SocketAddr) -> anyhow::Result<RunningServer> {
        self.serve_with_key_value(config, addr, KeyValueData::new())
    }

    /// Like [`Host::serve`], with key-value data that outlives the server (to
    /// share it between servers, or seed it beforehand).
    pub fn serve_with_key_value(
        &self,
        config: HostConfig,
        addr: SocketAddr,
        key_value: KeyValueData,
    ) -> anyhow::Result<RunningServer> {
        let outbound = OutboundPolicy::new(config.allowed_outbound_hosts.as_deref())?;
        let listener = server::bind(addr)?;
        self.serve_on(config, outbound, listener, key_value)
    }

    /// Like [`Host::serve`], on a listener the caller bound (to know the
    /// address, e.g. of port 0, before choosing the configuration).
    pub fn serve_listener(
        &self,
        config: HostConfig,
        listener: std::net::TcpListener,
    ) -> anyhow::Result<RunningServer> {
        let outbound = OutboundPolicy::new(config.allowed_outbound_hosts.as_deref())?;
        listener.set_nonblocking(true)?;
        self.serve_on(config, outbound, listener, KeyValueData::new())
    }

    fn serve_on(
        &self,
        config: HostConfig,
        outbound: OutboundPolicy,
        listener: std::net::TcpListener,
        key_value: KeyValueData,
    ) -> anyhow::Result<RunningServer> {
        let addr = listener.local_addr()?;
        let server = Arc::new(Server {
            pre: self.inner.pre.clone(),
            variables: server::variables(&config.variables),
            keyvalue: KeyValueCtx {
                data: key_value.clone(),
                granted: config.key_value_stores.into(),
            },
            outbound,
            wall_clock: config.wall_clock,
            addr,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("authkit-host-worker")
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("authkit-host {addr}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => server.run(listener, stopped).await,
                        Err(e) => eprintln!("cannot serve on {addr}: {e}"),
                    }
                });
                // Also cancels guest tasks still running.
                runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
            })?;
        Ok(RunningServer {
            addr,
            key_value,
            background: Background::new(stop, thread),
        })
    }
}

impl Host {
    /// For benchmarks (`make bench-instantiate`): `n` times, creates a request's
    /// `Store` and instantiates the component in it, as each request does, without
    /// calling it. Returns, for each, the time to the ready instance and the time
    /// including dropping the store.
    #[doc(hidden)]
    pub fn time_instantiations(&self, n: usize) -> anyhow::Result<Vec<(Duration, Duration)>> {
        let server = Server {
            pre: self.inner.pre.clone(),
            variables: server::variables(&BTreeMap::new()),
            keyvalue: KeyValueCtx {
                data: KeyValueData::new(),
                granted: Vec::<String>::new().into(),
            },
            outbound: OutboundPolicy::new(None)?,
            wall_clock: WallClock::default(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let started = std::time::Instant::now();
                let mut store = server.new_store();
                // The instance lives in the store: dropping the store frees both.
                let _instance = server.pre.instantiate_async(&mut store).await?;
                let ready = started.elapsed();
                drop(store);
                times.push((ready, started.elapsed()));
            }
            Ok(times)
        })
    }
}

/// A server started by [`Host::serve`]; dropping it stops the server.
pub struct RunningServer {
    addr: SocketAddr,
    key_value: KeyValueData,
    background: Background,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's key-value data (shared with its guests).
    pub fn key_value(&self) -> &KeyValueData {
        &self.key_value
    }

    /// Stops the server, waiting briefly for in-flight requests.
    pub fn shutdown(self) {
        drop(self);
    }

    /// Blocks until the server stops (which it only does when its thread
    /// dies: for a process that just serves).
    pub fn wait(self) {
        self.background.wait();
    }
}

/// Compiles `bytes`, or loads what an earlier run compiled, keyed by the
/// component's hash and the engine's compatibility hash (wasmtime version
/// and settings).
fn compile_cached(engine: &Engine, bytes: &[u8], dir: &Path) -> anyhow::Result<Component> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let file: PathBuf = dir.join(format!("{:016x}-{}.cwasm", hasher.finish(), bytes.len()));
    if file.exists() {
        // SAFETY: the file is one this function wrote with this engine's
        // settings (the name includes their hash); deserialization still
        // checks the wasmtime version and configuration.
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(component) => return Ok(component),
            Err(e) => eprintln!("ignoring unusable cache entry {}: {e}", file.display()),
        }
    }
    let compiled = engine.precompile_component(bytes)?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create cache directory {}", dir.display()))?;
    // Write then rename, so a concurrent reader never sees half a file.
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &compiled)?;
    std::fs::rename(&tmp, &file)?;
    // SAFETY: just produced by `precompile_component` on this engine.
    Ok(unsafe { Component::deserialize(engine, &compiled)? })
}
