"""The composed server on Spin itself (`spin up`), where users deploy it.

The trust boundary on Spin: a hostile gateway that forges the middleware's key-value entries
through every interface Spin gives it (wasi:keyvalue and fermyon:spin/key-value,
backed by Spin's SQLite store, which outlives restarts) cannot get a token signed
by an unpublished key accepted; the audience defaults to authkit_resource; foreign
browser origins get 403.

Needs the Spin CLI: AUTHKIT_TEST_SPIN (set by `make spin-test` from SPIN, PATH or
~/.cache/spin/bin/spin). Without it every test here is SKIPPED, saying so.
"""

import json
import os
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "spin-rsa-1"
AUDIENCE = "https://mcp.test/mcp"
INITIALIZE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "spin-test", "version": "1"}}})


def spin_binary():
    path = os.environ.get("AUTHKIT_TEST_SPIN", "")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("SKIPPED: the Spin CLI was not found (set SPIN= or build it as "
                    "DEVELOPERS.md says); these tests need `spin up`")
    return path


def fixture(name):
    path = os.environ.get(name)
    if not path or not Path(path).exists():
        pytest.fail(f"{name} is not set: run these tests with `make spin-test`")
    return path


def public_jwk(key):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
    return jwk


@pytest.fixture(autouse=True)
def needs_spin():
    spin_binary()


@pytest.fixture(scope="module")
def keys():
    return {"issuer": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "attacker": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


@pytest.fixture(scope="module")
def issuer(keys):
    """The issuer's JWKS on 127.0.0.1, counting fetches."""
    body = json.dumps({"keys": [public_jwk(keys["issuer"])]}).encode()
    hits = {"jwks": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/jwks":
                self.send_error(404)
                return
            hits["jwks"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "hits": hits, "jwks": body}
    server.shutdown()


def token(key, issuer_url, audience=AUDIENCE):
    now = int(time.time())
    claims = {"iss": issuer_url, "aud": audience, "sub": "user_1", "iat": now, "exp": now + 300}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Spin:
    """`spin up` of a composed server from a temporary manifest."""

    def __init__(self, wasm, variables, app_dir=None):
        self.dir = Path(app_dir or tempfile.mkdtemp(prefix="authkit-spin-"))
        names = sorted(variables)
        manifest = "\n".join([
            "spin_manifest_version = 2",
            "[application]", 'name = "authkit-spin-test"',
            "[variables]",
            *[f'{n} = {{ default = "" }}' for n in names],
            "[[trigger.http]]", 'route = "/..."', 'component = "server"',
            "[component.server]", f'source = "{wasm}"',
            'allowed_outbound_hosts = ["http://127.0.0.1:*"]',
            'key_value_stores = ["default"]',
            "[component.server.variables]",
            *[f'{n} = "{{{{ {n} }}}}"' for n in names],
        ])
        (self.dir / "spin.toml").write_text(manifest + "\n")
        self.port = free_port()
        env = dict(os.environ)
        env.update({f"SPIN_VARIABLE_{n.upper()}": v for n, v in variables.items()})
        self.log = open(self.dir / "spin.log", "wb")
        self.proc = subprocess.Popen(
            [spin_binary(), "up", "--from", str(self.dir / "spin.toml"),
             "--listen", f"127.0.0.1:{self.port}"],
            cwd=self.dir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "spin.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("spin up did not start listening within 60 s")

    def request(self, method, path, headers=None, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=body.encode() if body else None, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def mcp(self, bearer=None, extra=None):
        headers = {"Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream", **(extra or {})}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return self.request("POST", "/mcp", headers, INITIALIZE)

    def store_rows(self):
        db = self.dir / ".spin" / "sqlite_key_value.db"
        with sqlite3.connect(db) as conn:
            return dict(conn.execute(
                "SELECT key, value FROM spin_key_value WHERE store = ?", ("default",)))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def test_a_hostile_gateway_cannot_forge_keys_on_spin(keys, issuer):
    wasm = fixture("AUTHKIT_TEST_SERVER_HOSTILE")
    variables = {"authkit_issuer": issuer["url"], "authkit_jwks_uri": issuer["url"] + "/jwks",
                 "authkit_audience": AUDIENCE}
    spin = Spin(wasm, variables)
    forged = json.dumps({"keys": [public_jwk(keys["attacker"])]})
    attacker = token(keys["attacker"], issuer["url"])
    try:
        assert spin.mcp(attacker)[0] == 401
        for _ in range(3):
            valid = token(keys["issuer"], issuer["url"])
            status, body = spin.mcp(valid, {"x-hostile-jwks": forged, "x-hostile-token": attacker})
            assert status == 200, body
            report = json.loads(body)
            assert "default" in report["labels_opened"], report
            assert report["reserved_attempts"] > 100, report
            assert report["reserved_written"] == 0, report
            assert report["reserved_read"] == 0 and report["reserved_listed"] == 0, report
            assert report["own_state"] and all(s.endswith(":ok") for s in report["own_state"]), report
            assert spin.mcp(attacker)[0] == 401
            assert spin.mcp(valid)[0] == 200
    finally:
        spin.stop()
    rows = spin.store_rows()
    cached = rows[f"authkit/v2/doc/{issuer['url']}/jwks"]
    assert bytes(cached).endswith(issuer["jwks"]), "the middleware's own JWKS entry"
    assert all(not k.startswith("authkit/v1/") for k in rows), sorted(rows)
    assert "hostile/own-state" in rows
    # The store outlives restarts: still nothing the gateway wrote is trusted.
    again = Spin(wasm, variables, app_dir=spin.dir)
    try:
        assert again.mcp(attacker)[0] == 401
        assert again.mcp(token(keys["issuer"], issuer["url"]))[0] == 200
    finally:
        again.stop()


@pytest.fixture
def example_server(issuer):
    """The example gateway behind the middleware, `authkit_resource` set, no audience."""
    spin = Spin(fixture("AUTHKIT_TEST_SERVER_MCP"),
                {"authkit_issuer": issuer["url"], "authkit_jwks_uri": issuer["url"] + "/jwks",
                 "authkit_resource": AUDIENCE})
    yield spin
    spin.stop()


def test_audience_defaults_to_the_resource_on_spin(keys, issuer, example_server):
    assert example_server.mcp(token(keys["issuer"], issuer["url"]))[0] == 200
    other = token(keys["issuer"], issuer["url"], audience="https://other.test/mcp")
    assert example_server.mcp(other)[0] == 401


def test_foreign_origins_get_403_on_spin(keys, issuer, example_server):
    valid = token(keys["issuer"], issuer["url"])
    status, body = example_server.mcp(valid, {"Origin": "https://evil.example"})
    assert status == 403 and json.loads(body)["error_description"] == "Origin not allowed"
    assert example_server.mcp(valid, {"Origin": "http://localhost:6274"})[0] == 200


def test_without_the_guard_the_attacker_gets_in_on_spin(keys, issuer):
    """What the guard prevents, shown on Spin: the same attack against a
    composition without it (compose-no-keyvalue.wac misused) lets the attacker in."""
    wasm = fixture("AUTHKIT_TEST_SERVER_UNGUARDED")
    spin = Spin(wasm, {"authkit_issuer": issuer["url"],
                       "authkit_jwks_uri": issuer["url"] + "/jwks",
                       "authkit_audience": AUDIENCE})
    forged = json.dumps({"keys": [public_jwk(keys["attacker"])]})
    attacker = token(keys["attacker"], issuer["url"])
    try:
        assert spin.mcp(attacker)[0] == 401
        valid = token(keys["issuer"], issuer["url"])
        status, body = spin.mcp(valid, {"x-hostile-jwks": forged, "x-hostile-token": attacker})
        assert status == 200 and json.loads(body)["reserved_written"] > 0, body
        assert spin.mcp(attacker)[0] == 200, "without the guard the store is trusted"
    finally:
        spin.stop()


def test_the_shipped_manifest_builds_and_serves(keys, tmp_path):
    """`spin build` runs spin.toml's build command (make compose), and the shipped
    spin.toml serves the result: keys inline (authkit_jwks), so no outbound host is
    needed; the production manifest allows no loopback host."""
    root = Path(__file__).resolve().parents[2]
    build = subprocess.run([spin_binary(), "build", "--from", str(root / "spin.toml")],
                           cwd=root, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    manifest = (root / "spin.toml").read_text()
    manifest = manifest.replace('source = "server.wasm"', f'source = "{root / "server.wasm"}"')
    (tmp_path / "spin.toml").write_text(manifest)
    issuer = "https://issuer.test"
    jwks = json.dumps({"keys": [public_jwk(keys["issuer"])]})
    env = dict(os.environ, SPIN_VARIABLE_AUTHKIT_ISSUER=issuer, SPIN_VARIABLE_AUTHKIT_JWKS=jwks,
               SPIN_VARIABLE_AUTHKIT_RESOURCE=AUDIENCE)
    port = free_port()
    log = open(tmp_path / "spin.log", "wb")
    proc = subprocess.Popen([spin_binary(), "up", "--from", str(tmp_path / "spin.toml"),
                             "--listen", f"127.0.0.1:{port}"], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, \
                    (tmp_path / "spin.log").read_text()
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/mcp"

        def post(headers):
            req = urllib.request.Request(url, data=INITIALIZE.encode(), method="POST", headers={
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream", **headers})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status, r.headers
            except urllib.error.HTTPError as e:
                return e.code, e.headers

        assert post({"Authorization": f"Bearer {token(keys['issuer'], issuer)}"})[0] == 200
        status, headers = post({})
        assert status == 401
        assert 'resource_metadata="https://mcp.test/.well-known/oauth-protected-resource/mcp"' \
            in headers["WWW-Authenticate"]
        other = token(keys["issuer"], issuer, audience="https://other.test/mcp")
        assert post({"Authorization": f"Bearer {other}"})[0] == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
