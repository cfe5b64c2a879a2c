//! CORS for browser-based MCP clients (the MCP Inspector, web apps).
//!
//! Tokens travel in the `Authorization` header, never in cookies, so a wildcard
//! origin is safe: the browser sends no ambient credentials.

/// Request headers an MCP client sends (Streamable HTTP, including the 2026
/// `Mcp-Method`/`Mcp-Name` headers).
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Accept, Mcp-Session-Id, \
MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name";
/// Methods of the Streamable HTTP transport.
pub const ALLOW_METHODS: &str = "GET, POST, DELETE, OPTIONS";
/// Response headers a browser client must be able to read.
pub const EXPOSE_HEADERS: &str = "WWW-Authenticate, Mcp-Session-Id";

/// Headers on every response the middleware writes itself.
pub fn response_headers() -> [(&'static str, String); 2] {
    [
        ("access-control-allow-origin", "*".to_owned()),
        ("access-control-expose-headers", EXPOSE_HEADERS.to_owned()),
    ]
}

/// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`).
pub fn preflight() -> crate::reply::Reply {
    crate::reply::Reply {
        status: 204,
        headers: vec![
            ("access-control-allow-origin", "*".to_owned()),
            ("access-control-allow-methods", ALLOW_METHODS.to_owned()),
            ("access-control-allow-headers", ALLOW_HEADERS.to_owned()),
            ("access-control-expose-headers", EXPOSE_HEADERS.to_owned()),
            ("access-control-max-age", "86400".to_owned()),
        ],
        body: Vec::new(),
    }
}
