// Real MCP clients against the middleware with a real authorization server
// (oidc-provider, ./authorization-server.mjs), starting from nothing but the MCP URL:
//
// - the official TypeScript SDK (@modelcontextprotocol/sdk) auth() flow: 401 ->
//   resource_metadata -> RFC 9728 metadata -> RFC 8414 metadata -> RFC 7591 registration
//   -> authorization code + PKCE S256 with `resource` -> token -> tools/call;
// - the SDK's machine-to-machine ClientCredentialsProvider (client_credentials + resource);
// - MCP-Protocol-Version 2025-03-26 / 2025-06-18 / 2025-11-25 negotiated by the SDK;
// - the MCP Inspector CLI (@modelcontextprotocol/inspector-cli) with --header.
//
// Run with `make oauth-test` (needs AUTHKIT_TEST_HOST and AUTHKIT_TEST_SERVER_MCP).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { startAuthorizationServer, TEST_ACCOUNT, RSA_KID, EC_KID } from './authorization-server.mjs';
import {
  clientCredentialsToken, headlessAuthorize, jwtParts, MemoryOAuthProvider, recordingFetch,
  registerM2MClient, startMcpServer, tempDir,
} from './support.mjs';

const REDIRECT_URI = 'http://127.0.0.1:8977/callback'; // never listened on
const KIDS = { RS256: RSA_KID, ES256: EC_KID };
const TEST_TIMEOUT = 60_000;
const INSPECTOR_CLI = fileURLToPath(
  new URL('./node_modules/@modelcontextprotocol/inspector-cli/build/cli.js', import.meta.url),
);

let as;
let cache;
const servers = {};

before(async () => {
  as = await startAuthorizationServer();
  cache = tempDir('authkit-host-cache-');
  // JWKS discovered from the issuer's metadata; the client uses 127.0.0.1.
  servers.discovery = await startMcpServer({
    authkit_issuer: as.issuer,
    authkit_audience: 'http://127.0.0.1:{port}/mcp',
  }, { cacheDir: cache.dir });
  // Explicit JWKS URI; the client uses localhost.
  servers.localhost = await startMcpServer({
    authkit_issuer: as.issuer,
    authkit_jwks_uri: `${as.issuer}/jwks`,
    authkit_audience: 'http://localhost:{port}/mcp',
  }, { hostname: 'localhost', cacheDir: cache.dir });
  // Required scope, listed as scopes_supported: the SDK requests exactly that.
  servers.scoped = await startMcpServer({
    authkit_issuer: as.issuer,
    authkit_audience: 'http://127.0.0.1:{port}/mcp',
    authkit_required_scopes: 'mcp:tools',
  }, { cacheDir: cache.dir });
}, { timeout: 120_000 });

after(async () => {
  await Promise.all(Object.values(servers).map((server) => server.stop()));
  await as?.close();
  cache?.remove();
});

function assertAccessToken(token, { audience, alg, sub }) {
  const { header, claims } = jwtParts(token);
  assert.equal(header.typ, 'at+jwt'); // RFC 9068
  assert.equal(header.alg, alg);
  assert.equal(header.kid, KIDS[alg]);
  assert.equal(claims.iss, as.issuer);
  assert.equal(claims.aud, audience);
  assert.equal(claims.sub, sub);
  return claims;
}

async function useTools(client) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((tool) => tool.name).sort(), ['add', 'echo']);
  const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hello via oauth' } });
  assert.equal(echoed.isError, false);
  assert.equal(echoed.content[0].text, 'hello via oauth');
  const added = await client.callTool({ name: 'add', arguments: { a: 20, b: 22 } });
  assert.equal(added.content[0].text, '42');
}

describe('TypeScript SDK authorization code flow from the MCP URL', () => {
  const cases = [
    ['discovery', 'RS256'], ['discovery', 'ES256'], ['localhost', 'RS256'], ['localhost', 'ES256'], ['scoped', 'ES256'],
  ];
  for (const [server, alg] of cases) {
    test(`${server} server, ${alg} tokens`, { timeout: TEST_TIMEOUT }, async () => {
      const { url } = servers[server];
      const { origin } = new URL(url);
      const log = [];
      const fetchFn = recordingFetch(log);
      const provider = new MemoryOAuthProvider({
        redirectUrl: REDIRECT_URI,
        clientMetadata: {
          client_name: `mcp-typescript-sdk [${alg}]`,
          redirect_uris: [REDIRECT_URI],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      });

      // First connection: 401 -> discovery -> registration -> redirect to the AS.
      const first = new Client({ name: 'authkit-ts-test', version: '1.0.0' });
      await assert.rejects(
        first.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: fetchFn })),
        UnauthorizedError,
      );
      assert.equal(provider.authorizationUrls.length, 1);
      const authorization = provider.authorizationUrls[0];
      assert.equal(authorization.origin + authorization.pathname, `${as.issuer}/auth`);
      assert.equal(authorization.searchParams.get('response_type'), 'code');
      assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(authorization.searchParams.get('resource'), url);
      if (server === 'scoped') assert.equal(authorization.searchParams.get('scope'), 'mcp:tools');

      // The user's step, headless: the AS logs in and consents automatically.
      const { params } = await headlessAuthorize(authorization, REDIRECT_URI);
      assert.equal(params.iss, as.issuer); // RFC 9207
      assert.equal(params.state, provider.states.at(-1));
      assert.ok(params.code, JSON.stringify(params));

      // The app hands the code back; the SDK exchanges it (with `resource`) and reconnects.
      const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: fetchFn });
      await transport.finishAuth(params.code);
      const client = new Client({ name: 'authkit-ts-test', version: '1.0.0' });
      await client.connect(transport);
      try {
        await useTools(client);
      } finally {
        await client.close();
      }

      const metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
      const steps = log.map((e) => `${e.method} ${e.url} ${e.status}`);
      assert.deepEqual(steps.slice(0, 5), [
        `POST ${url} 401`,
        `GET ${metadataUrl} 200`,
        `GET ${as.issuer}/.well-known/oauth-authorization-server 200`,
        `POST ${as.issuer}/reg 201`,
        `POST ${as.issuer}/token 200`,
      ], steps.join('\n'));
      const challenge = log[0].responseHeaders.get('www-authenticate');
      assert.ok(challenge.startsWith('Bearer ') && challenge.includes(`resource_metadata="${metadataUrl}"`), challenge);
      const tokenRequest = new URLSearchParams(log[4].body);
      assert.equal(tokenRequest.get('grant_type'), 'authorization_code');
      assert.equal(tokenRequest.get('resource'), url);
      assert.ok(tokenRequest.get('code_verifier'));

      const token = provider.tokens().access_token;
      assert.equal(assertAccessToken(token, { audience: url, alg, sub: TEST_ACCOUNT }).scope, 'mcp:tools');
      const mcp = log.slice(5);
      assert.ok(mcp.length >= 3, steps.join('\n'));
      for (const exchange of mcp) {
        assert.equal(exchange.url, url);
        assert.equal(exchange.requestHeaders.get('authorization'), `Bearer ${token}`);
        assert.notEqual(exchange.status, 401);
      }
    });
  }
});

describe('TypeScript SDK machine-to-machine client (client_credentials)', () => {
  for (const alg of ['RS256', 'ES256']) {
    test(`${alg} tokens`, { timeout: TEST_TIMEOUT }, async () => {
      const { url } = servers.discovery;
      const registered = await registerM2MClient(as.issuer, `m2m-typescript [${alg}]`);
      const provider = new ClientCredentialsProvider({
        clientId: registered.client_id,
        clientSecret: registered.client_secret,
        expectedIssuer: as.issuer,
      });
      const log = [];
      const client = new Client({ name: 'authkit-ts-m2m', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: recordingFetch(log) }));
      try {
        await useTools(client);
      } finally {
        await client.close();
      }
      const tokenRequests = log.filter((e) => e.url === `${as.issuer}/token`);
      assert.equal(tokenRequests.length, 1);
      assert.equal(tokenRequests[0].status, 200);
      const form = new URLSearchParams(tokenRequests[0].body);
      assert.equal(form.get('grant_type'), 'client_credentials');
      assert.equal(form.get('resource'), url);
      assertAccessToken(provider.tokens().access_token, { audience: url, alg, sub: registered.client_id });
    });
  }
});

describe('protocol versions negotiated by the TypeScript SDK pass through', () => {
  // The SDK offers its latest version; the recording fetch offers `version` instead in
  // initialize, the gateway agrees, and the SDK then sends it as MCP-Protocol-Version.
  for (const version of ['2025-03-26', '2025-06-18', '2025-11-25']) {
    test(version, { timeout: TEST_TIMEOUT }, async () => {
      const { url } = servers.discovery;
      const token = await clientCredentialsToken(as.issuer, url, 'm2m-versions [ES256]');
      const log = [];
      const fetchFn = recordingFetch(log, {
        rewriteBody: (body) => {
          const message = JSON.parse(body);
          if (message.method === 'initialize') message.params.protocolVersion = version;
          return JSON.stringify(message);
        },
      });
      const client = new Client({ name: 'authkit-ts-versions', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        fetch: fetchFn,
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      try {
        assert.equal(transport.protocolVersion, version);
        await useTools(client);
      } finally {
        await client.close();
      }
      const posts = log.filter((e) => e.method === 'POST');
      assert.equal(JSON.parse(posts[0].body).method, 'initialize');
      for (const exchange of posts.slice(1)) {
        assert.equal(exchange.requestHeaders.get('mcp-protocol-version'), version);
        assert.ok([200, 202].includes(exchange.status), `${exchange.status} ${exchange.body}`);
      }
      assert.ok(posts.length >= 4);
    });
  }
});

// inspector-cli 1.0.3 checks `fs.existsSync('../package.json')` against the working
// directory but imports it relative to its module: run it from its build/ folder.
function inspector(args, timeout = 30_000) {
  return new Promise((resolve) => {
    const options = { timeout, cwd: dirname(INSPECTOR_CLI) };
    execFile(process.execPath, [INSPECTOR_CLI, '--cli', ...args], options, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('MCP Inspector CLI with a bearer token from the authorization server', () => {
  test('tools/list and tools/call', { timeout: TEST_TIMEOUT }, async () => {
    const { url } = servers.discovery;
    const token = await clientCredentialsToken(as.issuer, url, 'inspector [RS256]');
    const auth = ['--transport', 'http', '--header', `Authorization: Bearer ${token}`];

    const list = await inspector([url, ...auth, '--method', 'tools/list']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).tools.map((tool) => tool.name).sort(), ['add', 'echo']);

    const call = await inspector([url, ...auth, '--method', 'tools/call', '--tool-name', 'add',
      '--tool-arg', 'a=20', 'b=22']);
    assert.equal(call.code, 0, call.stderr);
    assert.equal(JSON.parse(call.stdout).content[0].text, '42');

    const echo = await inspector([url, ...auth, '--method', 'tools/call', '--tool-name', 'echo',
      '--tool-arg', 'message=inspector']);
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(JSON.parse(echo.stdout).content[0].text, 'inspector');
  });

  test('without a token it is refused', { timeout: TEST_TIMEOUT }, async () => {
    const { url } = servers.discovery;
    const list = await inspector([url, '--transport', 'http', '--method', 'tools/list']);
    assert.notEqual(list.code, 0);
    assert.match(list.stderr + list.stdout, /Missing authorization header/);
  });
});
