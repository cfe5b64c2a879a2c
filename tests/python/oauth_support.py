"""Support for the end-to-end OAuth tests (test_oauth_flow.py): the real authorization
server (node oidc-provider, tests/oauth/authorization-server.mjs) and the composed MCP
server in the wasmtime host as subprocesses, a browser stand-in that completes the
authorization step without a browser, and in-memory token storage for the SDK."""

from __future__ import annotations

import base64
import json
import os
import queue
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
from mcp.client.auth import TokenStorage
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthToken

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    """A server subprocess whose stdout is read line by line on a thread (so every wait
    has a deadline) and whose stderr goes to a log file shown when something fails."""

    name: str
    proc: subprocess.Popen
    log_path: str
    lines: queue.Queue = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, name: str, argv: list[str]) -> "Process":
        log = tempfile.NamedTemporaryFile(prefix=f"authkit-{name}-", suffix=".log", delete=False)
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=log, text=True)
        log.close()
        process = cls(name, proc, log.name)
        threading.Thread(target=process._pump, daemon=True).start()
        return process

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_line(self, prefix: str, timeout: float = START_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith(prefix):
                return line.strip()
        self.stop()
        raise RuntimeError(f"{self.name} did not print {prefix!r} within {timeout:.0f} s; "
                           f"exit code {self.proc.poll()}; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdin:
            self.proc.stdin.close()


def start_authorization_server(script: str) -> tuple[Process, str]:
    """node authorization-server.mjs on 127.0.0.1 (a free port); returns it and its issuer."""
    node = os.environ.get("AUTHKIT_TEST_NODE", "node")
    process = Process.start("authorization-server", [node, script, "--port", "0"])
    issuer = process.wait_for_line("Issuer ").split()[1]
    return process, issuer


def start_mcp_server(host: str, wasm: str, variables: dict[str, str],
                     hostname: str = "127.0.0.1", cache_dir: str | None = None) -> tuple[Process, str]:
    """The composed server on a port chosen up front, so that authkit_audience (the MCP
    URL) can name it. `variables` may use {port}; returns the process and
    http://{hostname}:{port}/mcp. Retries on another port if the chosen one was taken.
    `cache_dir` keeps the compiled component, so later hosts start in well under a second."""
    last_error = None
    for _ in range(3):
        port = free_port()
        argv = [host, "serve", wasm, "--listen", f"127.0.0.1:{port}"]
        if cache_dir:
            argv += ["--cache-dir", cache_dir]
        for name, value in variables.items():
            argv += ["--var", f"{name}={value.format(port=port)}"]
        process = Process.start(f"mcp-host-{port}", argv)
        try:
            process.wait_for_line("Serving ")
        except RuntimeError as error:
            last_error = error
            continue
        return process, f"http://{hostname}:{port}/mcp"
    raise RuntimeError(f"the MCP host did not start: {last_error}")


class MemoryTokenStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class HeadlessBrowser:
    """Stands in for the user's browser: `redirect_handler` loads the authorization URL
    and follows the authorization server's redirects (login and consent are automatic
    there) with a cookie jar, until it is sent to the client's redirect URI; then
    `callback_handler` hands code, state and iss of that redirect to the SDK."""

    MAX_HOPS = 10

    def __init__(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri
        self.authorization_urls: list[str] = []
        self.hops: list[tuple[int, str]] = []
        self.callback: dict[str, str] | None = None

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        self.callback = None
        async with httpx2.AsyncClient(timeout=10, follow_redirects=False) as http:
            url = authorization_url
            for _ in range(self.MAX_HOPS):
                response = await http.get(url)
                self.hops.append((response.status_code, url))
                location = response.headers.get("location")
                if response.status_code not in (302, 303) or not location:
                    raise RuntimeError(f"authorization server answered {response.status_code} "
                                       f"at {url}: {response.text[:500]}")
                location = urljoin(url, location)
                if location.split("?", 1)[0] == self.redirect_uri:
                    query = parse_qs(urlparse(location).query)
                    self.callback = {name: values[0] for name, values in query.items()}
                    return
                url = location
        raise RuntimeError(f"no redirect to {self.redirect_uri} after {self.MAX_HOPS} hops")

    async def callback_handler(self) -> AuthorizationCodeResult:
        if self.callback is None:
            raise RuntimeError("the authorization step did not reach the redirect URI")
        if "error" in self.callback:
            raise RuntimeError(f"authorization failed: {self.callback}")
        return AuthorizationCodeResult(code=self.callback["code"], state=self.callback.get("state"),
                                       iss=self.callback.get("iss"))


def jwt_parts(token: str) -> tuple[dict, dict]:
    """Header and claims of a compact JWS (not verified: the middleware does that)."""
    def segment(s: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    header, claims, _ = token.split(".")
    return segment(header), segment(claims)


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    request_headers: httpx2.Headers
    request_body: bytes
    response_headers: httpx2.Headers


class Recorder:
    """An httpx2 response hook recording every exchange the SDK makes (MCP and OAuth)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    async def __call__(self, response: httpx2.Response) -> None:
        request = response.request
        try:
            body = request.content
        except httpx2.RequestNotRead:
            body = b""
        # Copies: the SDK's auth flow adds Authorization to the same request when it retries.
        self.exchanges.append(Exchange(request.method, str(request.url), response.status_code,
                                       httpx2.Headers(request.headers), body,
                                       httpx2.Headers(response.headers)))

    def to(self, url_prefix: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.url.startswith(url_prefix)]
