"""The official MCP Python SDK (`mcp`) against the composed server: with a valid
bearer token it initializes, lists and calls tools through the middleware;
without one (or with a bad one) it is refused."""

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def _session_roundtrip(url: str, headers: dict[str, str], statuses: list | None = None):
    async with create_mcp_http_client(headers=headers) as http:
        if statuses is not None:
            async def record(response):
                statuses.append(response.status_code)
            http.event_hooks["response"].append(record)
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                tools = await session.list_tools()
                echoed = await session.call_tool("echo", {"message": "hello through authkit"})
                added = await session.call_tool("add", {"a": 20, "b": 22})
                return init, tools, echoed, added



def test_sdk_initializes_lists_and_calls_tools_with_a_token(mcp_url, mint):
    init, tools, echoed, added = anyio.run(
        _session_roundtrip, mcp_url, {"Authorization": f"Bearer {mint()}"})
    assert init.server_info.name == "mcp-gateway-example"
    names = {tool.name for tool in tools.tools}
    assert {"echo", "add"} <= names
    assert echoed.is_error is False
    assert echoed.content[0].text == "hello through authkit"
    assert added.content[0].text == "42"


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-a-jwt"},
])
def test_sdk_is_refused_without_a_valid_token(mcp_url, headers):
    statuses = []
    with pytest.raises(BaseException):
        anyio.run(_session_roundtrip, mcp_url, headers, statuses)
    assert statuses and set(statuses) == {401}, statuses


def test_sdk_is_refused_with_an_expired_or_foreign_token(mcp_url, mint):
    import time
    for token in (mint(exp=int(time.time()) - 3600), mint(aud="https://other.example"),
                  mint(iss="https://evil.example")):
        statuses = []
        with pytest.raises(BaseException):
            anyio.run(_session_roundtrip, mcp_url, {"Authorization": f"Bearer {token}"}, statuses)
        assert statuses and set(statuses) == {401}, statuses


def test_401_challenge_points_at_the_metadata_the_sdk_discovers(mcp_url):
    base = mcp_url.rsplit("/mcp", 1)[0]
    with httpx2.Client() as http:
        r = http.post(mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                      headers={"Accept": "application/json, text/event-stream"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"')
        assert r.json() == {"error": "unauthorized",
                            "error_description": "Missing authorization header"}
        meta = http.get(f"{base}/.well-known/oauth-protected-resource/mcp")
        assert meta.status_code == 200
        assert meta.json()["resource"] == mcp_url
