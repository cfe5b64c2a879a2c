//! A local OAuth 2.1 authorization server for DEVELOPMENT ONLY: what `make up`
//! runs when no real issuer is configured (`authkit-dev-issuer` next to `spin up`,
//! or inside `authkit-host serve --dev-issuer`), so that the protected server
//! works with zero setup.
//!
//! - RFC 8414 metadata at `/.well-known/oauth-authorization-server` (and the same
//!   document at `/.well-known/openid-configuration`), JWKS at `/jwks` (one ES256
//!   key generated at startup);
//! - open dynamic client registration at `/register` (RFC 7591);
//! - `/authorize`: authorization code with PKCE S256 required, login and consent
//!   automatic for `dev-user`, `resource` (RFC 8707) becomes the audience, `iss`
//!   in the response (RFC 9207);
//! - `/token`: `authorization_code`, `refresh_token` (rotated), and
//!   `client_credentials` for clients registered with a secret; access tokens are
//!   RFC 9068 JWTs (`typ: at+jwt`) valid for one hour.
//!
//! It listens on loopback addresses only and says "DEVELOPMENT ONLY" in every
//! response (`X-Authkit-Dev-Issuer` header) and document. Before anything else
//! it refuses requests whose `Host` is not a loopback host (421; DNS rebinding)
//! and requests whose `Origin` is not a loopback origin (403), so the web pages a
//! developer visits cannot use it; CORS answers loopback origins (the MCP
//! Inspector's `http://localhost:6274`) by name, never with `*`.
//!
//! ```no_run
//! use authkit_dev_issuer::DevIssuer;
//! let issuer = DevIssuer::start("127.0.0.1:0".parse()?, "http://127.0.0.1:3000/mcp")?;
//! let token = issuer.mint_token(std::time::Duration::from_secs(3600));
//! println!("{} {}", issuer.issuer(), token);
//! # anyhow::Ok(())
//! ```

pub mod background;
mod loopback;
mod oauth;
mod signer;

use crate::background::Background;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use self::oauth::{Issuer, Reply, Request};
pub use self::oauth::{DEFAULT_SCOPE, DEVELOPMENT_ONLY, DEV_USER};

/// The default listen address (next to `make up`'s 127.0.0.1:3000).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3001";
/// `client_id` of tokens minted directly (the printed token).
pub const MINTED_CLIENT_ID: &str = "authkit-host-dev";
/// Lifetime of the printed token.
pub const MINTED_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Largest request body read (registration and token requests are small).
const MAX_BODY: usize = 64 * 1024;

/// A running development issuer; dropping it stops it.
pub struct DevIssuer {
    issuer: Arc<Issuer>,
    addr: SocketAddr,
    background: Background,
}

impl DevIssuer {
    /// Starts the issuer on `addr` (a loopback address; port 0 picks a free
    /// port) in a background thread and returns once it is listening. Tokens
    /// requested without `resource` get `default_audience` (the MCP server's URL).
    pub fn start(addr: SocketAddr, default_audience: &str) -> anyhow::Result<DevIssuer> {
        if !addr.ip().is_loopback() {
            bail!(
                "the development issuer listens on loopback addresses only (e.g. {DEFAULT_LISTEN}), not {addr}"
            );
        }
        let listener = std::net::TcpListener::bind(addr).with_context(|| {
            format!("development issuer: cannot listen on {addr} (in use? pass another address)")
        })?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let issuer = Arc::new(Issuer::new(
            format!("http://{addr}"),
            default_audience.to_string(),
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("authkit-dev-issuer")
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let served = issuer.clone();
        let thread = std::thread::Builder::new()
            .name(format!("authkit-dev-issuer {addr}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => run(served, listener, stopped).await,
                        Err(e) => eprintln!("[dev-issuer] cannot serve on {addr}: {e}"),
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(DevIssuer {
            issuer,
            addr,
            background: Background::new(stop, thread),
        })
    }

    /// The issuer identifier, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn issuer(&self) -> &str {
        self.issuer.issuer()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `<issuer>/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer())
    }

    /// The audience of tokens requested without `resource`.
    pub fn default_audience(&self) -> &str {
        self.issuer.default_audience()
    }

    /// An access token minted directly: `sub` [`DEV_USER`], `aud` the default
    /// audience, `client_id` [`MINTED_CLIENT_ID`], scope [`DEFAULT_SCOPE`].
    pub fn mint_token(&self, lifetime: Duration) -> String {
        self.mint_token_for(self.default_audience(), lifetime)
    }

    /// Like [`DevIssuer::mint_token`], for another audience.
    pub fn mint_token_for(&self, audience: &str, lifetime: Duration) -> String {
        self.issuer.mint(
            DEV_USER,
            MINTED_CLIENT_ID,
            audience,
            lifetime.as_secs(),
            unix_now(),
        )
    }

    /// Stops the issuer.
    pub fn shutdown(self) {
        drop(self);
    }

    /// Blocks for as long as the issuer runs (for a process that only issues).
    pub fn wait(self) {
        self.background.wait();
    }
}

/// What to tell the user once the issuer (and the MCP server at `mcp_url`)
/// is up: the issuer, a token (minted for `audience`), and commands to paste.
pub fn instructions(
    issuer: &str,
    mcp_url: &str,
    audience: &str,
    token: &str,
    lifetime: Duration,
) -> String {
    let rule = "=".repeat(78);
    let hours = lifetime.as_secs() / 3600;
    let lifetime = if hours > 0 && lifetime.as_secs().is_multiple_of(3600) {
        format!("{hours} h")
    } else {
        format!("{} s", lifetime.as_secs())
    };
    format!(
        "\n{rule}\n\
         DEVELOPMENT ONLY: local development issuer (automatic login and consent,\n\
         in-memory keys). Never use it in production: set AUTHKIT_ISSUER instead.\n\
         {rule}\n\
         Issuer:                 {issuer}\n\
         Protected MCP endpoint: {mcp_url}\n\
         \n\
         Bearer token (sub {DEV_USER}, aud {audience}, valid {lifetime}):\n\
         {token}\n\
         \n\
         MCP Inspector CLI:\n  \
         npx @modelcontextprotocol/inspector --cli {mcp_url} --transport http --header \"Authorization: Bearer {token}\" --method tools/list\n\
         \n\
         Claude Code:\n  \
         claude mcp add --transport http authkit-dev {mcp_url} --header \"Authorization: Bearer {token}\"\n\
         \n\
         curl:\n  \
         curl -s {mcp_url} -H \"Authorization: Bearer {token}\" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}}'\n\
         \n\
         OAuth-capable clients (MCP Inspector, Claude Code) can also complete OAuth\n\
         against the development issuer by themselves: give them only {mcp_url}\n\
         (dynamic registration, PKCE, consent is automatic).\n\
         {rule}\n"
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn run(
    issuer: Arc<Issuer>,
    listener: tokio::net::TcpListener,
    shutdown: oneshot::Receiver<()>,
) {
    background::accept_until(listener, shutdown, Duration::ZERO, move |stream, _| {
        let issuer = issuer.clone();
        async move {
            let service = hyper::service::service_fn(move |req| {
                let issuer = issuer.clone();
                async move { Ok::<_, Infallible>(handle(&issuer, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    })
    .await;
}

fn request<'a>(parts: &'a http::request::Parts, body: &'a [u8]) -> Request<'a> {
    Request {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        authority: parts.uri.authority().map(|a| a.as_str()),
        headers: &parts.headers,
        body,
    }
}

async fn handle(issuer: &Issuer, req: hyper::Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    // Foreign Host or Origin: refused before the body is even read.
    let reply = match issuer.refusal(&request(&parts, b"")) {
        Some(refusal) => refusal,
        None => match Limited::new(body, MAX_BODY).collect().await {
            Ok(body) => issuer.handle(&request(&parts, &body.to_bytes()), unix_now()),
            Err(_) => Reply {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                headers: vec![],
                body: Bytes::from_static(b"request body too large\n"),
            },
        },
    };
    // Paths only: queries carry codes and state.
    eprintln!(
        "[dev-issuer] {} {} -> {}",
        parts.method,
        parts.uri.path(),
        reply.status.as_u16()
    );
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = reply.status;
    for (name, value) in reply.headers {
        resp.headers_mut().append(name, value);
    }
    resp
}
