//! The composed server (middleware + example gateway) configured for the
//! development issuer, as `make up` runs it: the issuer's tokens are accepted,
//! no token or a token for another audience is refused. Run by
//! `make integration-test` (it needs the composed fixture).

mod authkit;
mod devflow;

use std::time::Duration;

use authkit::client::{get, post_json};
use authkit::mcp_server;
use authkit_dev_issuer::DevIssuer;
use authkit_host::{HostConfig, RunningServer};
use devflow::{code_flow, register, token};
use serde_json::json;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const CALL: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":40}}}"#;

/// The composed server on a free port and a development issuer for its `/mcp`
/// URL, wired the way `authkit-host serve --dev-issuer` does (with or without
/// `authkit_jwks_uri`: without it, the middleware discovers it).
fn start(with_jwks_uri: bool) -> (RunningServer, DevIssuer, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mcp = format!("http://{}/mcp", listener.local_addr().unwrap());
    let dev = DevIssuer::start("127.0.0.1:0".parse().unwrap(), &mcp).unwrap();
    let mut config = HostConfig::default()
        .with_variable("authkit_issuer", dev.issuer())
        .with_variable("authkit_audience", &mcp);
    if with_jwks_uri {
        config = config.with_variable("authkit_jwks_uri", dev.jwks_uri());
    }
    let server = mcp_server()
        .host()
        .serve_listener(config, listener)
        .unwrap();
    (server, dev, mcp)
}

#[test]
fn tokens_from_the_dev_issuer_are_accepted_and_none_is_refused() {
    for with_jwks_uri in [true, false] {
        let (server, dev, mcp) = start(with_jwks_uri);
        let addr = server.addr();

        // No token: 401 pointing at metadata that names the development issuer.
        let r = post_json(addr, "/mcp", None, INITIALIZE);
        assert_eq!(r.status, 401, "{}", r.text());
        let challenge = r.header("www-authenticate").unwrap();
        assert!(challenge.contains("resource_metadata="), "{challenge}");
        let prm = get(addr, "/.well-known/oauth-protected-resource/mcp", &[]).json();
        assert_eq!(
            prm,
            json!({"resource": mcp, "authorization_servers": [dev.issuer()], "bearer_methods_supported": ["header"]})
        );

        // The printed (minted) token.
        let minted = dev.mint_token(Duration::from_secs(12 * 3600));
        let r = post_json(addr, "/mcp", Some(&minted), INITIALIZE);
        assert_eq!(r.status, 200, "jwks_uri {with_jwks_uri}: {}", r.text());
        assert_eq!(
            r.json()["result"]["serverInfo"]["name"],
            "mcp-gateway-example"
        );

        // A token from the OAuth flow a client runs from the metadata alone:
        // resource = the metadata's `resource`.
        let body = code_flow(dev.addr(), Some(prm["resource"].as_str().unwrap()));
        let access = body["access_token"].as_str().unwrap();
        let r = post_json(addr, "/mcp", Some(access), CALL);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["result"]["content"][0]["text"], "42");

        // Refreshed, and machine-to-machine tokens.
        let r = token(
            dev.addr(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("client_id", &access_client_id(access)),
            ],
            None,
        );
        let refreshed = r.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(post_json(addr, "/mcp", Some(&refreshed), CALL).status, 200);
        let m2m = register(
            dev.addr(),
            &json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}),
        )
        .json();
        let r = token(
            dev.addr(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", m2m["client_id"].as_str().unwrap()),
                ("client_secret", m2m["client_secret"].as_str().unwrap()),
            ],
            None,
        );
        let m2m_token = r.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(post_json(addr, "/mcp", Some(&m2m_token), CALL).status, 200);

        // Refused: another audience, a token from another dev issuer, garbage.
        let other_aud = dev.mint_token_for("http://127.0.0.1:1/mcp", Duration::from_secs(60));
        let other_issuer = DevIssuer::start("127.0.0.1:0".parse().unwrap(), &mcp).unwrap();
        for (what, bad) in [
            ("other audience", other_aud),
            (
                "other issuer",
                other_issuer.mint_token(Duration::from_secs(60)),
            ),
            ("garbage", "abc.def.ghi".to_string()),
        ] {
            let r = post_json(addr, "/mcp", Some(&bad), INITIALIZE);
            assert_eq!(r.status, 401, "{what}: {}", r.text());
            assert_eq!(r.json()["error"], "invalid_token", "{what}");
        }
    }
}

fn access_client_id(token: &str) -> String {
    devflow::parts(token).1["client_id"]
        .as_str()
        .unwrap()
        .to_owned()
}
