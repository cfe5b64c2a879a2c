//! The library API against the test guest (host/tests/guest): Spin-like
//! behaviour of variables, key-value stores, outbound HTTP and failures.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use authkit_host::{Host, HostConfig, KeyValueData};
use common::{get, host, localhost, request};

#[test]
fn variables_are_visible_through_wasi_config() {
    let config = HostConfig::default()
        .with_variable("authkit_issuer", "https://example.authkit.app")
        .with_variable("greeting", "hello");
    let server = host().serve(config, localhost()).unwrap();

    let reply = get(server.addr(), "/config?key=greeting");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json = reply.json();
    assert_eq!(json["get"], "hello");
    assert_eq!(json["all"]["authkit_issuer"], "https://example.authkit.app");
    assert_eq!(json["all"]["greeting"], "hello");

    let undefined = get(server.addr(), "/config?key=not_defined").json();
    assert!(undefined["get"].is_null(), "{undefined}");
}

#[test]
fn key_value_data_persists_across_requests() {
    let server = host().serve(HostConfig::default(), localhost()).unwrap();
    let addr = server.addr();

    // Each request is a fresh instance: only the host store carries state.
    for expected in 1..=3 {
        assert_eq!(get(addr, "/kv/incr?key=hits").json()["value"], expected);
    }
    assert_eq!(
        server.key_value().get("default", "hits"),
        Some(3i64.to_le_bytes().to_vec())
    );

    assert_eq!(get(addr, "/kv/set?key=k&value=v%201").status, 200);
    assert_eq!(get(addr, "/kv/get?key=k").json()["value"], "v 1");

    // Tests can seed, inspect and clear the data.
    server.key_value().set("default", "seeded", "from the test");
    assert_eq!(
        get(addr, "/kv/get?key=seeded").json()["value"],
        "from the test"
    );
    assert_eq!(
        server.key_value().keys("default"),
        vec!["hits", "k", "seeded"]
    );
    server.key_value().clear();
    assert!(get(addr, "/kv/get?key=k").json()["value"].is_null());
}

#[test]
fn key_value_operations_behave() {
    let server = host().serve(HostConfig::default(), localhost()).unwrap();
    let r = get(server.addr(), "/kv/exercise");
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["get_a"], "1");
    assert_eq!(j["exists_a"], true);
    assert_eq!(j["exists_missing"], false);
    assert!(j["get_missing"].is_null());
    assert_eq!(j["keys"], serde_json::json!(["a"]));
    assert!(j["keys_cursor"].is_null());
    assert_eq!(j["exists_a_after_delete"], false);

    assert_eq!(j["incr_5"], 5);
    assert_eq!(j["incr_minus_2"], 3);
    assert_eq!(
        j["counter_bytes"],
        serde_json::json!([3, 0, 0, 0, 0, 0, 0, 0])
    );
    assert!(j["incr_bad"].as_str().unwrap().contains("Other"), "{j}");

    assert!(j["cas_current_absent"].is_null());
    assert_eq!(j["cas_swap_absent"], "Ok(())");
    assert_eq!(j["cas_current"], "x");
    assert_eq!(j["cas_race"], "cas-failed");
    assert_eq!(j["cas_retry_current"], "y");
    assert_eq!(j["cas_retry_swap"], "Ok(())");
    assert_eq!(j["c_final"], "z");

    // Like Spin, get-many leaves out keys that don't exist.
    assert_eq!(
        j["get_many"],
        serde_json::json!([["b1", "v1"], ["b2", "v2"]])
    );
    assert!(j["b1_after_delete_many"].is_null());
    assert_eq!(j["b2_after_delete_many"], "v2");
}

#[test]
fn list_keys_pages_with_a_cursor() {
    let server = host().serve(HostConfig::default(), localhost()).unwrap();
    for i in 0..2500 {
        server
            .key_value()
            .set("default", &format!("key-{i:05}"), "v");
    }
    let j = get(server.addr(), "/kv/list-all").json();
    assert_eq!(j["count"], 2500);
    assert_eq!(j["pages"], 3);
}

#[test]
fn only_granted_stores_can_be_opened() {
    let default = host().serve(HostConfig::default(), localhost()).unwrap();
    assert_eq!(
        get(default.addr(), "/kv/open?label=default").json()["ok"],
        true
    );
    assert_eq!(
        get(default.addr(), "/kv/open?label=other").json()["error"],
        "access-denied"
    );

    let none = host()
        .serve(
            HostConfig::default().with_key_value_stores(Vec::<String>::new()),
            localhost(),
        )
        .unwrap();
    assert_eq!(
        get(none.addr(), "/kv/open?label=default").json()["error"],
        "access-denied"
    );

    let custom = host()
        .serve(
            HostConfig::default().with_key_value_stores(["cache"]),
            localhost(),
        )
        .unwrap();
    assert_eq!(
        get(custom.addr(), "/kv/open?label=cache").json()["ok"],
        true
    );
    assert_eq!(
        get(custom.addr(), "/kv/open?label=default").json()["error"],
        "access-denied"
    );
}

#[test]
fn each_server_has_its_own_data_unless_shared() {
    let a = host().serve(HostConfig::default(), localhost()).unwrap();
    let b = host().serve(HostConfig::default(), localhost()).unwrap();
    get(a.addr(), "/kv/set?key=k&value=a");
    assert!(get(b.addr(), "/kv/get?key=k").json()["value"].is_null());

    let shared = KeyValueData::new();
    let c = host()
        .serve_with_key_value(HostConfig::default(), localhost(), shared.clone())
        .unwrap();
    get(c.addr(), "/kv/set?key=k&value=c");
    drop(c);
    // A "restarted" server sees what the previous one stored.
    let d = host()
        .serve_with_key_value(HostConfig::default(), localhost(), shared.clone())
        .unwrap();
    assert_eq!(get(d.addr(), "/kv/get?key=k").json()["value"], "c");
    assert_eq!(shared.get("default", "k"), Some(b"c".to_vec()));
}

/// A plain HTTP responder on 127.0.0.1 that counts the requests it answers.
fn responder() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            // Read the request head, then answer.
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nupstream",
            );
        }
    });
    (addr, hits)
}

#[test]
fn outbound_requests_follow_the_allow_list() {
    let (upstream, hits) = responder();
    let port = upstream.port();
    let path = format!("/outbound?url=http://127.0.0.1:{port}/jwks");

    let allowed: &[Option<Vec<String>>] = &[
        None,
        Some(vec![format!("http://127.0.0.1:{port}")]),
        Some(vec!["http://127.0.0.1:*".into()]),
        Some(vec![
            "https://*.authkit.app".into(),
            format!("http://127.0.0.1:{port}"),
        ]),
        Some(vec!["*://*:*".into()]),
        Some(vec!["*".into()]),
    ];
    for list in allowed {
        let config = HostConfig {
            allowed_outbound_hosts: list.clone(),
            ..HostConfig::default()
        };
        let server = host().serve(config, localhost()).unwrap();
        let j = get(server.addr(), &path).json();
        assert_eq!(j["status"], 200, "{list:?}: {j}");
        assert_eq!(j["body"], "upstream");
    }
    assert_eq!(hits.load(Ordering::SeqCst), allowed.len());

    let denied: &[Vec<String>] = &[
        vec![],
        vec![format!("http://127.0.0.1:{}", port.wrapping_add(1))],
        vec![format!("http://localhost:{port}")],
        vec![format!("https://127.0.0.1:{port}")],
        vec!["https://*.authkit.app".into()],
        vec!["http://127.0.0.1".into()],
    ];
    for list in denied {
        let server = host()
            .serve(
                HostConfig::default().with_allowed_outbound_hosts(list.clone()),
                localhost(),
            )
            .unwrap();
        let j = get(server.addr(), &path).json();
        assert!(
            j["error"]
                .as_str()
                .unwrap_or_default()
                .contains("HttpRequestDenied"),
            "{list:?}: {j}"
        );
    }
    // Denied requests never reached the network.
    assert_eq!(hits.load(Ordering::SeqCst), allowed.len());
}

#[test]
fn invalid_allow_list_is_an_error() {
    let config = HostConfig::default().with_allowed_outbound_hosts(["authkit.app"]);
    let err = host()
        .serve(config, localhost())
        .err()
        .expect("a pattern without scheme is rejected");
    assert!(err.to_string().contains("authkit.app"), "{err}");
}

#[test]
fn failures_become_500_and_the_server_survives() {
    let server = host().serve(HostConfig::default(), localhost()).unwrap();
    for path in ["/trap", "/no-response"] {
        let r = get(server.addr(), path);
        assert_eq!(r.status, 500, "{path}: {}", r.body);
        assert!(r.body.contains("500"), "{path}: {}", r.body);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    }
    assert_eq!(get(server.addr(), "/config?key=x").status, 200);
    assert_eq!(get(server.addr(), "/nope").status, 404);
}

#[test]
fn requests_get_spin_headers_and_their_body() {
    let server = host().serve(HostConfig::default(), localhost()).unwrap();
    let addr = server.addr();
    let r = request(addr, "POST", "/echo?x=1", b"hello body");
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert!(j["method"].as_str().unwrap().contains("Post"), "{j}");
    assert_eq!(j["body"], "hello body");
    let h = &j["headers"];
    assert_eq!(h["spin-full-url"], format!("http://{addr}/echo?x=1"));
    assert_eq!(h["spin-path-info"], "/echo");
    assert_eq!(h["spin-matched-route"], "/...");
    assert_eq!(h["spin-base-path"], "/");
    assert!(
        h["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{h}"
    );
    // `host` is a forbidden header in wasi:http; the guest sees the authority.
    assert!(h["host"].is_null(), "{h}");
    assert_eq!(j["authority"], addr.to_string());
}

#[test]
fn requests_run_concurrently() {
    let server = host().serve(HostConfig::default(), localhost()).unwrap();
    let addr = server.addr();
    // Four requests wait at a barrier that opens when all four have arrived: with
    // requests run one after another, the first would give up with 1 arrived.
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || get(addr, "/barrier?key=b&n=4").json()))
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap()["arrived"], 4);
    }
}

#[test]
fn many_servers_from_one_host() {
    let host: Host = host();
    let servers: Vec<_> = (0..20)
        .map(|i| {
            host.serve(
                HostConfig::default().with_variable("n", i.to_string()),
                localhost(),
            )
            .unwrap()
        })
        .collect();
    for (i, s) in servers.iter().enumerate() {
        assert_eq!(get(s.addr(), "/config?key=n").json()["get"], i.to_string());
    }
}

#[test]
fn shutdown_stops_listening() {
    let server = host().serve(HostConfig::default(), localhost()).unwrap();
    let addr = server.addr();
    assert_eq!(get(addr, "/config?key=x").status, 200);
    server.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn not_a_component_is_an_error() {
    assert!(Host::from_component_bytes(b"not wasm").is_err());
    // A core module is not a component either.
    assert!(Host::from_component_bytes(b"\0asm\x01\0\0\0").is_err());
}

#[test]
fn precompiled_cache_is_reused() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache-test");
    let _ = std::fs::remove_dir_all(&dir);
    let first = Host::load_cached(common::guest_wasm(), Some(&dir)).unwrap();
    let entries = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(entries, 1);
    let second = Host::load_cached(common::guest_wasm(), Some(&dir)).unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    for h in [first, second] {
        let server = h.serve(HostConfig::default(), localhost()).unwrap();
        assert_eq!(get(server.addr(), "/config?key=x").status, 200);
    }
}

#[tokio::test]
async fn usable_from_an_async_test() {
    let server = host()
        .serve(HostConfig::default().with_variable("k", "v"), localhost())
        .unwrap();
    let addr = server.addr();
    let reply = tokio::task::spawn_blocking(move || get(addr, "/config?key=k"))
        .await
        .unwrap();
    assert_eq!(reply.json()["get"], "v");
    drop(server); // stopping from inside a runtime must not panic
}
