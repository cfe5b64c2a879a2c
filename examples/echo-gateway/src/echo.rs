//! Routing and formatting for the echo gateway, as pure functions (unit-tested natively).

use serde_json::{json, Value};

/// Largest request body echoed; bigger ones get 413.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Most events `/stream` sends.
pub const MAX_STREAM_EVENTS: u32 = 1000;
/// Longest pause between `/stream` events.
pub const MAX_STREAM_DELAY_MS: u64 = 10_000;
/// Largest `/big` body.
pub const MAX_BIG_BYTES: u64 = 16 * 1024 * 1024;

/// What a request asks for.
#[derive(Debug, PartialEq)]
pub enum Route {
    /// Describe the request as JSON.
    Echo,
    /// `/stream?n=N&delay_ms=D`: N server-sent events, D ms apart.
    Stream { n: u32, delay_ms: u64 },
    /// `/status/CODE`: that status, body `status CODE`, header `x-echo: yes`.
    Status(u16),
    /// `/big?bytes=N[&content_length=1]`: N pattern bytes, written in chunks; with a
    /// `content-length` header only when asked (chunked otherwise).
    Big { bytes: u64, content_length: bool },
    /// `/relay`: each piece of the request body, as soon as it arrives, goes back
    /// as one server-sent event (both directions stream, in lock step with the
    /// client).
    Relay,
}

/// Picks the route for `path_with_query`; `Err` is a message for a 400.
pub fn route(path_with_query: &str) -> Result<Route, String> {
    let (path, query) = path_with_query
        .split_once('?')
        .unwrap_or((path_with_query, ""));
    match path {
        "/stream" => Ok(Route::Stream {
            n: query_number(query, "n", 3)?.min(MAX_STREAM_EVENTS.into()) as u32,
            delay_ms: query_number(query, "delay_ms", 50)?.min(MAX_STREAM_DELAY_MS),
        }),
        "/relay" => Ok(Route::Relay),
        "/big" => Ok(Route::Big {
            bytes: query_number(query, "bytes", 1024 * 1024)?.min(MAX_BIG_BYTES),
            content_length: query_number(query, "content_length", 0)? != 0,
        }),
        _ => match path.strip_prefix("/status/") {
            Some(code) => match code.parse::<u16>() {
                // Final statuses only: 1xx cannot end an exchange.
                Ok(code @ 200..=599) => Ok(Route::Status(code)),
                _ => Err(format!("invalid status code: {code}")),
            },
            None => Ok(Route::Echo),
        },
    }
}

/// The last `key=<u64>` in `query`, or `default` if absent.
fn query_number(query: &str, key: &str, default: u64) -> Result<u64, String> {
    let mut value = default;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == key {
            value = v
                .parse()
                .map_err(|_| format!("query parameter {key} must be a non-negative integer"))?;
        }
    }
    Ok(value)
}

/// Whether a response with this status must have an empty body.
pub fn status_forbids_body(status: u16) -> bool {
    matches!(status, 204 | 304)
}

/// One `/stream` event, numbered from 0.
pub fn sse_event(i: u32) -> String {
    format!("id: {i}\ndata: {{\"i\":{i}}}\n\n")
}

/// A `/relay` event carrying one piece of the request body.
pub fn relay_event(piece: &[u8]) -> String {
    format!("data: {}\n\n", String::from_utf8_lossy(piece))
}

/// `/big` content: byte `offset + k` of the body is `(offset + k) % 251`.
pub fn pattern_chunk(offset: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|k| ((offset + k) % 251) as u8)
        .collect()
}

/// What the request looked like, for the echo response.
pub struct RequestDescription<'a> {
    pub method: &'a str,
    pub path_with_query: Option<&'a str>,
    pub scheme: Option<&'a str>,
    pub authority: Option<&'a str>,
    pub headers: &'a [(String, Vec<u8>)],
    pub body: &'a [u8],
}

/// The echo response body.
pub fn describe(request: &RequestDescription) -> Value {
    let headers: Vec<Value> = request
        .headers
        .iter()
        .map(|(name, value)| json!([name, String::from_utf8_lossy(value)]))
        .collect();
    json!({
        "method": request.method,
        "path_with_query": request.path_with_query,
        "scheme": request.scheme,
        "authority": request.authority,
        "headers": headers,
        "body_base64": base64(request.body),
    })
}

/// Standard base64 (RFC 4648 §4) with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xfe]), "+//+");
        assert_eq!(base64(&[0, 0, 0, 0]), "AAAAAA==");
    }

    #[test]
    fn routes() {
        assert_eq!(route("/"), Ok(Route::Echo));
        assert_eq!(route("/mcp?x=1"), Ok(Route::Echo));
        assert_eq!(route("/streaming"), Ok(Route::Echo));
        assert_eq!(route("/relay"), Ok(Route::Relay));
        assert_eq!(relay_event(b"ping 1"), "data: ping 1\n\n");
        assert_eq!(route("/stream"), Ok(Route::Stream { n: 3, delay_ms: 50 }));
        assert_eq!(
            route("/stream?n=5&delay_ms=0"),
            Ok(Route::Stream { n: 5, delay_ms: 0 })
        );
        assert_eq!(
            route("/stream?n=99999&delay_ms=99999999"),
            Ok(Route::Stream {
                n: MAX_STREAM_EVENTS,
                delay_ms: MAX_STREAM_DELAY_MS
            })
        );
        assert!(route("/stream?n=-1").is_err());
        assert_eq!(route("/status/418"), Ok(Route::Status(418)));
        assert!(route("/status/99").is_err());
        assert!(route("/status/101").is_err());
        assert!(route("/status/600").is_err());
        assert!(route("/status/abc").is_err());
        assert_eq!(
            route("/big?bytes=10"),
            Ok(Route::Big {
                bytes: 10,
                content_length: false
            })
        );
        assert_eq!(
            route("/big?bytes=999999999999&content_length=1"),
            Ok(Route::Big {
                bytes: MAX_BIG_BYTES,
                content_length: true
            })
        );
    }

    #[test]
    fn sse_and_pattern() {
        assert_eq!(sse_event(2), "id: 2\ndata: {\"i\":2}\n\n");
        let whole = pattern_chunk(0, 1000);
        assert_eq!(pattern_chunk(300, 200), whole[300..500]);
        assert_eq!(whole[250], 250);
        assert_eq!(whole[251], 0);
    }

    #[test]
    fn describe_keeps_header_order_and_repeats() {
        let headers = vec![
            ("x-b".to_owned(), b"2".to_vec()),
            ("x-a".to_owned(), b"1".to_vec()),
            ("x-b".to_owned(), vec![0xff, b'3']),
        ];
        let description = describe(&RequestDescription {
            method: "POST",
            path_with_query: Some("/p?q=1"),
            scheme: Some("http"),
            authority: None,
            headers: &headers,
            body: b"hi",
        });
        assert_eq!(
            description,
            json!({
                "method": "POST",
                "path_with_query": "/p?q=1",
                "scheme": "http",
                "authority": null,
                "headers": [["x-b", "2"], ["x-a", "1"], ["x-b", "\u{fffd}3"]],
                "body_base64": "aGk=",
            })
        );
    }
}
