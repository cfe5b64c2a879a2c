"""Soak (issue 11 part 7; a measurement, not a test): 60 s at concurrency 16
against the composed server, on the local wasmtime host and on Spin.

Traffic: 70 % valid tokens, 30 % bad ones (signed by an unpublished key,
expired, another audience, random kid: each a kid-miss refresh candidate). The
issuer publishes a second key from 5 s and signs with it from 30 s (rotation);
its JWKS endpoint answers 500 from 40 s to 50 s. The cache lifetime is 15 s
(authkit_jwks_cache_seconds), so refreshes fall into the failure. Expected:
valid -> 200, bad -> 401, always. Counted: wrong answers, 5xx on valid tokens,
JWKS fetches (and those answered 500).

    bench/soak.py --host target/host/authkit-host build/server-mcp.wasm
    bench/soak.py --spin ~/.cache/spin/bin/spin build/server-mcp.wasm
    bench/soak.py --flood ...   every request names a random unknown kid: JWKS
                                fetches per minute under a kid-miss flood
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "spin"))
import test_spin  # noqa: E402  (the `spin up` launcher)

AUDIENCE = "https://mcp.test/mcp"
BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}).encode()


def jwk(key, kid):
    d = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    d.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return d


class Issuer:
    def __init__(self, start):
        self.k1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.k2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.start, self.fetches, self.failed = start, 0, 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                t = time.time() - issuer.start
                issuer.fetches += 1
                if 40 <= t < 50:
                    issuer.failed += 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                keys = [jwk(issuer.k1, "k1")] + ([jwk(issuer.k2, "k2")] if t >= 5 else [])
                body = json.dumps({"keys": keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def token(self, key, kid, **over):
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": "u", "iat": now, "exp": now + 300}
        claims.update(over)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def valid(self):
        t = time.time() - self.start
        return self.token(self.k2, "k2") if t >= 30 else self.token(self.k1, "k1")

    def bad(self):
        kind = random.randrange(4)
        if kind == 0:
            return self.token(self.rogue, "k1")
        if kind == 1:
            return self.token(self.k1, "k1", exp=int(time.time()) - 3600)
        if kind == 2:
            return self.token(self.k1, "k1", aud="https://other.test/mcp")
        return self.token(self.rogue, f"random-{random.randrange(1 << 30)}")


def soak(url, issuer, seconds, concurrency, flood=False):
    counts, lock = Counter(), threading.Lock()
    latencies = []
    deadline = issuer.start + seconds
    # Tokens are minted ahead of time per phase: signing in Python must not be the bottleneck.

    def worker(n):
        rng = random.Random(n)
        while time.time() < deadline:
            good = not flood and rng.random() < 0.7
            if flood:
                tok = issuer.token(issuer.rogue, f"random-{rng.randrange(1 << 30)}")
            else:
                tok = issuer.valid() if good else issuer.bad()
            req = urllib.request.Request(url, data=BODY, method="POST", headers={
                "Authorization": f"Bearer {tok}", "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream"})
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status = r.status
                    r.read()
            except urllib.error.HTTPError as e:
                status = e.code
            except Exception:
                status = 0
            dt = time.perf_counter() - t0
            expected = 200 if good else 401
            with lock:
                latencies.append(dt)
                counts["valid" if good else "bad"] += 1
                if status != expected:
                    counts[f"wrong: {'valid' if good else 'bad'} -> {status}"] += 1
                if good and status >= 500:
                    counts["5xx on valid"] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    total = len(latencies)
    return {
        "requests": total,
        "valid": counts["valid"],
        "bad": counts["bad"],
        "wrong_answers": sum(v for k, v in counts.items() if k.startswith("wrong")),
        "wrong_detail": {k: v for k, v in counts.items() if k.startswith("wrong")},
        "5xx_on_valid": counts["5xx on valid"],
        "jwks_fetches": issuer.fetches,
        "jwks_fetches_answered_500": issuer.failed,
        "p50_ms": round(latencies[total // 2] * 1000, 2) if total else None,
        "p99_ms": round(latencies[int(total * 0.99)] * 1000, 2) if total else None,
    }


def main():
    p = argparse.ArgumentParser()
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--host")
    g.add_argument("--spin")
    p.add_argument("server")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--flood", action="store_true")
    a = p.parse_args()
    issuer = Issuer(time.time() + 5)  # the clock starts once the server is up
    variables = {"authkit_issuer": issuer.url, "authkit_jwks_uri": issuer.url + "/jwks",
                 "authkit_resource": AUDIENCE, "authkit_jwks_cache_seconds": "15"}
    if a.spin:
        os.environ["AUTHKIT_TEST_SPIN"] = a.spin
        server = test_spin.Spin(str(Path(a.server).resolve()), variables)
        url, stop = f"http://127.0.0.1:{server.port}/mcp", server.stop
    else:
        port = test_spin.free_port()
        args = [a.host, "serve", a.server, "--listen", f"127.0.0.1:{port}"]
        for k, v in variables.items():
            args += ["--var", f"{k}={v}"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        url, stop = f"http://127.0.0.1:{port}/mcp", proc.terminate
    issuer.start = time.time()
    try:
        result = soak(url, issuer, a.seconds, a.concurrency, a.flood)
    finally:
        stop()
    result["target"] = ("spin" if a.spin else "local host") + (", unknown-kid flood" if a.flood else "")
    print(json.dumps(result, indent=2))
    return 1 if result["wrong_answers"] or result["5xx_on_valid"] else 0


if __name__ == "__main__":
    sys.exit(main())
