//! rmcp peer: `echo` behind RS256 bearer-token verification, MCP Streamable HTTP,
//! stateless, JSON responses. Env: PORT, JWKS_URI, ISSUER, AUDIENCE.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use jsonwebtoken::{jwk::Jwk, Algorithm, DecodingKey, Validation};
use rmcp::{
    handler::server::wrapper::Parameters,
    schemars, tool, tool_router,
    transport::streamable_http_server::{
        session::never::NeverSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    },
};
use serde::Deserialize;

// ---------------------------------------------------------------- the MCP server

#[derive(Clone, Default)]
struct Echo;

#[derive(Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to return unchanged.
    message: String,
}

#[tool_router(server_handler)]
impl Echo {
    #[tool(description = "Return the message unchanged")]
    fn echo(&self, Parameters(EchoArgs { message }): Parameters<EchoArgs>) -> String {
        message
    }
}

// ---------------------------------------------------------------- bearer auth

/// Keys by `kid`, fetched once; refetched only for an unknown `kid`, at most every 30 s.
struct Verifier {
    jwks_uri: String,
    validation: Validation,
    keys: RwLock<(HashMap<String, Arc<DecodingKey>>, Option<Instant>)>,
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

const REFETCH_INTERVAL: Duration = Duration::from_secs(30);

impl Verifier {
    fn fetch(&self) -> Result<(), String> {
        let body = ureq::get(&self.jwks_uri)
            .call()
            .map_err(|e| e.to_string())?
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        // Key by key, so that one this crate cannot read does not hide the others.
        let set: RawJwkSet = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in set.keys.into_iter().filter_map(|k| serde_json::from_value::<Jwk>(k).ok()) {
            if let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(&jwk)) {
                keys.insert(kid, Arc::new(key));
            }
        }
        *self.keys.write().unwrap() = (keys, Some(Instant::now()));
        Ok(())
    }

    fn key(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        let guard = self.keys.read().unwrap();
        if let Some(k) = guard.0.get(kid) {
            return Some(k.clone());
        }
        let stale = guard.1.is_none_or(|t| t.elapsed() >= REFETCH_INTERVAL);
        drop(guard);
        if stale {
            if let Err(e) = self.fetch() {
                eprintln!("rmcp-peer: JWKS fetch failed: {e}");
            }
            return self.keys.read().unwrap().0.get(kid).cloned();
        }
        None
    }

    fn verify(&self, token: &str) -> bool {
        let Ok(header) = jsonwebtoken::decode_header(token) else { return false };
        if header.alg != Algorithm::RS256 {
            return false;
        }
        let Some(kid) = header.kid else { return false };
        let key = if let Some(k) = self.keys.read().unwrap().0.get(&kid) {
            k.clone()
        } else {
            // Unknown kid: a (rate-limited, blocking) refetch off the async workers.
            match tokio::task::block_in_place(|| self.key(&kid)) {
                Some(k) => k,
                None => return false,
            }
        };
        jsonwebtoken::decode::<serde_json::Value>(token, &key, &self.validation).is_ok()
    }
}

async fn require_bearer(State(v): State<Arc<Verifier>>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")));
    match token {
        Some(t) if v.verify(t.trim()) => next.run(req).await,
        Some(_) => unauthorized("invalid_token"),
        None => unauthorized(""),
    }
}

fn unauthorized(error: &str) -> Response {
    let challenge = if error.is_empty() {
        "Bearer".to_string()
    } else {
        format!("Bearer error=\"{error}\"")
    };
    let body = serde_json::json!({"error": if error.is_empty() { "invalid_request" } else { error }});
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge), (header::CONTENT_TYPE, "application/json".into())],
        body.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------- main

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("rmcp-peer: {name} is not set");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() {
    let port: u16 = env("PORT").parse().expect("PORT");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[env("ISSUER")]);
    validation.set_audience(&[env("AUDIENCE")]);
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let verifier = Arc::new(Verifier {
        jwks_uri: env("JWKS_URI"),
        validation,
        keys: RwLock::new((HashMap::new(), None)),
    });
    // Fetch the JWKS once before serving (a few tries in case its server is starting).
    let v = verifier.clone();
    tokio::task::spawn_blocking(move || {
        for attempt in 0..20 {
            match v.fetch() {
                Ok(()) => return,
                Err(e) if attempt == 19 => eprintln!("rmcp-peer: JWKS fetch failed: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    })
    .await
    .unwrap();

    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(["127.0.0.1", "localhost"]);
    let mcp = StreamableHttpService::new(
        || Ok(Echo),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let app = Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(verifier, require_bearer));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    eprintln!("rmcp-peer: listening on http://127.0.0.1:{port}/mcp");
    axum::serve(listener, app).await.unwrap();
}
