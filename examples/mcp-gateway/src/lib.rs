//! An example MCP server as a `wasi:http/incoming-handler` component: Streamable HTTP
//! with JSON responses (no SSE). It stands in for an existing wasmcp-spin build and
//! knows nothing about auth.
//!
//! Default build: exports `wasi:http/incoming-handler@0.2.4`. With the
//! `wasi-http-0-2-0` feature: exports `@0.2.0` and imports `wasi:*@0.2.0`, like
//! spin-sdk 3 / cargo-component builds.
//!
//! The protocol logic ([`mcp`], [`catalog`]) is plain Rust over `serde_json`; only the
//! plumbing below is WASI-specific, and only compiled for wasm32.

pub mod catalog;
pub mod mcp;

#[cfg(target_arch = "wasm32")]
mod component {
    // The same code over either binding crate (they are generated alike).
    #[cfg(not(feature = "wasi-http-0-2-0"))]
    use ::wasi as bindings;
    #[cfg(feature = "wasi-http-0-2-0")]
    use ::wasi020 as bindings;

    use bindings::http::types::{
        Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse,
        ResponseOutparam,
    };
    use bindings::io::streams::StreamError;

    use crate::mcp;

    struct Gateway;

    bindings::http::proxy::export!(Gateway with_types_in bindings);

    impl bindings::exports::http::incoming_handler::Guest for Gateway {
        fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
            let response = respond(request);
            send(response, response_out);
        }
    }

    fn respond(request: IncomingRequest) -> mcp::Response {
        let headers = request.headers().entries();
        if let Some(rejection) = mcp::preflight(&method_name(&request.method()), &headers) {
            return rejection;
        }
        match read_body(request, mcp::MAX_BODY_BYTES) {
            Ok(body) => mcp::handle_body(&body, new_session_id),
            Err(BodyError::TooLarge) => mcp::payload_too_large(),
            Err(BodyError::Io) => mcp::Response {
                status: 400,
                headers: vec![("content-type".into(), "application/json".into())],
                body: br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"could not read the request body"}}"#.to_vec(),
            },
        }
    }

    fn method_name(method: &Method) -> String {
        match method {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(other) => other,
        }
        .to_owned()
    }

    /// 128 random bits as 32 hex digits.
    fn new_session_id() -> String {
        let (a, b) = (
            bindings::random::random::get_random_u64(),
            bindings::random::random::get_random_u64(),
        );
        format!("{a:016x}{b:016x}")
    }

    enum BodyError {
        TooLarge,
        Io,
    }

    /// Reads the whole request body, failing once it exceeds `cap` bytes.
    fn read_body(request: IncomingRequest, cap: usize) -> Result<Vec<u8>, BodyError> {
        let body = request.consume().map_err(|()| BodyError::Io)?;
        let stream = body.stream().map_err(|()| BodyError::Io)?;
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if bytes.len() + chunk.len() > cap {
                        return Err(BodyError::TooLarge);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => return Err(BodyError::Io),
            }
        }
        drop(stream);
        let _trailers = IncomingBody::finish(body);
        Ok(bytes)
    }

    fn send(response: mcp::Response, response_out: ResponseOutparam) {
        let mut headers: Vec<(String, Vec<u8>)> = response
            .headers
            .into_iter()
            .map(|(name, value)| (name, value.into_bytes()))
            .collect();
        headers.push((
            "content-length".into(),
            response.body.len().to_string().into_bytes(),
        ));
        let fields = Fields::from_list(&headers).expect("static, valid header names and values");
        let outgoing = OutgoingResponse::new(fields);
        outgoing
            .set_status_code(response.status)
            .expect("a valid status code");
        let body = outgoing.body().expect("the body is taken once");
        // Small bodies are written and finished before the response is handed
        // over, so the host sends head and body together (Spin's sockets keep
        // Nagle's algorithm on: a head sent alone makes the body wait for the
        // client's delayed ACK, ~40 ms). The body pipe holds one 4096-byte write.
        let mut unsent = Some((outgoing, response_out));
        if response.body.len() > 4096 {
            if let Some((outgoing, response_out)) = unsent.take() {
                ResponseOutparam::set(response_out, Ok(outgoing));
            }
        }
        let stream = body.write().expect("the stream is taken once");
        for chunk in response.body.chunks(4096) {
            // blocking-write-and-flush takes at most 4096 bytes per call.
            if stream.blocking_write_and_flush(chunk).is_err() {
                // The client went away: nothing left to do.
                return;
            }
        }
        drop(stream);
        let _ = OutgoingBody::finish(body, None);
        if let Some((outgoing, response_out)) = unsent {
            ResponseOutparam::set(response_out, Ok(outgoing));
        }
    }
}
