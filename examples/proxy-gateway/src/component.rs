//! The wasi:http glue: one upstream exchange per incoming request, both bodies
//! streamed. The decisions (URL, headers, bodies) are in [`crate::proxy`].

use wasi::clocks::monotonic_clock;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingRequest, IncomingResponse,
    OutgoingBody, OutgoingRequest, OutgoingResponse, RequestOptions, ResponseOutparam, Scheme,
};
use wasi::io::poll::{self, Pollable};
use wasi::io::streams::{InputStream, OutputStream, StreamError};

use crate::proxy::{self, Upstream, UPSTREAM_VARIABLE};

mod bindings {
    wit_bindgen::generate!({
        inline: r#"
            package wasmcp:proxy-gateway;

            world proxy-gateway {
                /// Spin variables: `upstream_url`.
                import wasi:config/store@0.2.0-draft-2024-09-27;
                /// The upstream exchange.
                import wasi:http/outgoing-handler@0.2.4;

                export wasi:http/incoming-handler@0.2.4;
            }
        "#,
        // The vendored WIT of the middleware (wasi 0.2.4, wasi:config).
        path: "../../wit",
        with: {
            "wasi:http/types@0.2.4": ::wasi::http::types,
            "wasi:http/outgoing-handler@0.2.4": ::wasi::http::outgoing_handler,
            "wasi:io/error@0.2.4": ::wasi::io::error,
            "wasi:io/poll@0.2.4": ::wasi::io::poll,
            "wasi:io/streams@0.2.4": ::wasi::io::streams,
            "wasi:clocks/monotonic-clock@0.2.4": ::wasi::clocks::monotonic_clock,
            "wasi:config/store@0.2.0-draft-2024-09-27": generate,
            "wasi:http/incoming-handler@0.2.4": generate,
        },
    });
}

use bindings::wasi::config::store;

/// Largest chunk read at once from either body.
const CHUNK: u64 = 64 * 1024;
const SECOND_NS: u64 = 1_000_000_000;
/// Connecting to the upstream.
const CONNECT_TIMEOUT_NS: u64 = 10 * SECOND_NS;
/// Silence allowed between two bytes of the upstream's response. An MCP event
/// stream may legitimately stay quiet for long, so this is generous (hosts default
/// to a few minutes); the first byte keeps the host's default.
const IDLE_TIMEOUT_NS: u64 = 24 * 3600 * SECOND_NS;
/// How often a quiet response stream checks that its client is still there, so
/// that an abandoned event stream releases the upstream connection.
const CLIENT_CHECK_NS: u64 = 10 * SECOND_NS;

struct ProxyGateway;

impl bindings::exports::wasi::http::incoming_handler::Guest for ProxyGateway {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let upstream = match store::get(UPSTREAM_VARIABLE) {
            Ok(value) => Upstream::parse(value.as_deref()),
            Err(e) => Err(format!("{UPSTREAM_VARIABLE} could not be read: {e:?}")),
        };
        let upstream = match upstream {
            Ok(upstream) => upstream,
            Err(message) => {
                eprintln!("proxy-gateway: {message}");
                return send_error(response_out, 500, "server_error", &message);
            }
        };

        // The upstream request: same method, path+query, end-to-end headers.
        let headers = request.headers().entries();
        let outgoing = OutgoingRequest::new(to_fields(&proxy::forwarded_headers(&headers)));
        let scheme = if upstream.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let path = upstream.path_with_query(request.path_with_query().as_deref());
        let built = outgoing.set_method(&request.method()).is_ok()
            && outgoing.set_scheme(Some(&scheme)).is_ok()
            && outgoing.set_authority(Some(&upstream.authority)).is_ok()
            && outgoing.set_path_with_query(Some(&path)).is_ok();
        if !built {
            let message = "the request cannot be expressed to the upstream";
            return send_error(response_out, 500, "server_error", message);
        }

        // The body, if any, is taken before the request leaves, and written while
        // the exchange is under way.
        let body = match RequestBody::open(&request, proxy::declared_length(&headers)) {
            Ok(body) => body,
            Err(()) => {
                let message = "the request body could not be read";
                return send_error(response_out, 400, "invalid_request", message);
            }
        };
        let outgoing_body = body
            .as_ref()
            .map(|_| outgoing.body().expect("the body is taken once"));

        let options = RequestOptions::new();
        // Hosts may refuse some timeouts; their defaults then apply.
        let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT_NS));
        let _ = options.set_between_bytes_timeout(Some(IDLE_TIMEOUT_NS));
        let future = match outgoing_handler::handle(outgoing, Some(options)) {
            Ok(future) => future,
            Err(code) => return bad_gateway(response_out, &code),
        };
        if let (Some(body), Some(outgoing_body)) = (body, outgoing_body) {
            body.send(outgoing_body, &future.subscribe());
        }
        match wait_for_response(&future) {
            Ok(response) => forward_response(response, response_out),
            Err(code) => bad_gateway(response_out, &code),
        }
    }
}

bindings::export!(ProxyGateway with_types_in bindings);

/// Header fields from a list, skipping (and logging) any the host refuses.
fn to_fields(headers: &[(String, Vec<u8>)]) -> Fields {
    let fields = Fields::new();
    for (name, value) in headers {
        if fields.append(name, value).is_err() {
            eprintln!("proxy-gateway: header {name:?} not forwarded: refused by the host");
        }
    }
    fields
}

/// The client's request body, opened, with the bytes already read.
struct RequestBody {
    // Fields drop in order: the stream before its body.
    stream: InputStream,
    _body: IncomingBody,
    first: Vec<u8>,
}

impl RequestBody {
    /// `None` when the request has no body. Without a declared length (a chunked
    /// body, or none at all) it waits for the first bytes or the end to tell, so
    /// that a GET is not sent with an empty chunked body.
    fn open(request: &IncomingRequest, declared_length: Option<u64>) -> Result<Option<Self>, ()> {
        if declared_length == Some(0) {
            return Ok(None);
        }
        let body = request.consume()?;
        let stream = body.stream()?;
        let mut first = Vec::new();
        if declared_length.is_none() {
            match stream.blocking_read(CHUNK) {
                Ok(chunk) => first = chunk,
                Err(StreamError::Closed) => return Ok(None),
                Err(StreamError::LastOperationFailed(_)) => return Err(()),
            }
        }
        Ok(Some(Self {
            stream,
            _body: body,
            first,
        }))
    }

    /// Copies the body to the upstream as it arrives, then finishes it. Stops early,
    /// leaving the upstream body unfinished (the upstream sees it cut off), if the
    /// upstream answers before the client is done sending or the client's body
    /// breaks off.
    fn send(self, outgoing: OutgoingBody, response_ready: &Pollable) {
        let complete = match outgoing.write() {
            Ok(to) => {
                write_all(&to, &self.first).is_ok()
                    && copy_request(&self.stream, &to, response_ready)
            }
            Err(()) => false,
        };
        drop(self);
        if complete {
            if let Err(code) = OutgoingBody::finish(outgoing, None) {
                eprintln!("proxy-gateway: request body not accepted: {code:?}");
            }
        }
    }
}

/// `true` once the whole request body was copied.
fn copy_request(from: &InputStream, to: &OutputStream, response_ready: &Pollable) -> bool {
    let readable = from.subscribe();
    loop {
        // Keep copying while the client sends; give up only when the client is
        // quiet and the upstream has already answered.
        if !poll::poll(&[&readable, response_ready]).contains(&0) {
            return false;
        }
        match from.read(CHUNK) {
            Ok(chunk) => {
                if write_all(to, &chunk).is_err() {
                    return false;
                }
            }
            Err(StreamError::Closed) => return true,
            Err(StreamError::LastOperationFailed(e)) => {
                eprintln!("proxy-gateway: request body: {}", summary(&e));
                return false;
            }
        }
    }
}

fn wait_for_response(future: &FutureIncomingResponse) -> Result<IncomingResponse, ErrorCode> {
    future.subscribe().block();
    match future.get() {
        Some(Ok(result)) => result,
        // Already taken or not ready: neither happens after `block`.
        _ => Err(ErrorCode::InternalError(Some(
            "no upstream response".into(),
        ))),
    }
}

/// Sends the upstream's status and headers at once, then streams its body.
fn forward_response(response: IncomingResponse, response_out: ResponseOutparam) {
    let status = response.status();
    let headers = proxy::forwarded_headers(&response.headers().entries());
    let outgoing = OutgoingResponse::new(to_fields(&headers));
    if outgoing.set_status_code(status).is_err() {
        let code = ErrorCode::HttpProtocolError;
        return bad_gateway(response_out, &code);
    }
    let Ok(body) = outgoing.body() else {
        return;
    };
    ResponseOutparam::set(response_out, Ok(outgoing));

    let Ok(incoming) = response.consume() else {
        return; // `body` dropped unfinished: the client sees a cut response.
    };
    let end = match (incoming.stream(), body.write()) {
        (Ok(from), Ok(to)) => stream_response(&from, &to),
        _ => End::UpstreamFailed("body stream unavailable".into()),
    };
    match end {
        End::Complete => {
            let _ = OutgoingBody::finish(body, None);
        }
        End::ClientGone => {}
        // Unfinished, so the client can tell the response is incomplete.
        End::UpstreamFailed(why) => eprintln!("proxy-gateway: upstream response cut: {why}"),
    }
    // `incoming` and `response` drop here, releasing the upstream connection.
}

enum End {
    Complete,
    ClientGone,
    UpstreamFailed(String),
}

/// Forwards each chunk of the upstream body as soon as it arrives, flushed.
fn stream_response(from: &InputStream, to: &OutputStream) -> End {
    let readable = from.subscribe();
    loop {
        let check = monotonic_clock::subscribe_duration(CLIENT_CHECK_NS);
        if !poll::poll(&[&readable, &check]).contains(&0) {
            // Nothing from the upstream for a while: is the client still there?
            if to.check_write().is_err() {
                return End::ClientGone;
            }
            continue;
        }
        match from.read(CHUNK) {
            Ok(chunk) => {
                if write_all(to, &chunk).is_err() {
                    return End::ClientGone;
                }
            }
            Err(StreamError::Closed) => return End::Complete,
            Err(StreamError::LastOperationFailed(e)) => return End::UpstreamFailed(summary(&e)),
        }
    }
}

/// Writes `bytes` as the stream accepts them (waiting when it is full), then
/// flushes, so that they leave now.
fn write_all(to: &OutputStream, mut bytes: &[u8]) -> Result<(), StreamError> {
    if bytes.is_empty() {
        return Ok(());
    }
    while !bytes.is_empty() {
        let permitted = to.check_write()?;
        if permitted == 0 {
            to.subscribe().block();
            continue;
        }
        let n = bytes.len().min(permitted.try_into().unwrap_or(usize::MAX));
        to.write(&bytes[..n])?;
        bytes = &bytes[n..];
    }
    to.blocking_flush()
}

/// The first line of a stream error (hosts may append a backtrace).
fn summary(error: &wasi::io::error::Error) -> String {
    let debug = error.to_debug_string();
    debug.lines().next().unwrap_or_default().to_owned()
}

fn bad_gateway(response_out: ResponseOutparam, code: &ErrorCode) {
    eprintln!("proxy-gateway: upstream exchange failed: {code:?}");
    let message = "the upstream server could not be reached";
    send_error(response_out, 502, "bad_gateway", message);
}

/// A complete JSON error response.
fn send_error(response_out: ResponseOutparam, status: u16, error: &str, description: &str) {
    let json = proxy::error_body(error, description);
    let headers = [
        ("content-type".to_owned(), b"application/json".to_vec()),
        (
            "content-length".to_owned(),
            json.len().to_string().into_bytes(),
        ),
    ];
    let response = OutgoingResponse::new(to_fields(&headers));
    let _ = response.set_status_code(status);
    let Ok(body) = response.body() else {
        return;
    };
    ResponseOutparam::set(response_out, Ok(response));
    let written = match body.write() {
        Ok(out) => write_all(&out, &json).is_ok(),
        Err(()) => false,
    };
    if written {
        let _ = OutgoingBody::finish(body, None);
    }
}
