"""Fixtures: a JWKS served by the test, the composed server in the local host,
and tokens minted with PyJWT."""

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

AUDIENCE = "https://mcp.test/mcp"
KID = "py-rsa-1"


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests with `make python-test`")
    return value


@pytest.fixture(scope="session")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def issuer(signing_key):
    """An HTTP server on 127.0.0.1 serving the public JWKS at /jwks."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/jwks":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def mcp_url(issuer):
    """The composed server (middleware + example gateway) in the wasmtime host."""
    host = _required_env("AUTHKIT_TEST_HOST")
    wasm = _required_env("AUTHKIT_TEST_SERVER_MCP")
    proc = subprocess.Popen(
        [host, "serve", wasm, "--listen", "127.0.0.1:0",
         "--var", f"authkit_issuer={issuer}",
         "--var", f"authkit_jwks_uri={issuer}/jwks",
         "--var", f"authkit_audience={AUDIENCE}"],
        stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("Serving "):
            break
        if proc.poll() is not None:
            break
    if not line.startswith("Serving "):
        proc.kill()
        pytest.fail(f"host did not start: {line!r}")
    yield line.split()[1] + "/mcp"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def mint(signing_key, issuer):
    def mint_token(**overrides):
        now = int(time.time())
        claims = {"iss": issuer, "aud": AUDIENCE, "sub": "user_123",
                  "iat": now, "exp": now + 300}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": KID})
    return mint_token
