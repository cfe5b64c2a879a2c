//! A diagnostic `wasi:http/incoming-handler@0.2.4` component for integration tests: it
//! shows what reached it (to prove a middleware forwards requests unchanged) and
//! produces streamed, large and odd-status responses (to prove responses come back
//! unchanged).
//!
//! - any path: 200 `application/json` describing the request (method, path, scheme,
//!   authority, headers in order, body as base64);
//! - `/stream?n=N&delay_ms=D`: `text/event-stream`, N events flushed one by one, D ms
//!   apart (defaults 3 and 50; at most 1000 events);
//! - `/relay`: `text/event-stream`; each piece of the request body goes back as one
//!   event as soon as it is read (proves both directions stream, without a clock);
//! - `/status/CODE`: that status, body `status CODE`, header `x-echo: yes`;
//! - `/big?bytes=N[&content_length=1]`: N bytes (`i % 251`) written in chunks, at most
//!   16 MiB.

pub mod echo;

#[cfg(target_arch = "wasm32")]
mod component {
    use wasi::clocks::monotonic_clock;
    use wasi::http::types::{
        Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse,
        ResponseOutparam, Scheme,
    };
    use wasi::io::streams::{OutputStream, StreamError};

    use crate::echo::{self, Route};

    struct EchoGateway;

    wasi::http::proxy::export!(EchoGateway);

    impl wasi::exports::http::incoming_handler::Guest for EchoGateway {
        fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
            let path_with_query = request.path_with_query();
            match echo::route(path_with_query.as_deref().unwrap_or("/")) {
                Ok(Route::Echo) => echo_request(request, response_out),
                Ok(Route::Stream { n, delay_ms }) => stream(n, delay_ms, response_out),
                Ok(Route::Relay) => relay(request, response_out),
                Ok(Route::Status(code)) => status(code, response_out),
                Ok(Route::Big {
                    bytes,
                    content_length,
                }) => big(bytes, content_length, response_out),
                Err(message) => send_text(400, &[], message.as_bytes(), response_out),
            }
        }
    }

    fn echo_request(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = method_name(&request.method());
        let path_with_query = request.path_with_query();
        let scheme = request.scheme().map(|scheme| match scheme {
            Scheme::Http => "http".to_owned(),
            Scheme::Https => "https".to_owned(),
            Scheme::Other(other) => other,
        });
        let authority = request.authority();
        let headers = request.headers().entries();
        let body = match read_body(request, echo::MAX_BODY_BYTES) {
            Ok(body) => body,
            Err(ReadError::TooLarge) => {
                return send_text(413, &[], b"request body too large", response_out)
            }
            Err(ReadError::Io) => {
                return send_text(400, &[], b"could not read the request body", response_out)
            }
        };
        let description = echo::describe(&echo::RequestDescription {
            method: &method,
            path_with_query: path_with_query.as_deref(),
            scheme: scheme.as_deref(),
            authority: authority.as_deref(),
            headers: &headers,
            body: &body,
        });
        let json = serde_json::to_vec(&description).expect("a Value always serialises");
        send(
            200,
            &[("content-type", "application/json")],
            &json,
            response_out,
        );
    }

    fn stream(n: u32, delay_ms: u64, response_out: ResponseOutparam) {
        let headers = [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ];
        let (body, out) = start(200, &headers, response_out);
        for i in 0..n {
            if i > 0 && delay_ms > 0 {
                monotonic_clock::subscribe_duration(delay_ms * 1_000_000).block();
            }
            // Each event is written and flushed on its own, so it leaves now.
            if out
                .blocking_write_and_flush(echo::sse_event(i).as_bytes())
                .is_err()
            {
                return; // The client went away.
            }
        }
        finish(body, out);
    }

    fn relay(request: IncomingRequest, response_out: ResponseOutparam) {
        let Ok(incoming) = request.consume() else {
            return send_text(400, &[], b"no request body", response_out);
        };
        let Ok(input) = incoming.stream() else {
            return send_text(400, &[], b"no request body", response_out);
        };
        let (body, out) = start(200, &[("content-type", "text/event-stream")], response_out);
        // Blocks until the client sends the next piece, which it does only after
        // reading the previous event: nothing here may wait for the whole body.
        while let Ok(piece) = input.blocking_read(64 * 1024) {
            if out
                .blocking_write_and_flush(echo::relay_event(&piece).as_bytes())
                .is_err()
            {
                return;
            }
        }
        finish(body, out);
    }

    fn status(code: u16, response_out: ResponseOutparam) {
        let body = if echo::status_forbids_body(code) {
            String::new()
        } else {
            format!("status {code}")
        };
        send_text(code, &[("x-echo", "yes")], body.as_bytes(), response_out);
    }

    fn big(bytes: u64, content_length: bool, response_out: ResponseOutparam) {
        let length = bytes.to_string();
        let mut headers = vec![("content-type", "application/octet-stream")];
        if content_length {
            headers.push(("content-length", &length));
        }
        let (body, out) = start(200, &headers, response_out);
        const CHUNK: u64 = 64 * 1024;
        let mut offset = 0;
        while offset < bytes {
            let len = CHUNK.min(bytes - offset);
            if write_all(&out, &echo::pattern_chunk(offset, len as usize)).is_err() {
                return;
            }
            offset += len;
        }
        finish(body, out);
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

    enum ReadError {
        TooLarge,
        Io,
    }

    /// Reads the whole request body, failing once it exceeds `cap` bytes.
    fn read_body(request: IncomingRequest, cap: usize) -> Result<Vec<u8>, ReadError> {
        let body = request.consume().map_err(|()| ReadError::Io)?;
        let stream = body.stream().map_err(|()| ReadError::Io)?;
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if bytes.len() + chunk.len() > cap {
                        return Err(ReadError::TooLarge);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => return Err(ReadError::Io),
            }
        }
        drop(stream);
        let _trailers = IncomingBody::finish(body);
        Ok(bytes)
    }

    /// Sends the response head and returns its body to write.
    fn start(
        status: u16,
        headers: &[(&str, &str)],
        response_out: ResponseOutparam,
    ) -> (OutgoingBody, OutputStream) {
        let fields: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
            .collect();
        let fields = Fields::from_list(&fields).expect("valid header names and values");
        let response = OutgoingResponse::new(fields);
        response
            .set_status_code(status)
            .expect("routes only produce valid statuses");
        let body = response.body().expect("the body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        let out = body.write().expect("the stream is taken once");
        (body, out)
    }

    fn finish(body: OutgoingBody, out: OutputStream) {
        drop(out);
        let _ = OutgoingBody::finish(body, None);
    }

    /// A whole response with a known body and its `content-length` (none for 204/304).
    fn send(status: u16, headers: &[(&str, &str)], bytes: &[u8], response_out: ResponseOutparam) {
        let length = bytes.len().to_string();
        let mut headers = headers.to_vec();
        if !echo::status_forbids_body(status) {
            headers.push(("content-length", &length));
        }
        let (body, out) = start(status, &headers, response_out);
        if write_all(&out, bytes).is_ok() {
            finish(body, out);
        }
    }

    fn send_text(
        status: u16,
        headers: &[(&str, &str)],
        bytes: &[u8],
        response_out: ResponseOutparam,
    ) {
        let mut headers = headers.to_vec();
        headers.push(("content-type", "text/plain; charset=utf-8"));
        send(status, &headers, bytes, response_out);
    }

    /// Writes `bytes` as the stream accepts them (waiting when it is full), then flushes.
    fn write_all(out: &OutputStream, mut bytes: &[u8]) -> Result<(), StreamError> {
        while !bytes.is_empty() {
            let permitted = out.check_write()?;
            if permitted == 0 {
                out.subscribe().block();
                continue;
            }
            let n = bytes.len().min(permitted.try_into().unwrap_or(usize::MAX));
            out.write(&bytes[..n])?;
            bytes = &bytes[n..];
        }
        out.blocking_flush()
    }
}
