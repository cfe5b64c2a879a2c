//! A response the middleware answers itself, as plain data for the edge to write.

use serde_json::json;

/// Status, headers and body of a middleware-generated response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON response; every middleware response is readable cross-origin so that
    /// browser-based MCP clients can see challenges and metadata.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        let mut reply = Self {
            status,
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.to_string().into_bytes(),
        };
        reply.headers.extend(crate::cors::response_headers());
        reply
    }

    /// `{"error": code, "error_description": description}`, the seed README's error body.
    pub fn error(status: u16, code: &str, description: &str) -> Self {
        Self::json(
            status,
            &json!({ "error": code, "error_description": description }),
        )
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The value of the first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}
