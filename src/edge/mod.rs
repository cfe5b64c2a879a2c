//! The WASI edge: binds the sans-IO core to Spin's interfaces.
//!
//! It reads the request's parts, asks [`gate::decide`], then either hands the
//! original request and response slot to the wrapped gateway or writes the
//! middleware's own response. WASI 0.2 has no constructor for an
//! `incoming-request`, so a request can only be passed on as received: the token
//! is neither stripped nor replaced, and no claim headers are added.

mod fetch;
mod key_value;
mod respond;

use wasi::http::types::{IncomingRequest, Method, ResponseOutparam, Scheme};

use crate::config::Config;
use crate::gate::{self, Decision, RequestParts};
use crate::key_source::CachingKeySource;

mod bindings {
    wit_bindgen::generate!({
        world: "middleware",
        path: "wit",
        with: {
            "wasi:http/types@0.2.4": ::wasi::http::types,
            "wasi:http/outgoing-handler@0.2.4": ::wasi::http::outgoing_handler,
            "wasi:io/error@0.2.4": ::wasi::io::error,
            "wasi:io/poll@0.2.4": ::wasi::io::poll,
            "wasi:io/streams@0.2.4": ::wasi::io::streams,
            "wasi:clocks/monotonic-clock@0.2.4": ::wasi::clocks::monotonic_clock,
            "wasi:config/store@0.2.0-draft-2024-09-27": generate,
            "wasi:keyvalue/store@0.2.0-draft2": generate,
            "wasi:keyvalue/atomics@0.2.0-draft2": generate,
            "wasi:http/incoming-handler@0.2.4": generate,
        },
    });
}

use bindings::exports::wasi::http::incoming_handler::Guest;
use bindings::wasi::config::store;
use bindings::wasi::http::incoming_handler as gateway;

struct Middleware;

impl Guest for Middleware {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let config = read_config();
        match &config {
            Err(err) => eprintln!("authkit: configuration error: {err}"),
            // Spin has no start-up hook: said on every request, as loud as its name.
            Ok(config) if config.audiences.is_empty() => eprintln!(
                "authkit: WARNING: {}=true: tokens the issuer minted for ANY resource are accepted",
                crate::config::var::DANGEROUSLY_ACCEPT_ANY_AUDIENCE
            ),
            Ok(_) => {}
        }
        let decision = decision_for(&request, &config);
        match decision {
            Decision::Forward => gateway::handle(request, response_out),
            Decision::Respond(reply) => respond::write(response_out, &reply),
        }
    }
}

/// The configuration from Spin variables: one `get-all` host call rather than one
/// `get` per variable; per-variable `get`s if the host refuses `get-all`.
fn read_config() -> Result<Config, crate::config::ConfigError> {
    match store::get_all() {
        Ok(all) => Config::from_lookup(|name| {
            Ok(all
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone()))
        }),
        Err(_) => Config::from_lookup(|name| store::get(name).map_err(|_| ())),
    }
}

/// The gate's decision on `request`: reads the parts the gate needs, then drops
/// the `headers` child handle, since the request cannot be handed on while it is
/// alive.
fn decision_for(
    request: &IncomingRequest,
    config: &Result<Config, crate::config::ConfigError>,
) -> Decision {
    let (authorization, cors_preflight, forwarded_proto, origin) = {
        let headers = request.headers();
        let authorization = headers.get("authorization");
        let origin = headers.get("origin");
        let preflight = !headers.get("access-control-request-method").is_empty();
        let forwarded_proto = headers
            .get("x-forwarded-proto")
            .into_iter()
            .next()
            .and_then(|v| String::from_utf8(v).ok());
        (authorization, preflight, forwarded_proto, origin)
    };
    let method = request.method();
    let scheme = match request.scheme() {
        Some(Scheme::Https) => "https",
        _ => "http",
    };
    let authority = request.authority().unwrap_or_default();
    let path_with_query = request.path_with_query().unwrap_or_default();
    let parts = RequestParts {
        method: method_name(&method),
        scheme,
        forwarded_proto: forwarded_proto.as_deref(),
        authority: &authority,
        path_with_query: &path_with_query,
        authorization: &authorization,
        cors_preflight,
        origin: &origin,
    };
    let now = unix_now();
    let mut keys = CachingKeySource::new(now, fetch::HttpFetcher::default(), key_value::open);
    gate::decide(&parts, config, &mut keys, now)
}

fn method_name(method: &Method) -> &str {
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
}

/// Wall-clock seconds (wasi:clocks/wall-clock through std).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

bindings::export!(Middleware with_types_in bindings);
