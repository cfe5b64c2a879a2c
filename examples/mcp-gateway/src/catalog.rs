//! The server's static catalog: tools, resources and prompts, and what calling them does.
//!
//! Everything here is a pure function over `serde_json::Value`s.

use serde_json::{json, Map, Value};

/// Why a tool call could not run at all (reported as a JSON-RPC error by the caller).
#[derive(Debug, PartialEq)]
pub enum CallError {
    UnknownTool(String),
}

/// The `tools` array of a `tools/list` result.
pub fn tools() -> Value {
    json!([
        {
            "name": "echo",
            "title": "Echo",
            "description": "Returns the given message unchanged.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "message": { "type": "string", "description": "The text to echo back." }
                },
                "required": ["message"],
                "additionalProperties": false
            }
        },
        {
            "name": "add",
            "title": "Add",
            "description": "Adds two numbers and returns the sum as text.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "a": { "type": "number", "description": "First addend." },
                    "b": { "type": "number", "description": "Second addend." }
                },
                "required": ["a", "b"],
                "additionalProperties": false
            }
        }
    ])
}

/// Runs tool `name` with `arguments` and returns a `tools/call` result.
///
/// Bad arguments are a tool-level failure (`isError: true`), so the model can see and
/// correct them; an unknown tool is a protocol error.
pub fn call_tool(name: &str, arguments: &Map<String, Value>) -> Result<Value, CallError> {
    let outcome = match name {
        "echo" => match arguments.get("message") {
            Some(Value::String(message)) => Ok(message.clone()),
            _ => Err("argument `message` must be a string".to_owned()),
        },
        "add" => match (arguments.get("a"), arguments.get("b")) {
            (Some(Value::Number(a)), Some(Value::Number(b))) => add(a, b),
            _ => Err("arguments `a` and `b` must both be numbers".to_owned()),
        },
        _ => return Err(CallError::UnknownTool(name.to_owned())),
    };
    Ok(match outcome {
        Ok(text) => tool_result(text, false),
        Err(text) => tool_result(text, true),
    })
}

fn tool_result(text: String, is_error: bool) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "isError": is_error })
}

/// Exact for JSON integers (i64 or u64), IEEE double arithmetic otherwise.
fn add(a: &serde_json::Number, b: &serde_json::Number) -> Result<String, String> {
    let integer = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    if let (Some(a), Some(b)) = (integer(a), integer(b)) {
        return Ok((a + b).to_string());
    }
    let (a, b) = (
        a.as_f64().unwrap_or(f64::NAN),
        b.as_f64().unwrap_or(f64::NAN),
    );
    let sum = a + b;
    if sum.is_finite() {
        Ok(sum.to_string())
    } else {
        Err("the sum is not a finite number".to_owned())
    }
}

struct Resource {
    uri: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    mime_type: &'static str,
    text: &'static str,
}

const RESOURCES: &[Resource] = &[
    Resource {
        uri: "example://greeting",
        name: "greeting",
        title: "Greeting",
        description: "A short plain-text greeting.",
        mime_type: "text/plain",
        text: "Hello from mcp-gateway-example!",
    },
    Resource {
        uri: "example://about",
        name: "about",
        title: "About this server",
        description: "What this example server is for.",
        mime_type: "text/markdown",
        text: "# mcp-gateway-example\n\nAn MCP server compiled to a WebAssembly component \
               (wasi:http/incoming-handler). It knows nothing about auth: the \
               wasmcp-spin-authkit middleware is composed in front of it.\n",
    },
];

/// The `resources` array of a `resources/list` result.
pub fn resources() -> Value {
    RESOURCES
        .iter()
        .map(|r| {
            json!({
                "uri": r.uri,
                "name": r.name,
                "title": r.title,
                "description": r.description,
                "mimeType": r.mime_type,
            })
        })
        .collect()
}

/// The `resources/read` result for `uri`, or `None` if there is no such resource.
pub fn read_resource(uri: &str) -> Option<Value> {
    let r = RESOURCES.iter().find(|r| r.uri == uri)?;
    Some(json!({
        "contents": [{ "uri": r.uri, "mimeType": r.mime_type, "text": r.text }]
    }))
}

/// The `prompts` array of a `prompts/list` result.
pub fn prompts() -> Value {
    json!([
        {
            "name": "greet",
            "title": "Greet someone",
            "description": "Asks the model to greet a person by name.",
            "arguments": [
                { "name": "name", "description": "Who to greet.", "required": true }
            ]
        }
    ])
}

/// Why `prompts/get` failed; reported as JSON-RPC invalid params.
#[derive(Debug, PartialEq)]
pub enum PromptError {
    UnknownPrompt(String),
    MissingArgument(&'static str),
}

/// The `prompts/get` result for prompt `name` with `arguments`.
pub fn get_prompt(name: &str, arguments: &Map<String, Value>) -> Result<Value, PromptError> {
    match name {
        "greet" => {
            let who = match arguments.get("name") {
                Some(Value::String(who)) if !who.is_empty() => who,
                _ => return Err(PromptError::MissingArgument("name")),
            };
            Ok(json!({
                "description": "Greet someone by name",
                "messages": [{
                    "role": "user",
                    "content": {
                        "type": "text",
                        "text": format!("Please write a short, warm greeting for {who}.")
                    }
                }]
            }))
        }
        _ => Err(PromptError::UnknownPrompt(name.to_owned())),
    }
}
