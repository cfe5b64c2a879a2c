// Helpers for the node tests: the composed MCP server in the wasmtime host, a headless
// "browser" for the authorization step, an in-memory OAuthClientProvider for the
// TypeScript SDK, and a fetch wrapper that records every exchange.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const START_TIMEOUT_MS = 60_000;

export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests with \`make oauth-test\``);
  return value;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs `argv`, resolves with the first stdout line starting with `prefix` (bounded). */
export function spawnUntilLine(argv, prefix, { timeoutMs = START_TIMEOUT_MS, env } = {}) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv[0]} did not print "${prefix}" within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith(prefix)) {
        clearTimeout(timer);
        resolve({ child, line, stderr: () => stderr });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv[0]} exited (${code}) before printing "${prefix}":\n${stderr}`));
    });
  });
}

// Servers still running when this test process exits (a timeout, a crash) go with it.
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts the composed server (middleware + example gateway) in the wasmtime host on a
 * port chosen up front, so that `variables` can name the MCP URL ({port} is replaced).
 * Returns `{ url, stop() }` with url http://{hostname}:{port}/mcp.
 */
export async function startMcpServer(variables, { hostname = '127.0.0.1', cacheDir } = {}) {
  const host = requiredEnv('AUTHKIT_TEST_HOST');
  const wasm = requiredEnv('AUTHKIT_TEST_SERVER_MCP');
  let lastError;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const argv = [host, 'serve', wasm, '--listen', `127.0.0.1:${port}`];
    if (cacheDir) argv.push('--cache-dir', cacheDir);
    for (const [name, value] of Object.entries(variables)) {
      argv.push('--var', `${name}=${value.replaceAll('{port}', String(port))}`);
    }
    try {
      const { child } = await spawnUntilLine(argv, 'Serving ');
      return { url: `http://${hostname}:${port}/mcp`, stop: () => stopChild(child) };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The user's browser, without a browser: loads the authorization URL and follows the
 * authorization server's redirects (login and consent are automatic there) with a cookie
 * jar until it is sent to `redirectUri`; returns that redirect's query parameters.
 */
export async function headlessAuthorize(authorizationUrl, redirectUri, { maxHops = 10 } = {}) {
  const cookies = new Map();
  let url = String(authorizationUrl);
  const hops = [];
  for (let hop = 0; hop < maxHops; hop += 1) {
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
      signal: AbortSignal.timeout(10_000),
    });
    hops.push([response.status, url]);
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair] = setCookie.split(';');
      const index = pair.indexOf('=');
      cookies.set(pair.slice(0, index).trim(), pair.slice(index + 1).trim());
    }
    const location = response.headers.get('location');
    if (![302, 303].includes(response.status) || !location) {
      throw new Error(`authorization server answered ${response.status} at ${url}: ${(await response.text()).slice(0, 500)}`);
    }
    await response.arrayBuffer();
    const next = new URL(location, url);
    if (`${next.origin}${next.pathname}` === redirectUri) {
      return { params: Object.fromEntries(next.searchParams), hops };
    }
    url = next.href;
  }
  throw new Error(`no redirect to ${redirectUri} after ${maxHops} hops`);
}

/** An OAuthClientProvider (TypeScript SDK interface) keeping everything in memory. */
export class MemoryOAuthProvider {
  constructor({ redirectUrl, clientMetadata }) {
    this._redirectUrl = redirectUrl;
    this._clientMetadata = clientMetadata;
    this.authorizationUrls = [];
    this.states = [];
  }

  get redirectUrl() { return this._redirectUrl; }

  get clientMetadata() { return this._clientMetadata; }

  state() {
    const state = crypto.randomUUID();
    this.states.push(state);
    return state;
  }

  clientInformation() { return this._clientInformation; }

  saveClientInformation(info) { this._clientInformation = info; }

  tokens() { return this._tokens; }

  saveTokens(tokens) { this._tokens = tokens; }

  redirectToAuthorization(url) { this.authorizationUrls.push(new URL(url)); }

  saveCodeVerifier(verifier) { this._codeVerifier = verifier; }

  codeVerifier() { return this._codeVerifier; }

  discoveryState() { return this._discoveryState; }

  saveDiscoveryState(state) { this._discoveryState = state; }
}

/** A fetch that records `{ method, url, status, requestHeaders, body, responseHeaders }`. */
export function recordingFetch(log, { rewriteBody } = {}) {
  return async (input, init = {}) => {
    let { body } = init;
    if (rewriteBody && typeof body === 'string') {
      body = rewriteBody(body);
      init = { ...init, body };
    }
    const entry = {
      method: init.method ?? 'GET',
      url: String(input instanceof Request ? input.url : input),
      requestHeaders: new Headers(init.headers),
      body: typeof body === 'string' ? body : body instanceof URLSearchParams ? body.toString() : undefined,
    };
    log.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    entry.responseHeaders = new Headers(response.headers);
    return response;
  };
}

export function jwtParts(token) {
  const [header, claims] = token.split('.').slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  return { header, claims };
}

/** Registers a client_credentials client (what an operator does once for a service). */
export async function registerM2MClient(issuer, clientName) {
  const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  const response = await fetch(metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: clientName,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return response.json();
}

/** A client_credentials access token for `resource` (RFC 8707), straight from the token endpoint. */
export async function clientCredentialsToken(issuer, resource, clientName = 'm2m [RS256]') {
  const client = await registerM2MClient(issuer, clientName);
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource }),
  });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return (await response.json()).access_token;
}
