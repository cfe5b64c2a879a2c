// `node --import ./auth-preload.mjs …conformance server --url URL`: gives the
// conformance CLI (which has no token option) a bearer token, and records what the
// server answered.
//
// Every HTTP request a Node process makes through undici (global fetch, which the MCP
// SDK client and the SSE scenarios use, and the `undici` package, which the
// DNS-rebinding scenario uses) is announced on the `undici:request:create`
// diagnostics channel before it is sent; requests to the MCP server's origin get
//   Authorization: Bearer $CONFORMANCE_TOKEN     (when set and not already present)
// and, when $CONFORMANCE_REQUEST_LOG names a file, one JSON line per response head
// ({method, path, status}) is appended to it.

import dc from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';

const mcpUrl = process.env.CONFORMANCE_MCP_URL;
if (!mcpUrl) throw new Error('auth-preload: set CONFORMANCE_MCP_URL');
const origin = new URL(mcpUrl).origin;
const token = process.env.CONFORMANCE_TOKEN;
const requestLog = process.env.CONFORMANCE_REQUEST_LOG;

/** Header names of an undici request: an array [name, value, …] or a raw string. */
function hasHeader(headers, name) {
  if (Array.isArray(headers)) {
    return headers.some((h, i) => i % 2 === 0 && String(h).toLowerCase() === name);
  }
  return new RegExp(`(^|\\r\\n)${name}:`, 'i').test(String(headers ?? ''));
}

dc.subscribe('undici:request:create', ({ request }) => {
  if (token && request.origin === origin && !hasHeader(request.headers, 'authorization')) {
    request.addHeader('authorization', `Bearer ${token}`);
  }
});

if (requestLog) {
  dc.subscribe('undici:request:headers', ({ request, response }) => {
    if (request.origin !== origin) return;
    const line = { method: request.method, path: request.path, status: response.statusCode };
    appendFileSync(requestLog, `${JSON.stringify(line)}\n`);
  });
}
