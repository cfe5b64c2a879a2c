#!/usr/bin/env bash
# Smoke-tests a running echo-gateway (or a middleware in front of it) with python3.
#
#   examples/echo-gateway/scripts/smoke.sh http://127.0.0.1:8080 [Header: value ...]
#
# Extra arguments are headers sent with every request, e.g. 'Authorization: Bearer ...'.
set -euo pipefail
exec python3 - "$@" <<'PY'
import base64, http.client, json, sys, time, urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
extra = [tuple(h.split(":", 1)) for h in sys.argv[2:]]
extra = [(k.strip(), v.strip()) for k, v in extra]
passes = fails = 0

def request(method, path, body=None, headers=()):
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for k, v in list(headers) + extra:
        conn.putheader(k, v)
    if body is not None:
        conn.putheader("content-length", str(len(body)))
    conn.endheaders(body)
    return conn.getresponse()

def check(name, ok, detail=""):
    global passes, fails
    if ok:
        passes += 1
        print(f"ok   {name}")
    else:
        fails += 1
        print(f"FAIL {name}: {detail}")

body = bytes(range(256)) * 3
r = request("PUT", "/some/path?a=1&b=2", body, [("x-rep", "one"), ("x-rep", "two")])
d = json.loads(r.read())
check("echo status", r.status == 200 and r.getheader("content-type") == "application/json", r.status)
check("echo method/path", d["method"] == "PUT" and d["path_with_query"] == "/some/path?a=1&b=2", d)
check("echo body", base64.b64decode(d["body_base64"]) == body, d["body_base64"][:40])
reps = [v for k, v in d["headers"] if k == "x-rep"]
check("echo repeated headers in order", reps == ["one", "two"], d["headers"])

r = request("GET", "/status/418")
check("status 418 + x-echo", r.status == 418 and r.getheader("x-echo") == "yes" and r.read() == b"status 418", r.status)

n = 3_000_000
r = request("GET", f"/big?bytes={n}")
data = r.read()
check("big body", r.status == 200 and data == bytes(i % 251 for i in range(n)), len(data))

r = request("GET", "/stream?n=4&delay_ms=150")
check("stream content-type", r.getheader("content-type") == "text/event-stream", r.getheader("content-type"))
t0, arrivals, buf = time.time(), [], b""
while chunk := r.read1(65536):
    buf += chunk
    arrivals.append(time.time() - t0)
want = b"".join(b'id: %d\ndata: {"i":%d}\n\n' % (i, i) for i in range(4))
check("stream events", buf == want, buf)
check("stream is incremental", len(arrivals) >= 3 and arrivals[-1] - arrivals[0] >= 0.3,
      [f"{a:.3f}" for a in arrivals])

print(f"{passes} passed, {fails} failed")
sys.exit(1 if fails else 0)
PY
