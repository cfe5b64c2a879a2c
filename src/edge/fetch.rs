//! Bounded outgoing GETs over wasi:http: one deadline for all of a request's
//! fetches together, a size cap, and only a 200 counts.

use std::time::Duration;

use url::{Position, Url};

use crate::cache::{self, Fetched, Fetcher};
use wasi::clocks::monotonic_clock;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingRequest, RequestOptions, Scheme,
};
use wasi::io::poll;
use wasi::io::streams::StreamError;

/// All fetches of one request together (discovery candidates, then the JWKS),
/// connect to last byte: a slow provider holds a request at most this long.
pub const DEADLINE: Duration = Duration::from_secs(10);
/// Largest document read (JWKS, discovery metadata).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The fetches of one request: the deadline starts with the first.
#[derive(Default)]
pub struct HttpFetcher {
    deadline: Option<u64>,
}

impl Fetcher for HttpFetcher {
    fn fetch(&mut self, url: &Url) -> Result<Fetched, String> {
        // Saturating: a host clock near u64::MAX must not wrap the deadline into the past.
        let deadline = *self.deadline.get_or_insert_with(|| {
            monotonic_clock::now().saturating_add(DEADLINE.as_nanos() as u64)
        });
        let left = deadline.saturating_sub(monotonic_clock::now());
        if left == 0 {
            return Err(format!(
                "not fetched: this request's {} s for fetches are spent",
                DEADLINE.as_secs()
            ));
        }
        get_json(url, deadline, left)
    }
}

/// GETs `url` with `Accept: application/json` by `deadline` (`left` ns from
/// now); the body of a 200 and its `Cache-Control: max-age`, or why not.
fn get_json(url: &Url, deadline: u64, left: u64) -> Result<Fetched, String> {
    let request = build_request(url)?;
    let options = RequestOptions::new();
    // Hosts may not support every timeout; the deadline below still applies.
    let timeout = Some(left);
    let _ = options.set_connect_timeout(timeout);
    let _ = options.set_first_byte_timeout(timeout);
    let _ = options.set_between_bytes_timeout(timeout);

    let future = outgoing_handler::handle(request, Some(options)).map_err(|e| describe(e, url))?;
    wait(&future.subscribe(), deadline)?;
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(describe(code, url)),
        _ => return Err("no response".into()),
    };
    let status = response.status();
    if status != 200 {
        return Err(format!("HTTP status {status}"));
    }
    let max_age = response
        .headers()
        .get("cache-control")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok().and_then(cache::max_age));
    let body = response
        .consume()
        .map_err(|()| "body unavailable".to_owned())?;
    let bytes = read_body(&body, deadline);
    // Children before parents: the body handle belongs to the response.
    drop(body);
    drop(response);
    Ok(Fetched {
        body: bytes?,
        max_age,
    })
}

fn build_request(url: &Url) -> Result<OutgoingRequest, String> {
    let headers = Fields::from_list(&[("accept".to_owned(), b"application/json".to_vec())])
        .map_err(|e| format!("headers: {e:?}"))?;
    let request = OutgoingRequest::new(headers);
    let scheme = match url.scheme() {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => return Err(format!("unsupported scheme {other}")),
    };
    let authority = &url[Position::BeforeHost..Position::AfterPort];
    let path_with_query = &url[Position::BeforePath..Position::AfterQuery];
    let ok = request.set_method(&Method::Get).is_ok()
        && request.set_scheme(Some(&scheme)).is_ok()
        && request.set_authority(Some(authority)).is_ok()
        && request.set_path_with_query(Some(path_with_query)).is_ok();
    if !ok {
        return Err("invalid request URL".into());
    }
    Ok(request)
}

fn read_body(body: &IncomingBody, deadline: u64) -> Result<Vec<u8>, String> {
    let stream = body
        .stream()
        .map_err(|()| "body stream unavailable".to_owned())?;
    let mut bytes = Vec::new();
    loop {
        wait(&stream.subscribe(), deadline)?;
        match stream.read(64 * 1024) {
            Ok(chunk) => {
                if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(format!("body larger than {MAX_BODY_BYTES} bytes"));
                }
                bytes.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => return Ok(bytes),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("body read failed: {}", e.to_debug_string()))
            }
        }
    }
}

/// Blocks until `pollable` is ready or the deadline passes.
fn wait(pollable: &poll::Pollable, deadline: u64) -> Result<(), String> {
    let timer = monotonic_clock::subscribe_instant(deadline);
    let ready = poll::poll(&[pollable, &timer]);
    if ready.contains(&0) {
        Ok(())
    } else {
        Err(format!("timed out after {} s", DEADLINE.as_secs()))
    }
}

fn describe(code: ErrorCode, url: &Url) -> String {
    match code {
        // Spin refuses hosts missing from the component's `allowed_outbound_hosts`.
        ErrorCode::HttpRequestDenied => format!(
            "request denied by the host: add \"{}://{}\" to allowed_outbound_hosts in spin.toml",
            url.scheme(),
            &url[Position::BeforeHost..Position::AfterPort]
        ),
        other => format!("{other:?}"),
    }
}
