// The MCP conformance suite (@modelcontextprotocol/conformance, server scenarios of the
// active suite) through the authkit middleware.
//
//   node run.mjs --host target/host/authkit-host --server build/server-proxy.wasm
//
// `--server` is the middleware composed in front of examples/proxy-gateway. The driver
//   1. serves a JWKS on 127.0.0.1 and mints an RS256 access token for it;
//   2. starts everything-server.mjs (the suite's reference tool set) and the composed
//      server in authkit-host, its proxy pointed at it (`upstream_url`);
//   3. runs the suite directly against the MCP server (the baseline), through the
//      middleware with the token (auth-preload.mjs adds it to every request), and
//      through the middleware without a token (every request must be refused);
//   4. checks what the suite does not: an SSE response streams through the middleware
//      (events arrive as sent, not when the response ends) and a dropped one resumes
//      (GET with Last-Event-ID);
//   5. does the same direct / through comparison with @modelcontextprotocol/server-everything
//      (npm), which implements only part of the suite: the middleware must not change
//      a single scenario's result.
// and exits non-zero unless every assertion holds. Bounded in time; every process
// it starts is stopped on exit. Logs and results: --out DIR (emptied first; default:
// a new temp dir).

import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as jose from 'jose';

const HERE = dirname(fileURLToPath(import.meta.url));
const NODE = process.execPath;
const CLI = join(HERE, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const PRELOAD = join(HERE, 'auth-preload.mjs');
const EVERYTHING = join(HERE, 'everything-server.mjs');
const NPM_EVERYTHING = join(HERE, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const LOOPBACK = join(HERE, 'loopback-preload.mjs');

const TOTAL_TIME_LIMIT_MS = 15 * 60_000;
const START_TIME_LIMIT_MS = 180_000; // the host compiles the component first
const SUITE_TIME_LIMIT_MS = 300_000;
const AUDIENCE = 'urn:wasmcp-spin-authkit:conformance';
// The one check a refused request passes: "server rejects a non-local Host/Origin".
const REFUSAL_CHECKS = new Set(['localhost-host-rebinding-rejected']);

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string' },
    server: { type: 'string' },
    out: { type: 'string' },
  },
});
if (!opts.host || !opts.server) {
  console.error('usage: node run.mjs --host PATH/authkit-host --server PATH/server-proxy.wasm [--out DIR]');
  process.exit(2);
}
if (Number(process.versions.node.split('.')[0]) < 22) {
  console.error(`node ${process.version}: the conformance suite needs Node 22+; run with node_modules/.bin/node (npm ci)`);
  process.exit(2);
}
const hostBin = resolve(opts.host);
const serverWasm = resolve(opts.server);
for (const file of [hostBin, serverWasm, CLI]) {
  if (!existsSync(file)) {
    console.error(`missing ${file}`);
    process.exit(2);
  }
}
// --out DIR is emptied first: logs are appended to.
const outDir = opts.out ? resolve(opts.out) : mkdtempSync(join(tmpdir(), 'authkit-conformance-'));
if (opts.out) rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------
// Processes: each in its own process group, all stopped on exit.

const children = new Set();

function killAll(signal) {
  for (const child of children) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

async function stopAll() {
  killAll('SIGTERM');
  const deadline = Date.now() + 3000;
  while ([...children].some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  killAll('SIGKILL');
}

process.on('exit', () => killAll('SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    console.error(`\n${signal}: stopping`);
    await stopAll();
    process.exit(1);
  });
}
const overall = setTimeout(async () => {
  console.error(`conformance-test: time limit of ${TOTAL_TIME_LIMIT_MS / 60000} min exceeded`);
  await stopAll();
  process.exit(1);
}, TOTAL_TIME_LIMIT_MS);

/** Spawns a process logging to OUT/name.log. */
function spawnLogged(name, command, args, env = {}) {
  const log = join(outDir, `${name}.log`);
  const child = spawn(command, args, {
    cwd: outDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stdout = '';
  let all = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    all += d;
    appendFileSync(log, d);
  });
  child.stderr.on('data', (d) => {
    all += d;
    appendFileSync(log, d);
  });
  child.output = () => stdout;
  child.allOutput = () => all;
  child.log = log;
  return child;
}

/** Starts a server and resolves with the first match of `ready` in its output. */
function startServer(name, command, args, ready, env) {
  const child = spawnLogged(name, command, args, env);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in time (see ${child.log})`)), START_TIME_LIMIT_MS);
    const onData = () => {
      const match = ready.exec(child.allOutput());
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready (see ${child.log})`));
    });
  });
}

/** Runs a command to completion (bounded), resolving with its stdout. */
function runToEnd(name, command, args, env) {
  const child = spawnLogged(name, command, args, env);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      reject(new Error(`${name} did not finish in ${SUITE_TIME_LIMIT_MS / 1000} s (see ${child.log})`));
    }, SUITE_TIME_LIMIT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout: child.output() });
    });
  });
}

// ---------------------------------------------------------------------------
// The issuer: a JWKS on 127.0.0.1 and a token signed with its key.

async function startIssuer() {
  const { publicKey, privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048 });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'conformance-1', alg: 'RS256', use: 'sig' };
  const server = http.createServer((req, res) => {
    if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const token = await new jose.SignJWT({ scope: 'mcp:tools' })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setSubject('conformance-suite')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  return { server, issuer, token };
}

function startHost(name, issuer, upstream) {
  // prettier-ignore
  const args = [
    'serve', serverWasm, '--listen', '127.0.0.1:0',
    '--var', `upstream_url=${upstream}`,
    '--var', `authkit_issuer=${issuer}`,
    '--var', `authkit_jwks_uri=${issuer}/jwks.json`,
    '--var', `authkit_audience=${AUDIENCE}`,
    '--allow-outbound', 'http://127.0.0.1:*',
    '--cache-dir', join(outDir, 'wasm-cache'),
  ];
  return startServer(name, hostBin, args, /Serving (http:\/\/127\.0\.0\.1:\d+)/);
}

// ---------------------------------------------------------------------------
// Suite runs.

/** Runs the active server suite against `url`; per-scenario and total tallies. */
async function runSuite(label, url, { token, preload = false } = {}) {
  const requestLog = join(outDir, `${label}.requests.jsonl`);
  const results = join(outDir, `${label}-results`);
  const args = [...(preload ? ['--import', PRELOAD] : []), CLI, 'server', '--url', url, '-o', results];
  const env = preload
    ? { CONFORMANCE_MCP_URL: url, CONFORMANCE_TOKEN: token ?? '', CONFORMANCE_REQUEST_LOG: requestLog }
    : {};
  if (preload) writeFileSync(requestLog, '');
  const t0 = Date.now();
  const { stdout } = await runToEnd(`suite-${label}`, NODE, args, env);
  const seconds = (Date.now() - t0) / 1000;
  const scenarios = new Map();
  for (const [, name, passed, failed] of stdout.matchAll(/^[✓✗] (\S+): (\d+) passed, (\d+) failed$/gmu)) {
    scenarios.set(name, { passed: Number(passed), failed: Number(failed) });
  }
  const total = /^Total: (\d+) passed, (\d+) failed$/m.exec(stdout);
  if (!total) throw new Error(`${label}: no "Total:" line (see ${join(outDir, `suite-${label}.log`)})`);
  const run = { label, url, seconds, scenarios, passed: Number(total[1]), failed: Number(total[2]) };
  run.successfulChecks = successfulChecks(results);
  run.requests = preload
    ? readFileSync(requestLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : [];
  console.log(
    `  ${label.padEnd(22)} Total: ${run.passed} passed, ${run.failed} failed ` +
      `(${scenarios.size} scenarios, ${seconds.toFixed(1)} s${preload ? `, ${run.requests.length} requests` : ''})`,
  );
  return run;
}

/** Ids of the SUCCESS checks in a results directory (one checks.json per scenario). */
function successfulChecks(dir) {
  const ids = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name === 'checks.json') {
        for (const check of JSON.parse(readFileSync(p, 'utf8'))) {
          if (check.status === 'SUCCESS') ids.push(check.id);
        }
      }
    }
  };
  walk(dir);
  return ids;
}

/** Scenarios whose tallies differ between two runs. */
function differences(a, b) {
  const names = new Set([...a.scenarios.keys(), ...b.scenarios.keys()]);
  return [...names].filter((n) => JSON.stringify(a.scenarios.get(n)) !== JSON.stringify(b.scenarios.get(n)));
}

function statusCounts(requests) {
  const counts = {};
  for (const r of requests) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return JSON.stringify(counts);
}

/**
 * When each progress notification of `test_tool_with_progress` (sent 50 ms apart on
 * the tool call's SSE response) arrives, in ms after the call.
 */
async function progressArrivals(url, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const client = new Client({ name: 'authkit-conformance-driver', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  const arrivals = [];
  const t0 = performance.now();
  await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
    onprogress: () => arrivals.push(Math.round(performance.now() - t0)),
  });
  await client.close();
  return arrivals;
}

/**
 * SEP-1699 resumption: `test_reconnection` ends its POST's SSE stream before the
 * result; the SDK client reconnects (GET, Last-Event-ID) and the result is replayed.
 * Resolves with the result text and the requests made.
 */
async function resumedCall(url, token) {
  const requests = [];
  const fetchLogged = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    const response = await fetch(input, { ...init, headers });
    requests.push(`${init?.method ?? 'GET'}${headers.has('last-event-id') ? ' (Last-Event-ID)' : ''} ${response.status}`);
    return response;
  };
  const client = new Client({ name: 'authkit-conformance-driver', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: fetchLogged }));
  const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
  await client.close();
  return { text: result.content?.[0]?.text, requests };
}

// ---------------------------------------------------------------------------

const assertions = [];
function check(description, ok, detail = '') {
  assertions.push(ok);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${description}${detail ? ` — ${detail}` : ''}`);
}

async function main() {
  console.log(`conformance ${JSON.parse(readFileSync(join(HERE, 'node_modules/@modelcontextprotocol/conformance/package.json'))).version}, node ${process.version}; logs in ${outDir}`);
  const issuer = await startIssuer();

  const everythingUrl = await startServer('everything-server', NODE, [EVERYTHING], /Listening on (http:\/\/\S+)/);
  const npmPort = await freePort();
  const npmEverythingUrl = await startServer(
    'server-everything-npm',
    NODE,
    ['--import', LOOPBACK, NPM_EVERYTHING, 'streamableHttp'],
    /listening on port (\d+)/i,
    { PORT: String(npmPort) },
  ).then((port) => `http://127.0.0.1:${port}/mcp`);
  const upstreamOf = (url) => new URL(url).origin;
  const [hostUrl, npmHostUrl] = await Promise.all([
    startHost('authkit-host', issuer.issuer, upstreamOf(everythingUrl)),
    startHost('authkit-host-npm-everything', issuer.issuer, upstreamOf(npmEverythingUrl)),
  ]);
  const mcpUrl = `${hostUrl}/mcp`;
  const npmMcpUrl = `${npmHostUrl}/mcp`;
  console.log(`MCP server ${everythingUrl}; through the middleware ${mcpUrl} (started in ${elapsed()})`);

  console.log('\nConformance runs (active server suite):');
  const direct = await runSuite('direct', everythingUrl);
  const through = await runSuite('through-middleware', mcpUrl, { token: issuer.token, preload: true });
  const noToken = await runSuite('no-token', mcpUrl, { preload: true });
  const npmDirect = await runSuite('npm-everything-direct', npmEverythingUrl);
  const npmThrough = await runSuite('npm-everything-through', npmMcpUrl, { token: issuer.token, preload: true });

  console.log('\nAssertions:');
  check(
    'direct: every active scenario passes',
    direct.failed === 0 && direct.passed > 0 && direct.scenarios.size >= 30 &&
      [...direct.scenarios.values()].every((s) => s.failed === 0),
    `${direct.passed}/${direct.passed + direct.failed} checks, ${direct.scenarios.size} scenarios`,
  );
  const throughDiff = differences(direct, through);
  check(
    'through the middleware: the same result as direct, scenario by scenario',
    throughDiff.length === 0 && through.failed === 0 && through.passed === direct.passed,
    throughDiff.length ? `differ: ${throughDiff.join(', ')}` : `${through.passed}/${through.passed + through.failed}`,
  );
  check(
    'through the middleware: the middleware refused no request (no 401)',
    through.requests.length > 0 && through.requests.every((r) => r.status !== 401),
    `${through.requests.length} requests, statuses ${statusCounts(through.requests)}`,
  );
  const refusedScenarios = [...noToken.scenarios.values()].filter((s) => s.failed > 0).length;
  const unexpectedPasses = noToken.successfulChecks.filter((id) => !REFUSAL_CHECKS.has(id));
  check(
    'no token: every scenario fails, nothing passes but "non-local Host rejected"',
    noToken.scenarios.size === direct.scenarios.size && refusedScenarios === noToken.scenarios.size &&
      unexpectedPasses.length === 0,
    `${refusedScenarios}/${noToken.scenarios.size} scenarios fail; Total: ${noToken.passed} passed, ${noToken.failed} failed` +
      (unexpectedPasses.length ? `; unexpected passes: ${unexpectedPasses.join(', ')}` : ''),
  );
  const mcpRequests = noToken.requests.filter((r) => r.path.startsWith('/mcp'));
  // 403: the DNS-rebinding scenario's foreign Origin, refused before the token is
  // looked at (MCP Streamable HTTP: servers MUST validate Origin).
  const foreignOrigin = mcpRequests.filter((r) => r.status === 403).length;
  check(
    'no token: every request was refused (401; 403 for the DNS-rebinding scenario\'s foreign Origin)',
    mcpRequests.length > 0 && mcpRequests.every((r) => r.status === 401 || r.status === 403) &&
      foreignOrigin <= 2,
    `${mcpRequests.length} requests, statuses ${statusCounts(mcpRequests)}`,
  );
  // Streaming: the events must arrive as they are sent, not when the response ends.
  const directArrivals = await progressArrivals(everythingUrl);
  const throughArrivals = await progressArrivals(mcpUrl, issuer.token);
  const spread = (a) => a[a.length - 1] - a[0];
  check(
    'through the middleware: an SSE response streams (progress events arrive 50 ms apart, as sent)',
    // Sent over >= 100 ms; a buffered response would deliver them within a few ms.
    throughArrivals.length === 3 && spread(throughArrivals) >= 50,
    `arrivals (ms) direct [${directArrivals}], through [${throughArrivals}]`,
  );
  const directResume = await resumedCall(everythingUrl);
  const throughResume = await resumedCall(mcpUrl, issuer.token);
  check(
    'through the middleware: a dropped SSE response resumes (GET with Last-Event-ID replays the result)',
    throughResume.text === 'Reconnection test completed' &&
      throughResume.requests.some((r) => r.startsWith('GET (Last-Event-ID) 200')),
    `direct [${directResume.requests}], through [${throughResume.requests}]`,
  );
  // The one scenario the middleware may change is DNS-rebinding protection, which
  // it adds (Origin validation): fewer failures through it, never more.
  const fewerFailures = (n) =>
    (npmThrough.scenarios.get(n)?.failed ?? 0) < (npmDirect.scenarios.get(n)?.failed ?? 0);
  const npmDiff = differences(npmDirect, npmThrough)
    .filter((n) => !(n === 'dns-rebinding-protection' && fewerFailures(n)));
  check(
    'server-everything (npm): the middleware changes no scenario result (but adds DNS-rebinding protection)',
    npmDiff.length === 0 && npmThrough.passed >= npmDirect.passed && npmDirect.passed > 0,
    npmDiff.length
      ? `differ: ${npmDiff.join(', ')}`
      : `${npmDirect.passed}/${npmDirect.passed + npmDirect.failed} direct, ${npmThrough.passed}/${npmThrough.passed + npmThrough.failed} through`,
  );

  console.log(
    `\nSummary: ${direct.passed}/${direct.passed + direct.failed} direct, ` +
      `${through.passed}/${through.passed + through.failed} through the middleware, ` +
      `${noToken.passed}/${noToken.passed + noToken.failed} without a token (${elapsed()})`,
  );
  issuer.server.close();
}

/** A free loopback port (for the npm everything server, which takes PORT only). */
function freePort() {
  return new Promise((resolvePromise, reject) => {
    const probe = http.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePromise(port));
    });
  });
}

let failed = 0;
try {
  await main();
} catch (err) {
  console.error(`error: ${err.message}`);
  assertions.push(false);
}
clearTimeout(overall);
await stopAll();
failed = assertions.filter((ok) => !ok).length;
console.log(`conformance-test: ${assertions.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
