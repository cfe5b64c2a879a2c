"""The whole OAuth dance through the middleware, with a real authorization server and the
official MCP Python SDK (`mcp`) starting from nothing but the MCP URL:

  401 + resource_metadata -> protected-resource metadata (RFC 9728) -> authorization
  server metadata (RFC 8414) -> dynamic registration (RFC 7591) -> authorization code +
  PKCE S256 with `resource` (RFC 8707) -> token request with `resource` -> RFC 9068 JWT
  access token -> tools/call through the middleware.

The authorization server is node oidc-provider (tests/oauth/authorization-server.mjs):
automatic login and consent, RS256 and ES256 keys. Also: a machine-to-machine client
(client_credentials with `resource`), audience binding, RFC 9728 §3.3 resource
mismatch, and MCP-Protocol-Version values passing through. Run with `make oauth-test`.
"""

import json
import os
from urllib.parse import parse_qs, urlparse

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from oauth_support import (HeadlessBrowser, MemoryTokenStorage, Recorder, jwt_parts,
                           start_authorization_server, start_mcp_server)

# Never listened on: the headless browser stops at the redirect to it.
REDIRECT_URI = "http://127.0.0.1:8976/callback"
TEST_ACCOUNT = "test-user-1"  # the account the authorization server logs in automatically
FLOW_TIMEOUT = 60
ACCEPT = "application/json, text/event-stream"


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: run these tests with `make oauth-test`")
    return value


@pytest.fixture(scope="module")
def issuer():
    """The real authorization server (oidc-provider) on 127.0.0.1."""
    process, issuer = start_authorization_server(_env("AUTHKIT_TEST_OAUTH_AS"))
    yield issuer
    process.stop()


@pytest.fixture(scope="module")
def servers(issuer, tmp_path_factory):
    """The composed server (middleware + example gateway), configured three ways:

    - discovery: client URL http://127.0.0.1:PORT/mcp, JWKS found through the issuer's
      metadata (authkit_jwks_uri unset), resource taken from the request;
    - localhost: client URL http://localhost:PORT/mcp, explicit authkit_jwks_uri;
    - pinned: authkit_resource set to http://127.0.0.1:PORT/mcp (the production setting);
    - scoped: authkit_required_scopes=mcp:tools (listed as scopes_supported; a token
      without it gets 403 insufficient_scope).
    """
    host, wasm = _env("AUTHKIT_TEST_HOST"), _env("AUTHKIT_TEST_SERVER_MCP")
    cache_dir = str(tmp_path_factory.mktemp("host-cache"))

    def _serve(issuer: str, hostname: str, **variables):
        return start_mcp_server(host, wasm, {"authkit_issuer": issuer, **variables}, hostname,
                                cache_dir)

    started = {}
    try:
        started["discovery"] = _serve(issuer, "127.0.0.1",
                                      authkit_audience="http://127.0.0.1:{port}/mcp")
        started["localhost"] = _serve(issuer, "localhost",
                                      authkit_jwks_uri=f"{issuer}/jwks",
                                      authkit_audience="http://localhost:{port}/mcp")
        started["pinned"] = _serve(issuer, "127.0.0.1",
                                   authkit_audience="http://127.0.0.1:{port}/mcp",
                                   authkit_resource="http://127.0.0.1:{port}/mcp")
        started["scoped"] = _serve(issuer, "127.0.0.1",
                                   authkit_audience="http://127.0.0.1:{port}/mcp",
                                   authkit_required_scopes="mcp:tools")
        yield {name: url for name, (_, url) in started.items()}
    finally:
        for process, _ in started.values():
            process.stop()


def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def _form(exchange) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(exchange.request_body.decode()).items()}


def _rpc_method(exchange) -> str | None:
    try:
        return json.loads(exchange.request_body).get("method")
    except (ValueError, AttributeError):
        return None


async def _use_tools(url: str, auth: httpx2.Auth, recorder: Recorder):
    """What any MCP client does: connect (the SDK's default 'auto' mode probes
    server/discover, then falls back to initialize), list and call tools."""
    timeout = httpx2.Timeout(30, read=60)
    with anyio.fail_after(FLOW_TIMEOUT):
        async with httpx2.AsyncClient(auth=auth, timeout=timeout,
                                      event_hooks={"response": [recorder]}) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                tools = await client.list_tools()
                echoed = await client.call_tool("echo", {"message": "hello via oauth"})
                added = await client.call_tool("add", {"a": 20, "b": 22})
                return client.session.initialize_result, tools, echoed, added


def _assert_tools_worked(result):
    init, tools, echoed, added = result
    assert init is not None and init.server_info.name == "mcp-gateway-example"
    assert {"echo", "add"} <= {tool.name for tool in tools.tools}
    assert echoed.is_error is False and echoed.content[0].text == "hello via oauth"
    assert added.content[0].text == "42"


def _assert_access_token(token: str, *, issuer: str, audience: str, alg: str, sub: str):
    header, claims = _parts = jwt_parts(token)
    assert header["typ"] == "at+jwt", header  # RFC 9068
    assert header["alg"] == alg, header
    assert header["kid"] == {"RS256": "authkit-test-rs256", "ES256": "authkit-test-es256"}[alg]
    assert claims["iss"] == issuer
    assert claims["aud"] == audience
    assert claims["sub"] == sub
    assert claims["exp"] > claims["iat"]
    return _parts


@pytest.mark.parametrize("server,alg", [
    ("discovery", "RS256"),
    ("discovery", "ES256"),
    ("localhost", "RS256"),
    ("localhost", "ES256"),
    ("pinned", "ES256"),
    ("scoped", "RS256"),
])
def test_sdk_authorization_code_flow_from_the_mcp_url(servers, issuer, server, alg):
    url = servers[server]
    origin = _origin(url)
    storage = MemoryTokenStorage()
    browser = HeadlessBrowser(REDIRECT_URI)
    recorder = Recorder()
    auth = OAuthClientProvider(
        url,
        OAuthClientMetadata(client_name=f"mcp-python-sdk [{alg}]", redirect_uris=[REDIRECT_URI]),
        storage, browser.redirect_handler, browser.callback_handler)

    _assert_tools_worked(anyio.run(_use_tools, url, auth, recorder))

    mcp, oauth = recorder.to(url), recorder.to(issuer)
    # 1. Unauthenticated first request -> 401 with resource_metadata (RFC 9728 §5.1).
    first = recorder.exchanges[0]
    assert (first.method, first.url, first.status) == ("POST", url, 401)
    assert "authorization" not in first.request_headers
    metadata_url = f"{origin}/.well-known/oauth-protected-resource/mcp"
    challenge = first.response_headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code without credentials
    # 2. Protected-resource metadata: resource is the URL the client used (RFC 9728 §3.3).
    prm = recorder.exchanges[1]
    assert (prm.method, prm.url, prm.status) == ("GET", metadata_url, 200)
    # 3. Authorization server metadata at the issuer, then 4. registration, 5. token.
    assert [(e.method, e.url, e.status) for e in oauth] == [
        ("GET", f"{issuer}/.well-known/oauth-authorization-server", 200),
        ("POST", f"{issuer}/reg", 201),
        ("POST", f"{issuer}/token", 200),
    ]
    # The authorization request: code + PKCE S256 + resource, and the redirect carried iss (RFC 9207).
    assert len(browser.authorization_urls) == 1
    authorization = parse_qs(urlparse(browser.authorization_urls[0]).query)
    assert authorization["response_type"] == ["code"]
    assert authorization["code_challenge_method"] == ["S256"]
    assert authorization["resource"] == [url]
    if server == "scoped":  # from scopes_supported in the protected-resource metadata
        assert "mcp:tools" in authorization["scope"][0].split()
    assert browser.callback["iss"] == issuer
    token_request = _form(oauth[2])
    assert token_request["grant_type"] == "authorization_code"
    assert token_request["resource"] == url
    assert token_request["code_verifier"]
    # The access token: an RFC 9068 JWT for exactly this MCP URL, signed with `alg`.
    token = storage.tokens.access_token
    _, claims = _assert_access_token(token, issuer=issuer, audience=url, alg=alg, sub=TEST_ACCOUNT)
    assert claims["client_id"] == storage.client_info.client_id
    assert claims["scope"] == "mcp:tools"
    # Every later MCP request carried it and got through; the protocol-version probe
    # (server/discover at 2026-07-28) reached the gateway, which answered it itself.
    retried = mcp[1:]
    assert retried and all(e.request_headers["authorization"] == f"Bearer {token}" for e in retried)
    assert all(e.status != 401 for e in retried)
    probe = retried[0]
    assert _rpc_method(probe) == "server/discover"
    assert probe.request_headers["mcp-protocol-version"] == "2026-07-28"
    assert probe.status != 401 and "www-authenticate" not in probe.response_headers
    assert _rpc_method(retried[1]) == "initialize" and retried[1].status == 200


def test_sdk_refuses_metadata_naming_another_resource(servers, issuer):
    """RFC 9728 §3.3: with authkit_resource pinned to http://127.0.0.1:PORT/mcp, a client
    that connects to http://localhost:PORT/mcp must not use the metadata (nor register)."""
    url = servers["pinned"].replace("127.0.0.1", "localhost")
    browser = HeadlessBrowser(REDIRECT_URI)
    recorder = Recorder()
    auth = OAuthClientProvider(
        url, OAuthClientMetadata(client_name="mcp-python-sdk", redirect_uris=[REDIRECT_URI]),
        MemoryTokenStorage(), browser.redirect_handler, browser.callback_handler)
    with pytest.raises(BaseException) as raised:
        anyio.run(_use_tools, url, auth, recorder)
    assert "does not match" in repr(raised.value) or any(
        "does not match" in repr(e) for e in getattr(raised.value, "exceptions", []))
    assert recorder.to(issuer) == [] and browser.authorization_urls == []


def _register_m2m_client(issuer: str, alg: str) -> dict:
    """What an operator does once for a service: register a client_credentials client."""
    with httpx2.Client(timeout=10) as http:
        registration_endpoint = http.get(
            f"{issuer}/.well-known/oauth-authorization-server").json()["registration_endpoint"]
        response = http.post(registration_endpoint, json={
            "client_name": f"m2m-service [{alg}]",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "token_endpoint_auth_method": "client_secret_basic",
        })
        assert response.status_code == 201, response.text
        return response.json()


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_machine_to_machine_client_credentials(servers, issuer, alg):
    url = servers["discovery"]
    client = _register_m2m_client(issuer, alg)
    storage = MemoryTokenStorage()
    recorder = Recorder()
    auth = ClientCredentialsOAuthProvider(url, storage, client["client_id"], client["client_secret"],
                                          issuer=issuer)

    _assert_tools_worked(anyio.run(_use_tools, url, auth, recorder))

    token_requests = [e for e in recorder.to(f"{issuer}/token")]
    assert len(token_requests) == 1 and token_requests[0].status == 200
    form = _form(token_requests[0])
    assert form["grant_type"] == "client_credentials"
    assert form["resource"] == url
    assert token_requests[0].request_headers["authorization"].startswith("Basic ")
    _assert_access_token(storage.tokens.access_token, issuer=issuer, audience=url, alg=alg,
                         sub=client["client_id"])


def _client_credentials_token(issuer: str, resource: str, alg: str = "RS256") -> str:
    client = _register_m2m_client(issuer, alg)
    with httpx2.Client(timeout=10) as http:
        response = http.post(f"{issuer}/token",
                             data={"grant_type": "client_credentials", "resource": resource},
                             auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _rpc(http: httpx2.Client, url: str, method: str, params: dict, headers: dict, id_=1):
    return http.post(url, json={"jsonrpc": "2.0", "id": id_, "method": method, "params": params},
                     headers={"Accept": ACCEPT, **headers})


def test_tokens_are_bound_to_their_resource(servers, issuer):
    """A real token for http://127.0.0.1:PORT/mcp works there and nowhere else."""
    own, other = servers["discovery"], servers["localhost"]
    token = _client_credentials_token(issuer, own)
    with httpx2.Client(timeout=30) as http:
        ok = _rpc(http, own, "ping", {}, {"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        refused = _rpc(http, other, "ping", {}, {"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
        assert refused.json() == {"error": "invalid_token",
                                  "error_description": "Invalid token audience"}
        assert refused.headers["www-authenticate"].startswith(
            'Bearer error="invalid_token", error_description="Invalid token audience"')


@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
def test_handshake_protocol_versions_pass_through(servers, issuer, version):
    """Negotiated with initialize, then sent as MCP-Protocol-Version on every request:
    the middleware hands both to the gateway as they are."""
    url = servers["discovery"]
    bearer = {"Authorization": f"Bearer {_client_credentials_token(issuer, url)}"}
    with httpx2.Client(timeout=30) as http:
        init = _rpc(http, url, "initialize", {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "raw-client", "version": "1"}}, bearer)
        assert init.status_code == 200, init.text
        assert init.json()["result"]["protocolVersion"] == version
        session = {"Mcp-Session-Id": init.headers["mcp-session-id"], "MCP-Protocol-Version": version}
        call = _rpc(http, url, "tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}},
                    {**bearer, **session}, id_=2)
        assert call.status_code == 200, call.text
        assert call.json()["result"]["content"][0]["text"] == "3"
        # Without the token the same request never reaches the gateway.
        assert _rpc(http, url, "tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}},
                    session, id_=3).status_code == 401


def test_2026_07_28_probe_reaches_the_gateway(servers, issuer):
    """server/discover at MCP-Protocol-Version 2026-07-28 (what the SDK's 'auto' mode sends
    first) is the gateway's to answer; this example gateway predates 2026-07-28 and says
    so itself (400, JSON-RPC error naming the version), which makes the SDK fall back to
    initialize. The middleware neither answers nor alters it."""
    url = servers["discovery"]
    bearer = {"Authorization": f"Bearer {_client_credentials_token(issuer, url, 'ES256')}"}
    with httpx2.Client(timeout=30) as http:
        probe = _rpc(http, url, "server/discover", {}, {**bearer, "MCP-Protocol-Version": "2026-07-28"})
        assert probe.status_code == 400
        assert "www-authenticate" not in probe.headers
        assert probe.json()["error"]["message"] == "unsupported MCP-Protocol-Version: 2026-07-28"
        unauthenticated = _rpc(http, url, "server/discover", {}, {"MCP-Protocol-Version": "2026-07-28"})
        assert unauthenticated.status_code == 401


def test_required_scopes_with_real_tokens(servers, issuer):
    """authkit_required_scopes=mcp:tools: the metadata lists it, a real token without it
    gets 403 insufficient_scope naming it (so clients can step up), one with it passes."""
    url = servers["scoped"]
    base = _origin(url)
    client = _register_m2m_client(issuer, "m2m-scopes [ES256]")
    with httpx2.Client(timeout=30) as http:
        metadata = http.get(f"{base}/.well-known/oauth-protected-resource/mcp").json()
        assert metadata["scopes_supported"] == ["mcp:tools"]

        def token(**scope):
            response = http.post(f"{issuer}/token", data={
                "grant_type": "client_credentials", "resource": url, **scope},
                auth=(client["client_id"], client["client_secret"]))
            assert response.status_code == 200, response.text
            return response.json()["access_token"]

        unscoped, scoped = token(), token(scope="mcp:tools")
        assert "scope" not in jwt_parts(unscoped)[1]
        assert jwt_parts(scoped)[1]["scope"] == "mcp:tools"
        refused = _rpc(http, url, "ping", {}, {"Authorization": f"Bearer {unscoped}"})
        assert refused.status_code == 403
        assert refused.json()["error"] == "insufficient_scope"
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
        assert 'scope="mcp:tools"' in refused.headers["www-authenticate"]
        accepted = _rpc(http, url, "ping", {}, {"Authorization": f"Bearer {scoped}"})
        assert accepted.status_code == 200, accepted.text
