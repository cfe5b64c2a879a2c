//! MCP over Streamable HTTP (JSON responses only, no SSE), as pure functions.
//!
//! [`preflight`] checks the request line and headers before the body is read;
//! [`handle_body`] parses one JSON-RPC message and dispatches it. Neither touches WASI,
//! so both are unit-tested natively.

use serde_json::{json, Map, Value};

use crate::catalog;

/// Protocol revisions this server speaks, oldest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: [&str; 4] =
    ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// What `initialize` answers when the client asks for a revision we do not know.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";
/// Largest request body read; bigger ones get 413.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

pub const SERVER_NAME: &str = "mcp-gateway-example";
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

// JSON-RPC 2.0 error codes.
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
/// MCP's "resource not found".
pub const RESOURCE_NOT_FOUND: i64 = -32002;

/// An HTTP response, ready to be written out by the WASI plumbing.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn json(status: u16, body: &Value) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("a serde_json::Value always serialises"),
        }
    }

    fn accepted() -> Self {
        Response {
            status: 202,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The value of header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP error carrying a JSON-RPC error object with a null id.
fn http_error(status: u16, code: i64, message: &str) -> Response {
    Response::json(status, &error_message(Value::Null, code, message))
}

fn error_message(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// The response for a body that exceeded [`MAX_BODY_BYTES`].
pub fn payload_too_large() -> Response {
    http_error(413, INVALID_REQUEST, "request body too large")
}

/// Checks method and headers. `Some(response)` rejects the request without reading its
/// body; `None` means go on and read it.
pub fn preflight(method: &str, headers: &[(String, Vec<u8>)]) -> Option<Response> {
    if method != "POST" {
        // GET would open an SSE stream, DELETE would end a session: we offer neither.
        let mut response = http_error(405, -32000, "method not allowed: use POST");
        response.headers.push(("allow".into(), "POST".into()));
        return Some(response);
    }
    let values = |name| header_values(headers, name);
    let mut accept = values("accept").peekable();
    if accept.peek().is_some() && !accept.any(|v| accepts_json(&v)) {
        return Some(http_error(
            406,
            -32000,
            "not acceptable: the response is application/json",
        ));
    }
    for version in values("mcp-protocol-version") {
        if !SUPPORTED_PROTOCOL_VERSIONS.contains(&version.trim()) {
            return Some(http_error(
                400,
                INVALID_REQUEST,
                &format!("unsupported MCP-Protocol-Version: {}", version.trim()),
            ));
        }
    }
    if let Some(length) = values("content-length").next() {
        if length
            .trim()
            .parse::<u64>()
            .is_ok_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Some(payload_too_large());
        }
    }
    None
}

/// The values of every header field called `name` (case-insensitive), in order.
fn header_values<'a>(
    headers: &'a [(String, Vec<u8>)],
    name: &'a str,
) -> impl Iterator<Item = std::borrow::Cow<'a, str>> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(v))
}

/// Whether one `Accept` header value admits a JSON (or, for clients that list both as
/// the spec asks, an SSE) response.
fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or("").trim();
        [
            "application/json",
            "text/event-stream",
            "*/*",
            "application/*",
        ]
        .iter()
        .any(|ok| media.eq_ignore_ascii_case(ok))
    })
}

/// Handles the body of a POST that passed [`preflight`]. `new_session_id` is called once,
/// for `initialize`.
pub fn handle_body(body: &[u8], new_session_id: impl FnOnce() -> String) -> Response {
    let message: Value = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(_) => return http_error(400, PARSE_ERROR, "parse error"),
    };
    let message = match message {
        Value::Object(message) => message,
        Value::Array(_) => {
            return http_error(400, INVALID_REQUEST, "batch requests are not supported")
        }
        _ => return http_error(400, INVALID_REQUEST, "invalid request"),
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return http_error(
            400,
            INVALID_REQUEST,
            "invalid request: jsonrpc must be \"2.0\"",
        );
    }
    let Some(method) = message.get("method") else {
        // A response to a server request (we send none): acknowledge it.
        if message.contains_key("id")
            && (message.contains_key("result") || message.contains_key("error"))
        {
            return Response::accepted();
        }
        return http_error(400, INVALID_REQUEST, "invalid request");
    };
    let Some(method) = method.as_str() else {
        return http_error(
            400,
            INVALID_REQUEST,
            "invalid request: method must be a string",
        );
    };
    let Some(id) = message.get("id") else {
        // A notification (notifications/initialized, notifications/cancelled, ...).
        return Response::accepted();
    };
    if !(id.is_string() || id.is_i64() || id.is_u64()) {
        return http_error(
            400,
            INVALID_REQUEST,
            "invalid request: id must be a string or an integer",
        );
    }
    let params = match message.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params.clone(),
        Some(_) => {
            return Response::json(
                200,
                &error_message(id.clone(), INVALID_PARAMS, "params must be an object"),
            )
        }
    };

    let outcome = dispatch(method, &params);
    let mut response = match outcome {
        Ok(result) => Response::json(
            200,
            &json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        ),
        Err(RpcError { code, message }) => {
            Response::json(200, &error_message(id.clone(), code, &message))
        }
    };
    if method == "initialize" && response.status == 200 {
        response
            .headers
            .push(("mcp-session-id".into(), new_session_id()));
    }
    response
}

/// A JSON-RPC error object.
#[derive(Debug, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }
}

/// Runs one JSON-RPC request and returns its `result`.
pub fn dispatch(method: &str, params: &Map<String, Value>) -> Result<Value, RpcError> {
    match method {
        "initialize" => Ok(initialize(params)),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({ "tools": catalog::tools() })),
        "tools/call" => {
            let name = str_param(params, "name")?;
            let arguments = object_param(params, "arguments")?;
            catalog::call_tool(name, &arguments).map_err(|catalog::CallError::UnknownTool(t)| {
                RpcError::new(INVALID_PARAMS, format!("unknown tool: {t}"))
            })
        }
        "resources/list" => Ok(json!({ "resources": catalog::resources() })),
        "resources/templates/list" => Ok(json!({ "resourceTemplates": [] })),
        "resources/read" => {
            let uri = str_param(params, "uri")?;
            catalog::read_resource(uri).ok_or_else(|| {
                RpcError::new(RESOURCE_NOT_FOUND, format!("resource not found: {uri}"))
            })
        }
        "prompts/list" => Ok(json!({ "prompts": catalog::prompts() })),
        "prompts/get" => {
            let name = str_param(params, "name")?;
            let arguments = object_param(params, "arguments")?;
            catalog::get_prompt(name, &arguments).map_err(|e| match e {
                catalog::PromptError::UnknownPrompt(p) => {
                    RpcError::new(INVALID_PARAMS, format!("unknown prompt: {p}"))
                }
                catalog::PromptError::MissingArgument(a) => {
                    RpcError::new(INVALID_PARAMS, format!("missing required argument: {a}"))
                }
            })
        }
        // Includes `server/discover`: clients that try it fall back to `initialize`.
        _ => Err(RpcError::new(
            METHOD_NOT_FOUND,
            format!("method not found: {method}"),
        )),
    }
}

fn initialize(params: &Map<String, Value>) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = match requested {
        Some(v) if SUPPORTED_PROTOCOL_VERSIONS.contains(&v) => v,
        _ => LATEST_PROTOCOL_VERSION,
    };
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": {}, "resources": {}, "prompts": {} },
        "serverInfo": { "name": SERVER_NAME, "version": SERVER_VERSION },
        "instructions": "Example MCP server: tools echo and add, resources under example://, prompt greet."
    })
}

fn str_param<'a>(params: &'a Map<String, Value>, key: &str) -> Result<&'a str, RpcError> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(INVALID_PARAMS, format!("params.{key} must be a string")))
}

/// An optional object parameter; absent or null is empty.
fn object_param(params: &Map<String, Value>, key: &str) -> Result<Map<String, Value>, RpcError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(_) => Err(RpcError::new(
            INVALID_PARAMS,
            format!("params.{key} must be an object"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Response {
        handle_body(body.as_bytes(), || "test-session".to_owned())
    }

    fn json_of(response: &Response) -> Value {
        assert_eq!(response.header("content-type"), Some("application/json"));
        serde_json::from_slice(&response.body).unwrap()
    }

    fn request(method: &str, params: Value) -> Value {
        let response = post(
            &json!({ "jsonrpc": "2.0", "id": 7, "method": method, "params": params }).to_string(),
        );
        assert_eq!(response.status, 200);
        let body = json_of(&response);
        assert_eq!(body["jsonrpc"], "2.0");
        assert_eq!(body["id"], 7);
        body
    }

    fn headers(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn initialize_echoes_a_supported_version_and_sets_a_session() {
        for version in SUPPORTED_PROTOCOL_VERSIONS {
            let response = post(
                &json!({
                    "jsonrpc": "2.0", "id": 1, "method": "initialize",
                    "params": { "protocolVersion": version, "capabilities": {},
                                "clientInfo": { "name": "t", "version": "0" } }
                })
                .to_string(),
            );
            assert_eq!(response.status, 200);
            assert_eq!(response.header("Mcp-Session-Id"), Some("test-session"));
            let body = json_of(&response);
            assert_eq!(body["id"], 1);
            assert_eq!(body["result"]["protocolVersion"], version);
            assert_eq!(
                body["result"]["capabilities"],
                json!({ "tools": {}, "resources": {}, "prompts": {} })
            );
            assert_eq!(body["result"]["serverInfo"]["name"], "mcp-gateway-example");
            assert_eq!(body["result"]["serverInfo"]["version"], SERVER_VERSION);
        }
    }

    #[test]
    fn initialize_answers_latest_for_unknown_or_missing_version() {
        let body = request("initialize", json!({ "protocolVersion": "1999-01-01" }));
        assert_eq!(body["result"]["protocolVersion"], LATEST_PROTOCOL_VERSION);
        let body = request("initialize", json!({}));
        assert_eq!(body["result"]["protocolVersion"], LATEST_PROTOCOL_VERSION);
    }

    #[test]
    fn only_initialize_sets_a_session_id() {
        let response = post(r#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#);
        assert_eq!(response.header("mcp-session-id"), None);
        assert_eq!(json_of(&response)["id"], "a");
    }

    #[test]
    fn notifications_and_client_responses_are_accepted() {
        for body in [
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no"}}"#,
        ] {
            let response = post(body);
            assert_eq!(response.status, 202, "{body}");
            assert!(response.body.is_empty());
        }
    }

    #[test]
    fn ping_returns_empty_object() {
        assert_eq!(request("ping", Value::Null)["result"], json!({}));
    }

    #[test]
    fn tools_list_has_echo_and_add_with_schemas() {
        let body = request("tools/list", json!({}));
        let tools = body["result"]["tools"].as_array().unwrap();
        let names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["echo", "add"]);
        assert_eq!(
            tools[0]["inputSchema"]["properties"]["message"]["type"],
            "string"
        );
        assert_eq!(tools[1]["inputSchema"]["required"], json!(["a", "b"]));
        for tool in tools {
            assert_eq!(tool["inputSchema"]["type"], "object");
        }
    }

    #[test]
    fn tools_call_echo_and_add() {
        let body = request(
            "tools/call",
            json!({ "name": "echo", "arguments": { "message": "hi there" } }),
        );
        assert_eq!(
            body["result"],
            json!({ "content": [{ "type": "text", "text": "hi there" }], "isError": false })
        );
        let text = |a: Value, b: Value| {
            let body = request(
                "tools/call",
                json!({ "name": "add", "arguments": { "a": a, "b": b } }),
            );
            assert_eq!(body["result"]["isError"], false);
            body["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(text(json!(2), json!(3)), "5");
        assert_eq!(text(json!(-2), json!(0.5)), "-1.5");
        assert_eq!(text(json!(1.5), json!(1.5)), "3");
        assert_eq!(text(json!(i64::MAX), json!(1)), "9223372036854775808");
        assert_eq!(
            text(json!(u64::MAX), json!(u64::MAX)),
            "36893488147419103230"
        );
    }

    #[test]
    fn tools_call_bad_arguments_is_a_tool_error() {
        for (name, arguments) in [
            ("echo", json!({})),
            ("echo", json!({ "message": 5 })),
            ("add", json!({ "a": 1 })),
            ("add", json!({ "a": "1", "b": 2 })),
            ("add", json!({ "a": 1e308, "b": 1e308 })),
        ] {
            let body = request(
                "tools/call",
                json!({ "name": name, "arguments": arguments }),
            );
            assert_eq!(body["result"]["isError"], true, "{name} {arguments}");
            assert_eq!(body["result"]["content"][0]["type"], "text");
        }
    }

    #[test]
    fn tools_call_unknown_tool_or_bad_params_is_invalid_params() {
        for params in [
            json!({ "name": "nope", "arguments": {} }),
            json!({ "arguments": {} }),
            json!({ "name": "echo", "arguments": [] }),
        ] {
            let body = request("tools/call", params);
            assert_eq!(body["error"]["code"], INVALID_PARAMS);
            assert!(body.get("result").is_none());
        }
    }

    #[test]
    fn resources_list_read_and_templates() {
        let body = request("resources/list", json!({}));
        let resources = body["result"]["resources"].as_array().unwrap();
        assert!(resources.len() >= 2);
        assert_eq!(resources[0]["uri"], "example://greeting");
        for resource in resources {
            let uri = resource["uri"].as_str().unwrap();
            let read = request("resources/read", json!({ "uri": uri }));
            let contents = &read["result"]["contents"][0];
            assert_eq!(contents["uri"], uri);
            assert_eq!(contents["mimeType"], resource["mimeType"]);
            assert!(contents["text"].as_str().is_some_and(|t| !t.is_empty()));
        }
        let body = request("resources/read", json!({ "uri": "example://missing" }));
        assert_eq!(body["error"]["code"], RESOURCE_NOT_FOUND);
        let body = request("resources/read", json!({}));
        assert_eq!(body["error"]["code"], INVALID_PARAMS);
        let body = request("resources/templates/list", json!({}));
        assert_eq!(body["result"], json!({ "resourceTemplates": [] }));
    }

    #[test]
    fn prompts_list_and_get() {
        let body = request("prompts/list", json!({}));
        assert_eq!(body["result"]["prompts"][0]["name"], "greet");
        assert_eq!(body["result"]["prompts"][0]["arguments"][0]["name"], "name");
        let body = request(
            "prompts/get",
            json!({ "name": "greet", "arguments": { "name": "Ada" } }),
        );
        let message = &body["result"]["messages"][0];
        assert_eq!(message["role"], "user");
        assert!(message["content"]["text"].as_str().unwrap().contains("Ada"));
        for params in [
            json!({ "name": "greet" }),
            json!({ "name": "greet", "arguments": { "name": 1 } }),
            json!({ "name": "other", "arguments": {} }),
        ] {
            assert_eq!(
                request("prompts/get", params)["error"]["code"],
                INVALID_PARAMS
            );
        }
    }

    #[test]
    fn unknown_methods_are_method_not_found() {
        for method in ["server/discover", "logging/setLevel", "frobnicate"] {
            let body = request(method, json!({}));
            assert_eq!(body["error"]["code"], METHOD_NOT_FOUND, "{method}");
        }
    }

    #[test]
    fn malformed_messages_are_http_400() {
        for (body, code) in [
            ("{not json", PARSE_ERROR),
            ("", PARSE_ERROR),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                INVALID_REQUEST,
            ),
            ("42", INVALID_REQUEST),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
                INVALID_REQUEST,
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, INVALID_REQUEST),
            (r#"{"jsonrpc":"2.0","id":1,"method":5}"#, INVALID_REQUEST),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
                INVALID_REQUEST,
            ),
        ] {
            let response = post(body);
            assert_eq!(response.status, 400, "{body}");
            let json = json_of(&response);
            assert_eq!(json["error"]["code"], code, "{body}");
            assert_eq!(json["id"], Value::Null);
        }
    }

    #[test]
    fn non_object_params_are_invalid_params() {
        let response = post(r#"{"jsonrpc":"2.0","id":2,"method":"ping","params":[1]}"#);
        assert_eq!(response.status, 200);
        assert_eq!(json_of(&response)["error"]["code"], INVALID_PARAMS);
    }

    #[test]
    fn preflight_only_allows_post() {
        assert_eq!(preflight("POST", &[]), None);
        for method in ["GET", "DELETE", "PUT", "HEAD", "OPTIONS"] {
            let response = preflight(method, &[]).unwrap();
            assert_eq!(response.status, 405, "{method}");
            assert_eq!(response.header("allow"), Some("POST"));
        }
    }

    #[test]
    fn preflight_checks_accept() {
        for ok in [
            "application/json, text/event-stream",
            "text/event-stream",
            "*/*",
            "application/*;q=0.5",
            "text/html, Application/JSON; charset=utf-8",
        ] {
            assert_eq!(preflight("POST", &headers(&[("accept", ok)])), None, "{ok}");
        }
        // Several Accept fields: one acceptable suffices.
        assert_eq!(
            preflight(
                "POST",
                &headers(&[("accept", "text/html"), ("Accept", "*/*")])
            ),
            None
        );
        for bad in ["text/html", "application/xml", ""] {
            let response = preflight("POST", &headers(&[("Accept", bad)])).unwrap();
            assert_eq!(response.status, 406, "{bad}");
        }
    }

    #[test]
    fn preflight_checks_protocol_version_header() {
        for version in SUPPORTED_PROTOCOL_VERSIONS {
            assert_eq!(
                preflight("POST", &headers(&[("mcp-protocol-version", version)])),
                None
            );
        }
        let response =
            preflight("POST", &headers(&[("MCP-Protocol-Version", "2023-01-01")])).unwrap();
        assert_eq!(response.status, 400);
        assert_eq!(json_of(&response)["error"]["code"], INVALID_REQUEST);
    }

    #[test]
    fn preflight_rejects_declared_oversized_bodies() {
        let too_big = (MAX_BODY_BYTES + 1).to_string();
        let response = preflight("POST", &headers(&[("content-length", &too_big)])).unwrap();
        assert_eq!(response.status, 413);
        let fits = MAX_BODY_BYTES.to_string();
        assert_eq!(
            preflight("POST", &headers(&[("content-length", &fits)])),
            None
        );
        assert_eq!(payload_too_large().status, 413);
    }
}
