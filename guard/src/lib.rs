//! # authkit-keyvalue-guard
//!
//! The wrapped gateway runs third-party tool code inside the same composed
//! component as the auth middleware, and Spin grants key-value stores to the
//! whole component. Without this guard, any tool could open the `default` store
//! and write the middleware's cached signing keys (its own key, a far-future
//! fetch time) or a record of a "verified" signature, and be let in.
//!
//! `compose.wac` therefore gives the gateway this component instead of the
//! host's stores: every key-value interface Spin 3+ offers a component is
//! exported here (see `wit/guard.wit`) and forwarded to the host's
//! `wasi:keyvalue` stores, except that keys under [`RESERVED_PREFIX`] do not
//! exist for the gateway: reading, writing, deleting, counting or swapping one
//! is `access-denied`, and listing leaves them out. Everything else behaves as
//! the host's store does, so gateways that keep their own state keep working.

/// The keys the auth middleware keeps in a key-value store start with this.
/// The middleware's crate checks that every key it writes does.
pub const RESERVED_PREFIX: &str = "authkit/";

/// Whether `key` belongs to the middleware (and so is out of the gateway's reach).
pub fn is_reserved(key: &str) -> bool {
    key.as_bytes().starts_with(RESERVED_PREFIX.as_bytes())
}

#[cfg(target_arch = "wasm32")]
mod component;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_keys_are_the_middleware_prefix_exactly() {
        for key in [
            "authkit/",
            "authkit/v1/https://issuer.test/jwks",
            "authkit/v2/doc/https://issuer.test/jwks",
            "authkit/v2/verified/0a",
        ] {
            assert!(is_reserved(key), "{key}");
        }
        // Stores compare keys byte for byte (SQLite BINARY, Redis), so these are
        // other keys: the gateway may use them.
        for key in [
            "",
            "authkit",
            "Authkit/v2/x",
            "AUTHKIT/",
            " authkit/",
            "x/authkit/",
            "authkit\\v2",
        ] {
            assert!(!is_reserved(key), "{key}");
        }
    }
}
