//! The HTTP server: one fresh `Store` + instance per request, like Spin.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use authkit_dev_issuer::background::accept_until;
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, HOST};
use http::{Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wasmtime::component::ResourceTable;
use wasmtime::Store;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::config_store::{ConfigView, Variables};
use crate::keyvalue::{KeyValueCtx, KeyValueView};
use crate::outbound::OutboundPolicy;

/// How long shutdown waits for in-flight requests before cancelling them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The `T` of each request's `Store<T>`.
pub(crate) struct RequestState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundPolicy,
    variables: Variables,
    keyvalue: KeyValueCtx,
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl RequestState {
    pub(crate) fn config(&mut self) -> ConfigView<'_> {
        ConfigView {
            variables: &self.variables,
        }
    }

    pub(crate) fn keyvalue(&mut self) -> KeyValueView<'_> {
        KeyValueView {
            ctx: &self.keyvalue,
            table: &mut self.table,
        }
    }
}

/// Everything one server needs to handle a request; shared by its tasks.
pub(crate) struct Server {
    pub(crate) pre: ProxyPre<RequestState>,
    pub(crate) variables: Variables,
    pub(crate) keyvalue: KeyValueCtx,
    pub(crate) outbound: OutboundPolicy,
    pub(crate) wall_clock: crate::WallClock,
    pub(crate) addr: SocketAddr,
}

type Body = HyperOutgoingBody;

impl Server {
    pub(crate) fn new_store(&self) -> Store<RequestState> {
        // Guest stdout/stderr go to the host's, so component logs are visible.
        let wasi = WasiCtxBuilder::new()
            .inherit_stdout()
            .inherit_stderr()
            .wall_clock(self.wall_clock.clone())
            .build();
        let state = RequestState {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            outbound: self.outbound.clone(),
            variables: self.variables.clone(),
            keyvalue: self.keyvalue.clone(),
        };
        Store::new(self.pre.engine(), state)
    }

    /// Accepts connections until `shutdown` fires, then lets in-flight
    /// connections finish (briefly).
    pub(crate) async fn run(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: oneshot::Receiver<()>,
    ) {
        accept_until(listener, shutdown, SHUTDOWN_GRACE, move |stream, client| {
            self.clone().serve_connection(stream, client)
        })
        .await;
    }

    async fn serve_connection(self: Arc<Self>, stream: tokio::net::TcpStream, client: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let service = hyper::service::service_fn(move |req| {
            let server = self.clone();
            async move { Ok::<_, Infallible>(server.handle(req, client).await) }
        });
        if let Err(e) = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service)
            .await
        {
            // Clients hanging up mid-response is normal; only say something short.
            if !e.is_incomplete_message() {
                eprintln!("connection from {client}: {e}");
            }
        }
    }

    /// Runs the component on one request; any failure becomes a 500.
    async fn handle(
        self: Arc<Self>,
        req: hyper::Request<Incoming>,
        client: SocketAddr,
    ) -> Response<Body> {
        let start = Instant::now();
        let method = req.method().clone();
        // The path only: a query may carry secrets (`?access_token=…`, codes).
        let path = req.uri().path().to_string();
        let resp = match self.run_guest(req, client).await {
            Ok(resp) => resp,
            Err(e) => {
                eprintln!("{method} {path}: component failed: {e:#}");
                text_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "500 Internal Server Error: the component failed\n",
                )
            }
        };
        // The time is to the response head: a streamed body may still be flowing.
        eprintln!(
            "{method} {path} -> {} ({:.1} ms)",
            resp.status().as_u16(),
            start.elapsed().as_secs_f64() * 1000.0
        );
        resp
    }

    async fn run_guest(
        &self,
        mut req: hyper::Request<Incoming>,
        client: SocketAddr,
    ) -> anyhow::Result<Response<Body>> {
        self.add_spin_headers(&mut req, client);
        let mut store = self.new_store();
        let (sender, receiver) = oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();

        // The guest runs in its own task: after `response-outparam.set` it may go
        // on streaming the body while the response head is already on its way.
        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });

        match receiver.await {
            Ok(Ok(resp)) => {
                // Still report a trap that happens while the body streams.
                tokio::spawn(async move {
                    if let Ok(Err(e)) = task.await {
                        eprintln!("component failed after sending its response: {e:#}");
                    }
                });
                Ok(resp)
            }
            Ok(Err(code)) => anyhow::bail!("component responded with error code {code:?}"),
            // The store (and with it the sender) is gone: the guest returned or
            // trapped without setting a response.
            Err(_) => match task.await {
                Ok(Ok(())) => anyhow::bail!("component returned without setting a response"),
                Ok(Err(e)) => Err(anyhow::Error::from(e).context("component trapped")),
                Err(e) => Err(anyhow::Error::from(e).context("component task panicked")),
            },
        }
    }

    /// The headers Spin adds to every request, as for a catch-all `/...` route.
    fn add_spin_headers(&self, req: &mut hyper::Request<Incoming>, client: SocketAddr) {
        let host = match req.headers().get(HOST) {
            Some(h) => h.clone(),
            // wasi:http needs an authority; HTTP/1.0 clients may not send one.
            None => HeaderValue::from_str(&self.addr.to_string())
                .expect("socket address is a valid header"),
        };
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let full_url = format!(
            "http://{}{}",
            host.to_str().unwrap_or_default(),
            path_and_query
        );
        let path = req.uri().path().to_string();
        let mut set = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                req.headers_mut().insert(name, v);
            }
        };
        set("spin-full-url", &full_url);
        set("spin-path-info", &path);
        set("spin-matched-route", "/...");
        set("spin-raw-component-route", "/...");
        set("spin-component-route", "");
        set("spin-base-path", "/");
        set("spin-client-addr", &client.to_string());
        req.headers_mut().insert(HOST, host);
    }
}

fn text_response(status: StatusCode, text: &'static str) -> Response<Body> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|e: Infallible| match e {})
        .boxed_unsync();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Builds the variables map shared by all of a server's requests.
pub(crate) fn variables(vars: &BTreeMap<String, String>) -> Variables {
    Arc::new(vars.clone())
}

/// Binds synchronously so the caller gets the bound address (and any error)
/// before the server thread starts.
pub(crate) fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}
