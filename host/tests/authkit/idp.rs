//! The test's identity provider: real keys, a JWKS and discovery metadata served
//! over HTTP on 127.0.0.1 (with fault injection and hit counts), and minted tokens.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

// The keys, tokens and claims are shared with the middleware crate's native
// attack-catalogue test.
#[path = "../../../tests/support/tokens.rs"]
mod tokens;
pub use tokens::*;

/// A canned HTTP response.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub delay: Duration,
    /// Withheld until [`Idp::release`] (or the end of the test): a server that
    /// never answers in time, without a clock in the test.
    pub held: bool,
    /// Extra response headers (e.g. Cache-Control).
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Canned {
    pub fn json(value: &Value) -> Self {
        Self {
            status: 200,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            delay: Duration::ZERO,
            held: false,
            headers: Vec::new(),
        }
    }

    /// This response, withheld until [`Idp::release`].
    pub fn held(self) -> Self {
        Self { held: true, ..self }
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            content_type: "text/plain",
            body: b"nope".to_vec(),
            delay: Duration::ZERO,
            held: false,
            headers: Vec::new(),
        }
    }
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Canned>,
    hits: HashMap<String, usize>,
}

/// Opens once: held responses wait for it.
#[derive(Default)]
struct Release {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Release {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }
}

/// An HTTP server on 127.0.0.1 serving canned responses by path.
pub struct Idp {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    release: Arc<Release>,
    stop: Arc<AtomicBool>,
}

impl Idp {
    /// Serves `/jwks` with [`jwks`] and RFC 8414 metadata naming it.
    pub fn start() -> Self {
        let idp = Self::empty();
        idp.route("/jwks", Canned::json(&jwks()));
        idp.route(
            "/.well-known/oauth-authorization-server",
            Canned::json(&json!({"issuer": idp.issuer(), "jwks_uri": idp.url("/jwks")})),
        );
        idp
    }

    pub fn empty() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let release = Arc::new(Release::default());
        let (s, r, st) = (state.clone(), release.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let (s, r) = (s.clone(), r.clone());
                    thread::spawn(move || handle(conn, &s, &r));
                }
            }
        });
        Self {
            addr,
            state,
            release,
            stop,
        }
    }

    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn route(&self, path: &str, canned: Canned) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), canned);
    }

    /// Sends every held response (now and from now on).
    pub fn release(&self) {
        self.release.open();
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.release.open();
        let _ = TcpStream::connect(self.addr);
    }
}

fn handle(conn: TcpStream, state: &Mutex<State>, release: &Release) {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
    }
    let canned = {
        let mut state = state.lock().unwrap();
        *state.hits.entry(path.clone()).or_default() += 1;
        state
            .routes
            .get(&path)
            .cloned()
            .unwrap_or(Canned::status(404))
    };
    thread::sleep(canned.delay);
    if canned.held {
        release.wait();
    }
    let mut conn = reader.into_inner();
    let extra: String = canned
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        canned.status,
        canned.content_type,
        canned.body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&canned.body);
}
