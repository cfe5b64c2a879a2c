//! A `wasi:http/incoming-handler@0.2.4` reverse proxy: every request is forwarded
//! to the upstream whose base URL is the Spin variable `upstream_url` (read through
//! `wasi:config/store`), and the upstream's answer comes back.
//!
//! - The request keeps its method, path and query (appended to the upstream's base
//!   path), headers and body; hop-by-hop headers and `host` are dropped, and the
//!   authority becomes the upstream's.
//! - Both bodies stream: the request body is copied as it arrives; the response
//!   status and headers are sent as soon as the upstream's arrive, then the body
//!   chunk by chunk, each flushed, so server-sent events flow one by one, however
//!   long the stream lives. A client that goes away ends the upstream exchange.
//! - `upstream_url` missing or invalid: `500` with a JSON error; the upstream cannot
//!   be reached: `502`.
//!
//! It has no auth logic: composed behind the authkit middleware, it is how the
//! middleware is put in front of any HTTP MCP server (tests/conformance does so).

pub mod proxy;

#[cfg(target_arch = "wasm32")]
mod component;
