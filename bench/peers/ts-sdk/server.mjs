// ts-sdk peer: `echo` behind RS256 bearer-token verification (the SDK's requireBearerAuth
// with a jose verifier against a JWKS), MCP Streamable HTTP, stateless (a new server and
// transport per request, the SDK's stateless pattern), JSON responses.
// Env: PORT, JWKS_URI, ISSUER, AUDIENCE.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';

const env = (name) => {
  const v = process.env[name];
  if (!v) { console.error(`ts-sdk peer: ${name} is not set`); process.exit(2); }
  return v;
};
const port = Number(env('PORT'));
const issuer = env('ISSUER');
const audience = env('AUDIENCE');

// Fetched on first use, then cached (refetched only for an unknown kid, at most every 30 s).
const jwks = createRemoteJWKSet(new URL(env('JWKS_URI')), { cooldownDuration: 30_000 });

const verifier = {
  async verifyAccessToken(token) {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer, audience, algorithms: ['RS256'] }));
    } catch (e) {
      throw new InvalidTokenError(`Invalid token: ${e.code ?? e.message}`);
    }
    return {
      token,
      clientId: String(payload.client_id ?? payload.azp ?? payload.sub ?? ''),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      expiresAt: payload.exp,
      extra: { sub: payload.sub },
    };
  },
};

function buildServer() {
  const server = new McpServer({ name: 'echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Return the message unchanged', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  return server;
}

const app = createMcpExpressApp({ host: '127.0.0.1' });
const auth = requireBearerAuth({ verifier });

app.post('/mcp', auth, async (req, res) => {
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  try {
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  } catch (e) {
    console.error('ts-sdk peer:', e);
    if (!res.headersSent) {
      res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    }
  }
});

// Stateless: no SSE stream to open and no session to delete.
const notAllowed = (req, res) =>
  res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
app.get('/mcp', auth, notAllowed);
app.delete('/mcp', auth, notAllowed);

app.listen(port, '127.0.0.1', (err) => {
  if (err) { console.error('ts-sdk peer:', err); process.exit(1); }
  console.error(`ts-sdk peer: listening on http://127.0.0.1:${port}/mcp`);
});
