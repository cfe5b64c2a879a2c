//! Test guest for authkit-host: each path exercises one host feature and
//! answers with JSON (hand-written, to keep this crate dependency-free).

wit_bindgen::generate!({
    path: "wit",
    world: "authkit:test-guest/guest",
    generate_all,
});

use exports::wasi::http::incoming_handler::Guest;
use wasi::clocks::monotonic_clock;
use wasi::config::store as config;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};
use wasi::io::streams::StreamError;
use wasi::keyvalue::{atomics, batch, store as kv};

struct Component;
export!(Component);

impl Guest for Component {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path_query = request.path_with_query().unwrap_or_default();
        let (path, query) = path_query.split_once('?').unwrap_or((&path_query, ""));
        let q = |name: &str| param(query, name);
        let body = match path {
            "/config" => config_route(&q("key").unwrap_or_default()),
            "/kv/open" => match kv::open(&q("label").unwrap_or_default()) {
                Ok(_) => r#"{"ok":true}"#.to_string(),
                Err(e) => format!(r#"{{"error":{}}}"#, js(&kv_error(&e))),
            },
            "/kv/set" => {
                let bucket = kv::open("default").unwrap();
                let key = q("key").unwrap();
                bucket
                    .set(&key, q("value").unwrap_or_default().as_bytes())
                    .unwrap();
                r#"{"ok":true}"#.to_string()
            }
            "/kv/get" => {
                let bucket = kv::open("default").unwrap();
                let value = bucket.get(&q("key").unwrap()).unwrap();
                format!(r#"{{"value":{}}}"#, opt_bytes(value))
            }
            "/kv/incr" => {
                let bucket = kv::open("default").unwrap();
                let delta = q("delta").map_or(1, |d| d.parse().unwrap());
                let value = atomics::increment(&bucket, &q("key").unwrap(), delta).unwrap();
                format!(r#"{{"value":{value}}}"#)
            }
            "/kv/list-all" => list_all(),
            "/kv/exercise" => exercise_kv(),
            "/outbound" => outbound(&q("url").unwrap_or_default()),
            "/echo" => echo(&request, path),
            "/sleep" => {
                let ms: u64 = q("ms").map_or(100, |m| m.parse().unwrap());
                monotonic_clock::subscribe_duration(ms * 1_000_000).block();
                r#"{"slept":true}"#.to_string()
            }
            // Arrives at a barrier of `n` requests (a key-value counter) and waits,
            // polling every 5 ms for at most 20 s, until all `n` have arrived:
            // only requests that run at the same time can all pass it.
            "/barrier" => {
                let bucket = kv::open("default").unwrap();
                let key = q("key").unwrap();
                let n = q("n").unwrap().parse().unwrap();
                atomics::increment(&bucket, &key, 1).unwrap();
                // Adding 0 reads the counter.
                let arrived = |bucket: &kv::Bucket| atomics::increment(bucket, &key, 0).unwrap();
                let mut polls = 0;
                while arrived(&bucket) < n && polls < 4_000 {
                    monotonic_clock::subscribe_duration(5_000_000).block();
                    polls += 1;
                }
                format!(r#"{{"arrived":{}}}"#, arrived(&bucket))
            }
            "/log" => {
                println!("guest stdout line");
                eprintln!("guest stderr line");
                r#"{"logged":true}"#.to_string()
            }
            "/trap" => panic!("trap requested"),
            // Returning without `response-outparam.set`.
            "/no-response" => return,
            _ => {
                return respond(out, 404, "text/plain", b"not found\n".to_vec());
            }
        };
        respond(out, 200, "application/json", body.into_bytes());
    }
}

fn respond(out: ResponseOutparam, status: u16, content_type: &str, body: Vec<u8>) {
    let headers =
        Fields::from_list(&[("content-type".to_string(), content_type.as_bytes().to_vec())])
            .unwrap();
    let resp = OutgoingResponse::new(headers);
    resp.set_status_code(status).unwrap();
    let out_body = resp.body().unwrap();
    ResponseOutparam::set(out, Ok(resp));
    let stream = out_body.write().unwrap();
    // blocking-write-and-flush takes at most 4096 bytes per call.
    for chunk in body.chunks(4096) {
        stream.blocking_write_and_flush(chunk).unwrap();
    }
    drop(stream);
    OutgoingBody::finish(out_body, None).unwrap();
}

fn config_route(key: &str) -> String {
    let get = match config::get(key) {
        Ok(v) => opt_str(v),
        Err(e) => format!(r#"{{"error":{}}}"#, js(&format!("{e:?}"))),
    };
    let all = match config::get_all() {
        Ok(pairs) => {
            let items: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", js(k), js(v)))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Err(e) => format!(r#"{{"error":{}}}"#, js(&format!("{e:?}"))),
    };
    format!(r#"{{"get":{get},"all":{all}}}"#)
}

fn list_all() -> String {
    let bucket = kv::open("default").unwrap();
    let (mut count, mut pages, mut cursor) = (0, 0, None);
    loop {
        let page = bucket.list_keys(cursor.as_deref()).unwrap();
        count += page.keys.len();
        pages += 1;
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    format!(r#"{{"count":{count},"pages":{pages}}}"#)
}

/// Every key-value operation once, each result reported under its own name.
fn exercise_kv() -> String {
    let b = kv::open("default").unwrap();
    let mut r: Vec<(&str, String)> = Vec::new();

    b.set("a", b"1").unwrap();
    r.push(("get_a", opt_bytes(b.get("a").unwrap())));
    r.push(("exists_a", b.exists("a").unwrap().to_string()));
    r.push(("exists_missing", b.exists("missing").unwrap().to_string()));
    r.push(("get_missing", opt_bytes(b.get("missing").unwrap())));
    let keys = b.list_keys(None).unwrap();
    r.push(("keys", list(&keys.keys)));
    r.push(("keys_cursor", opt_str(keys.cursor)));
    b.delete("a").unwrap();
    b.delete("never-existed").unwrap();
    r.push(("exists_a_after_delete", b.exists("a").unwrap().to_string()));

    r.push((
        "incr_5",
        atomics::increment(&b, "counter", 5).unwrap().to_string(),
    ));
    r.push((
        "incr_minus_2",
        atomics::increment(&b, "counter", -2).unwrap().to_string(),
    ));
    r.push((
        "counter_bytes",
        format!("{:?}", b.get("counter").unwrap().unwrap()),
    ));
    b.set("not-a-number", b"abc").unwrap();
    r.push((
        "incr_bad",
        js(&format!(
            "{:?}",
            atomics::increment(&b, "not-a-number", 1).err()
        )),
    ));

    // CAS on an absent key, then a lost race, then a retry with the new handle.
    let cas = atomics::Cas::new(&b, "c").unwrap();
    r.push(("cas_current_absent", opt_bytes(cas.current().unwrap())));
    r.push((
        "cas_swap_absent",
        js(&format!(
            "{:?}",
            atomics::swap(cas, b"x").map_err(cas_error)
        )),
    ));
    let cas = atomics::Cas::new(&b, "c").unwrap();
    r.push(("cas_current", opt_bytes(cas.current().unwrap())));
    b.set("c", b"y").unwrap();
    match atomics::swap(cas, b"lost") {
        Ok(()) => r.push(("cas_race", js("swapped"))),
        Err(atomics::CasError::StoreError(e)) => r.push(("cas_race", js(&kv_error(&e)))),
        Err(atomics::CasError::CasFailed(retry)) => {
            r.push(("cas_race", js("cas-failed")));
            r.push(("cas_retry_current", opt_bytes(retry.current().unwrap())));
            r.push((
                "cas_retry_swap",
                js(&format!(
                    "{:?}",
                    atomics::swap(retry, b"z").map_err(cas_error)
                )),
            ));
        }
    }
    r.push(("c_final", opt_bytes(b.get("c").unwrap())));

    batch::set_many(
        &b,
        &[
            ("b1".to_string(), b"v1".to_vec()),
            ("b2".to_string(), b"v2".to_vec()),
        ],
    )
    .unwrap();
    let many = batch::get_many(
        &b,
        &["b1".to_string(), "b2".to_string(), "b-missing".to_string()],
    )
    .unwrap();
    let many: Vec<String> = many
        .into_iter()
        .map(|(k, v)| format!("[{},{}]", js(&k), opt_bytes(v)))
        .collect();
    r.push(("get_many", format!("[{}]", many.join(","))));
    batch::delete_many(&b, &["b1".to_string(), "b-missing".to_string()]).unwrap();
    r.push(("b1_after_delete_many", opt_bytes(b.get("b1").unwrap())));
    r.push(("b2_after_delete_many", opt_bytes(b.get("b2").unwrap())));

    let fields: Vec<String> = r.iter().map(|(k, v)| format!("{}:{v}", js(k))).collect();
    format!("{{{}}}", fields.join(","))
}

/// GET `url` (`http://host:port/path`) and report the status and body, or the error code.
fn outbound(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some(("https", rest)) => (Scheme::Https, rest),
        Some((_, rest)) => (Scheme::Http, rest),
        None => return format!(r#"{{"error":{}}}"#, js("bad url")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let req = OutgoingRequest::new(Fields::new());
    req.set_method(&Method::Get).unwrap();
    req.set_scheme(Some(&scheme)).unwrap();
    req.set_authority(Some(authority)).unwrap();
    req.set_path_with_query(Some(path)).unwrap();
    let result = outgoing_handler::handle(req, None).and_then(|fut| {
        fut.subscribe().block();
        fut.get().expect("ready").expect("first get")
    });
    match result {
        Ok(resp) => {
            let status = resp.status();
            let body = resp.consume().unwrap();
            let stream = body.stream().unwrap();
            let mut bytes = Vec::new();
            loop {
                match stream.blocking_read(4096) {
                    Ok(chunk) => bytes.extend(chunk),
                    Err(StreamError::Closed) => break,
                    Err(e) => return format!(r#"{{"error":{}}}"#, js(&format!("{e:?}"))),
                }
            }
            format!(
                r#"{{"status":{status},"body":{}}}"#,
                js(&String::from_utf8_lossy(&bytes))
            )
        }
        Err(e) => format!(r#"{{"error":{}}}"#, js(&error_code(&e))),
    }
}

fn echo(request: &IncomingRequest, path: &str) -> String {
    let headers: Vec<String> = request
        .headers()
        .entries()
        .iter()
        .map(|(k, v)| format!("{}:{}", js(k), js(&String::from_utf8_lossy(v))))
        .collect();
    let mut bytes = Vec::new();
    let body = request.consume().unwrap();
    let stream = body.stream().unwrap();
    while let Ok(chunk) = stream.blocking_read(4096) {
        bytes.extend(chunk);
    }
    format!(
        r#"{{"method":{},"authority":{},"path":{},"headers":{{{}}},"body":{}}}"#,
        js(&format!("{:?}", request.method())),
        opt_str(request.authority()),
        js(path),
        headers.join(","),
        js(&String::from_utf8_lossy(&bytes))
    )
}

fn error_code(e: &ErrorCode) -> String {
    format!("{e:?}")
}

fn kv_error(e: &kv::Error) -> String {
    match e {
        kv::Error::NoSuchStore => "no-such-store".to_string(),
        kv::Error::AccessDenied => "access-denied".to_string(),
        kv::Error::Other(s) => format!("other: {s}"),
    }
}

fn cas_error(e: atomics::CasError) -> String {
    match e {
        atomics::CasError::StoreError(e) => kv_error(&e),
        atomics::CasError::CasFailed(_) => "cas-failed".to_string(),
    }
}

/// The first `name=value` in a query string, %-decoded.
fn param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn js(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt_str(v: Option<String>) -> String {
    v.map_or("null".to_string(), |s| js(&s))
}

fn opt_bytes(v: Option<Vec<u8>>) -> String {
    v.map_or("null".to_string(), |b| js(&String::from_utf8_lossy(&b)))
}

fn list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| js(s)).collect();
    format!("[{}]", items.join(","))
}
