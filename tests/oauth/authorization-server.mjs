// A real OAuth 2.0 authorization server for the end-to-end tests: node `oidc-provider`
// (OpenID-certified), on 127.0.0.1, configured the way an MCP deployment needs it:
//
// - RFC 8707 resource indicators: any loopback `http://127.0.0.1:*` / `http://localhost:*`
//   URL is a resource server; its access tokens are RFC 9068 JWTs (`typ: at+jwt`) whose
//   `aud` is exactly the resource indicator the client sent;
// - RS256 and ES256 signing keys, both published in the JWKS. Access tokens are RS256
//   unless the client's registered `client_name` ends with `[ES256]` (or `[RS256]`);
// - open dynamic client registration (RFC 7591, no initial access token);
// - authorization code + PKCE S256 with automatic login and consent for one test account
//   (`/interaction/:uid` finishes the interaction at once: no browser, no form);
// - client_credentials;
// - RFC 6749 §3.3 default scope: an authorization request without `scope` gets `mcp:tools`
//   (oidc-provider refuses authorization requests that end up granting no scope at all).
//
// Module use: `const as = await startAuthorizationServer(); as.issuer; await as.close();`
// CLI use (from the Python tests): `node authorization-server.mjs [--port N]` prints
// `Issuer http://127.0.0.1:PORT` on stdout once listening and stops on SIGTERM/SIGINT or
// when stdin closes. Development/test only: never expose it.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

import Provider, { errors } from 'oidc-provider';

export const TEST_ACCOUNT = 'test-user-1';
export const MCP_SCOPE = 'mcp:tools';
export const RSA_KID = 'authkit-test-rs256';
export const EC_KID = 'authkit-test-es256';

function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return {
    keys: [
      { ...rsa, kid: RSA_KID, alg: 'RS256', use: 'sig' },
      { ...ec, kid: EC_KID, alg: 'ES256', use: 'sig' },
    ],
  };
}

/** Loopback http(s) URLs without fragment are resource servers here. */
export function isTestResource(indicator) {
  const url = URL.parse(indicator);
  return !!url && ['http:', 'https:'].includes(url.protocol)
    && ['127.0.0.1', 'localhost'].includes(url.hostname) && !url.hash;
}

/** The access token signing algorithm for a client: `[ES256]`/`[RS256]` suffix of its name. */
export function accessTokenAlg(client, fallback = 'RS256') {
  const match = /\[(RS256|ES256)\]$/.exec(client?.clientName ?? '');
  return match ? match[1] : fallback;
}

/**
 * Starts the authorization server on `host:port` (port 0: any free port). Resolves once
 * listening with `{ issuer, provider, requests, close() }`; `requests` records
 * `{ method, path, query, body? }` of every request (token request bodies included) so
 * tests can check what clients sent.
 */
export async function startAuthorizationServer({ host = '127.0.0.1', port = 0, defaultAlg = 'RS256' } = {}) {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const issuer = `http://${host}:${server.address().port}`;

  const provider = new Provider(issuer, {
    jwks: signingKeys(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', MCP_SCOPE],
    responseTypes: ['code'],
    claims: { openid: ['sub'] },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    pkce: { required: () => true },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      IdToken: 600,
      Interaction: 600,
      Grant: 3600,
      Session: 3600,
      RefreshToken: 3600,
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The one requested resource, if any (oidc-provider's default, made explicit).
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        // Refresh and code exchanges without `resource` still get the granted one.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator, client) => {
          if (!isTestResource(indicator)) {
            throw new errors.InvalidTarget(`${indicator} is not a resource server of this test issuer`);
          }
          return {
            scope: MCP_SCOPE,
            audience: indicator,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: accessTokenAlg(client, defaultAlg) } },
          };
        },
      },
    },
    interactions: {
      url: async (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
  });

  const requests = [];
  provider.use(async (ctx, next) => {
    const entry = { method: ctx.method, path: ctx.path, query: { ...ctx.query } };
    requests.push(entry);
    await next();
    // Token requests are parsed by oidc-provider; keep their parameters for the tests.
    if (ctx.path === '/token' && ctx.oidc?.params) {
      entry.body = Object.fromEntries(
        Object.entries(ctx.oidc.params).filter(([, value]) => value !== undefined),
      );
    }
    entry.status = ctx.status;
  });

  // RFC 6749 §3.3: a missing scope is the default scope, not an error.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/auth' && !ctx.query.scope) {
      ctx.query = { ...ctx.query, scope: MCP_SCOPE };
    }
    return next();
  });

  // Automatic login and consent: every interaction is finished at once for TEST_ACCOUNT,
  // granting exactly what the prompt says is missing.
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
    if (!match || ctx.method !== 'GET') return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params, session, grantId } = details;
    let result;
    if (prompt.name === 'login') {
      result = { login: { accountId: TEST_ACCOUNT } };
    } else if (prompt.name === 'consent') {
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: true,
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  server.on('request', provider.callback());
  provider.on('server_error', (_ctx, err) => console.error('authorization server error:', err));

  return {
    issuer,
    provider,
    requests,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

// CLI: node authorization-server.mjs [--port N] [--default-alg ES256]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name, fallback) => {
    const index = process.argv.indexOf(name);
    return index > 0 ? process.argv[index + 1] : fallback;
  };
  const as = await startAuthorizationServer({
    port: Number(arg('--port', '0')),
    defaultAlg: arg('--default-alg', 'RS256'),
  });
  const stop = async () => {
    await as.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.stdout.write(`Issuer ${as.issuer}\n`);
}
