#!/usr/bin/env bash
# Measures what a newcomer waits for (issue 12; a measurement, not a test): a fresh
# clone of this repository, an empty target dir, then the README's `make up`, until
# the first authenticated MCP `tools/list` answers 200. Prints the seconds.
#
#   bench/first-request.sh            zero configuration (development issuer)
#   SPIN=/path/to/spin bench/first-request.sh
#   SPIN=none bench/first-request.sh  without Spin (the wasmtime host)
#
# Uses a scratch directory (FIRST_REQUEST_DIR, default /tmp/authkit-first-request);
# CARGO_HOME's registry cache is kept (crates are downloaded once per machine).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${FIRST_REQUEST_DIR:-/tmp/authkit-first-request}
rm -rf "$dir"
start=$(date +%s)
git clone -q "$repo" "$dir"
cd "$dir"
log="$dir/make-up.log"
# Its own process group, so that everything `make up` started (the server, Spin's
# trigger process, the development issuer) is stopped at the end.
setsid make up > "$log" 2>&1 &
up=$!
trap 'kill -- -$up 2>/dev/null || true' EXIT
token=""
while kill -0 $up 2>/dev/null; do
    token=$(grep -o 'Bearer ey[A-Za-z0-9._-]*' "$log" | head -1 | cut -d' ' -f2 || true)
    if [ -n "$token" ]; then
        status=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:3000/mcp \
            -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            -H 'Accept: application/json, text/event-stream' \
            -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' || true)
        if [ "$status" = 200 ]; then
            echo "first authenticated tools/list after $(( $(date +%s) - start )) s ($(grep -m1 -o 'with .* up\|local wasmtime host' "$log" || echo '?'))"
            exit 0
        fi
    fi
    sleep 2
done
echo "make up stopped before serving; see $log" >&2
exit 1
