#!/usr/bin/env bash
# Smoke-tests a running mcp-gateway (or anything in front of it that lets requests
# through) over HTTP with curl.
#
#   examples/mcp-gateway/scripts/smoke.sh http://127.0.0.1:8080/mcp [extra curl args...]
#
# Extra arguments go to every curl call, e.g. -H 'Authorization: Bearer ...'.
set -euo pipefail
url=${1:?usage: smoke.sh URL [curl args...]}
shift
fails=0 passes=0

# check NAME EXPECTED_STATUS EXPECTED_BODY_SUBSTRING CURL_ARGS...
check() {
  local name=$1 want_status=$2 want_body=$3
  shift 3
  local out status body
  out=$(curl -sS -o /dev/stdout -w '\n%{http_code}' "$@" "${extra[@]}" "$url") || true
  status=${out##*$'\n'}
  body=${out%$'\n'*}
  if [[ $status == "$want_status" && $body == *"$want_body"* ]]; then
    passes=$((passes + 1))
    echo "ok   $name"
  else
    fails=$((fails + 1))
    echo "FAIL $name: got $status $body (want $want_status, body containing $want_body)"
  fi
}
extra=("$@")
post=(-X POST -H 'content-type: application/json')
json=("${post[@]}" -H 'accept: application/json, text/event-stream')
rpc() { printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}' "$1" "${2:-{\}}"; }

check initialize 200 '"protocolVersion":"2025-06-18"' "${json[@]}" \
  -d "$(rpc initialize '{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"smoke","version":"0"}}')"
session=$(curl -sS -D - -o /dev/null "${json[@]}" "${extra[@]}" \
  -d "$(rpc initialize '{"protocolVersion":"2025-11-25"}')" "$url" |
  tr -d '\r' | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
if [[ -n $session ]]; then passes=$((passes + 1)); echo "ok   Mcp-Session-Id ($session)"; else fails=$((fails + 1)); echo "FAIL no Mcp-Session-Id"; fi
check initialized-notification 202 '' "${json[@]}" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
check ping 200 '"result":{}' "${json[@]}" -H 'mcp-protocol-version: 2025-11-25' -d "$(rpc ping)"
check tools/list 200 '"name":"add"' "${json[@]}" -d "$(rpc tools/list)"
check tools/call-echo 200 '"text":"hello"' "${json[@]}" -d "$(rpc tools/call '{"name":"echo","arguments":{"message":"hello"}}')"
check tools/call-add 200 '"text":"5"' "${json[@]}" -d "$(rpc tools/call '{"name":"add","arguments":{"a":2,"b":3}}')"
check tools/call-bad-args 200 '"isError":true' "${json[@]}" -d "$(rpc tools/call '{"name":"add","arguments":{"a":"x"}}')"
check tools/call-unknown 200 '-32602' "${json[@]}" -d "$(rpc tools/call '{"name":"nope"}')"
check resources/list 200 'example://greeting' "${json[@]}" -d "$(rpc resources/list)"
check resources/read 200 'Hello from mcp-gateway-example' "${json[@]}" -d "$(rpc resources/read '{"uri":"example://greeting"}')"
check resources/templates/list 200 '"resourceTemplates":[]' "${json[@]}" -d "$(rpc resources/templates/list)"
check prompts/get 200 'Ada' "${json[@]}" -d "$(rpc prompts/get '{"name":"greet","arguments":{"name":"Ada"}}')"
check server/discover 200 '-32601' "${json[@]}" -d "$(rpc server/discover)"
check parse-error 400 '-32700' "${json[@]}" -d '{oops'
check batch 400 '-32600' "${json[@]}" -d "[$(rpc ping)]"
check GET 405 '' -X GET -H 'accept: text/event-stream'
check DELETE 405 '' -X DELETE
check not-acceptable 406 '' "${post[@]}" -H 'accept: text/html' -d "$(rpc ping)"
check bad-protocol-version 400 '' "${json[@]}" -H 'mcp-protocol-version: 1999-01-01' -d "$(rpc ping)"
big=$(mktemp)
trap 'rm -f "$big"' EXIT
head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$big"
check too-large 413 '' "${json[@]}" --data-binary "@$big"
check too-large-chunked 413 '' "${json[@]}" -H 'transfer-encoding: chunked' --data-binary "@$big"

echo "$passes passed, $fails failed"
[[ $fails == 0 ]]
