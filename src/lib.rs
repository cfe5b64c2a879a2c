//! # wasmcp-spin-authkit
//!
//! OAuth 2.0 bearer-token middleware for MCP servers on Spin, as a Wasm component
//! that imports and exports `wasi:http/incoming-handler`. It serves RFC 9728
//! protected-resource metadata, verifies JWT access tokens (signature against the
//! issuer's JWKS, issuer, audience, lifetime) and hands accepted requests to the
//! wrapped MCP gateway unchanged.
//!
//! The crate is a sans-IO core (every module but `edge`): it reads no clock, does
//! no I/O (but for `key_source`'s diagnostics on stderr) and names no WIT type, so
//! it is unit-tested natively. The `edge` module, compiled for `wasm32` only, binds
//! it to WASI: Spin variables, outgoing HTTP and the key-value store for the key
//! source, writing the middleware's own responses, and delegation to the wrapped
//! handler.
//!
//! A request's path through the core: [`gate::decide`] checks the `Origin`
//! ([`origin`]), serves metadata ([`metadata`]) or extracts and verifies the bearer
//! token ([`token`]) against the issuer's keys ([`jwks`]), which a
//! [`gate::KeySource`] provides ([`key_source`]: [`discovery`], the cross-request
//! [`cache`], remembered signature checks in [`verified`]), all under the
//! configuration ([`config`]). It either forwards the request or picks an
//! answer, which [`response`] turns into status, headers and body.

#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![deny(unused_must_use)]
#![warn(missing_docs)]

pub mod cache;
pub mod config;
pub mod discovery;
pub mod gate;
pub mod jwks;
pub mod key_source;
pub mod metadata;
pub mod origin;
pub mod response;
pub mod token;
pub mod verified;

#[cfg(target_arch = "wasm32")]
mod edge;

#[cfg(test)]
mod test_support;
