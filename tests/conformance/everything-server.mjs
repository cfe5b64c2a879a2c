// The MCP server the conformance suite's server scenarios are written against: every
// tool, resource, prompt and behaviour they check (see each scenario's "Server
// Implementation Requirements" in `conformance list --server` / the package source),
// over Streamable HTTP with sessions, SSE responses, resumability and DNS-rebinding
// protection. Built on the official TypeScript SDK (@modelcontextprotocol/sdk).
//
// The suite's reference server lives in the conformance repository and is not
// published; @modelcontextprotocol/server-everything (npm) implements a different
// tool set and passes only part of the suite (run.mjs checks it too, for parity).
//
//   node everything-server.mjs [--port N]     # default 0: any free port
//
// Listens on 127.0.0.1 only and prints `Listening on http://127.0.0.1:PORT/mcp`.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  isInitializeRequest,
} from '@modelcontextprotocol/sdk/types.js';

// A 1x1 red PNG.
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

/** A short silent WAV: 8 kHz, 8-bit mono, 80 samples. */
function wavBase64() {
  const samples = 80;
  const b = Buffer.alloc(44 + samples);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16); // fmt chunk size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(8000, 24); // sample rate
  b.writeUInt32LE(8000, 28); // byte rate
  b.writeUInt16LE(1, 32); // block align
  b.writeUInt16LE(8, 34); // bits per sample
  b.write('data', 36);
  b.writeUInt32LE(samples, 40);
  b.fill(128, 44); // 8-bit silence
  return b.toString('base64');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (t) => ({ type: 'text', text: t });

const TOOLS = [
  ['test_simple_text', 'Returns simple text'],
  ['test_image_content', 'Returns a PNG image'],
  ['test_audio_content', 'Returns WAV audio'],
  ['test_embedded_resource', 'Returns an embedded resource'],
  ['test_multiple_content_types', 'Returns text, an image and a resource'],
  ['test_tool_with_logging', 'Logs three messages while running'],
  ['test_tool_with_progress', 'Reports progress 0, 50, 100 of 100'],
  ['test_error_handling', 'Always fails with isError'],
  ['test_sampling', 'Asks the client to sample an LLM', { prompt: 'The prompt to send' }],
  ['test_elicitation', 'Asks the user for input', { message: 'The message to show' }],
  ['test_elicitation_sep1034_defaults', 'Elicits with a default for every primitive type'],
  ['test_elicitation_sep1330_enums', 'Elicits with every enum schema variant'],
  ['test_reconnection', 'Closes its SSE stream mid-call; the result comes on resumption'],
].map(([name, description, args = {}]) => ({
  name,
  description,
  inputSchema: {
    type: 'object',
    properties: Object.fromEntries(
      Object.entries(args).map(([arg, desc]) => [arg, { type: 'string', description: desc }]),
    ),
    required: Object.keys(args),
  },
}));

// SEP-1613: a raw JSON Schema 2020-12 input schema, listed as is.
TOOLS.push({
  name: 'json_schema_2020_12_tool',
  description: 'Tool with JSON Schema 2020-12 features',
  inputSchema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    $defs: {
      address: {
        type: 'object',
        properties: { street: { type: 'string' }, city: { type: 'string' } },
      },
    },
    properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
    additionalProperties: false,
  },
});

const RESOURCES = [
  { uri: 'test://static-text', name: 'static-text', description: 'A static text resource', mimeType: 'text/plain' },
  { uri: 'test://static-binary', name: 'static-binary', description: 'A static PNG', mimeType: 'image/png' },
  { uri: 'test://watched-resource', name: 'watched-resource', description: 'A resource to subscribe to', mimeType: 'text/plain' },
];

const TEMPLATE = {
  uriTemplate: 'test://template/{id}/data',
  name: 'template-data',
  description: 'Data for an id',
  mimeType: 'application/json',
};

const PROMPTS = [
  { name: 'test_simple_prompt', description: 'A prompt without arguments' },
  {
    name: 'test_prompt_with_arguments',
    description: 'A prompt with two arguments',
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ],
  },
  {
    name: 'test_prompt_with_embedded_resource',
    description: 'A prompt embedding a resource',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
  },
  { name: 'test_prompt_with_image', description: 'A prompt with an image' },
];

const COMPLETIONS = ['paris', 'park', 'party', 'test', 'testValue1', 'testValue2'];

/** Requests elicitation on the tool call's own stream and describes the answer. */
async function elicit(extra, message, requestedSchema) {
  const result = await extra.sendRequest(
    { method: 'elicitation/create', params: { message, requestedSchema } },
    ElicitResultSchema,
  );
  return `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`;
}

/** One MCP server (one per session). */
function createServer() {
  const server = new Server(
    { name: 'authkit-conformance-everything', version: '1.0.0' },
    {
      capabilities: {
        tools: {},
        resources: { subscribe: true },
        prompts: {},
        logging: {},
        completions: {},
      },
    },
  );
  const subscriptions = new Set();

  /** A log notification on the request's stream, unless below the session's level. */
  const log = async (extra, level, data) => {
    if (!server.isMessageIgnored(level, extra.sessionId)) {
      await extra.sendNotification({ method: 'notifications/message', params: { level, data } });
    }
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = request.params.arguments ?? {};
    switch (request.params.name) {
      case 'test_simple_text':
        return { content: [text('This is a simple text response for testing.')] };
      case 'test_image_content':
        return { content: [{ type: 'image', data: PNG_BASE64, mimeType: 'image/png' }] };
      case 'test_audio_content':
        return { content: [{ type: 'audio', data: wavBase64(), mimeType: 'audio/wav' }] };
      case 'test_embedded_resource':
        return {
          content: [
            {
              type: 'resource',
              resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
            },
          ],
        };
      case 'test_multiple_content_types':
        return {
          content: [
            text('Multiple content types test:'),
            { type: 'image', data: PNG_BASE64, mimeType: 'image/png' },
            {
              type: 'resource',
              resource: {
                uri: 'test://mixed-content-resource',
                mimeType: 'application/json',
                text: JSON.stringify({ test: 'data', value: 123 }),
              },
            },
          ],
        };
      case 'test_tool_with_logging':
        await log(extra, 'info', 'Tool execution started');
        await sleep(50);
        await log(extra, 'info', 'Tool processing data');
        await sleep(50);
        await log(extra, 'info', 'Tool execution completed');
        return { content: [text('Logging tool completed')] };
      case 'test_tool_with_progress': {
        const progressToken = request.params._meta?.progressToken;
        for (const progress of [0, 50, 100]) {
          if (progress > 0) await sleep(50);
          if (progressToken !== undefined) {
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress, total: 100 },
            });
          }
        }
        return { content: [text('Progress tool completed')] };
      }
      case 'test_error_handling':
        return { isError: true, content: [text('This tool intentionally returns an error for testing')] };
      case 'test_sampling': {
        if (!server.getClientCapabilities()?.sampling) {
          return { isError: true, content: [text('The client does not support sampling')] };
        }
        const result = await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: text(String(args.prompt ?? '')) }], maxTokens: 100 },
          },
          CreateMessageResultSchema,
        );
        return { content: [text(`LLM response: ${result.content?.text ?? JSON.stringify(result.content)}`)] };
      }
      case 'test_elicitation': {
        if (!server.getClientCapabilities()?.elicitation) {
          return { isError: true, content: [text('The client does not support elicitation')] };
        }
        const answer = await elicit(extra, String(args.message ?? ''), {
          type: 'object',
          properties: {
            username: { type: 'string', description: "User's response" },
            email: { type: 'string', description: "User's email address" },
          },
          required: ['username', 'email'],
        });
        return { content: [text(`User response: ${answer}`)] };
      }
      case 'test_elicitation_sep1034_defaults':
        return {
          content: [
            text(
              await elicit(extra, 'Please review these defaults', {
                type: 'object',
                properties: {
                  name: { type: 'string', description: 'User name', default: 'John Doe' },
                  age: { type: 'integer', description: 'User age', default: 30 },
                  score: { type: 'number', description: 'User score', default: 95.5 },
                  status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
                  verified: { type: 'boolean', description: 'Verification status', default: true },
                },
              }),
            ),
          ],
        };
      case 'test_elicitation_sep1330_enums':
        return {
          content: [
            text(
              await elicit(extra, 'Please choose', {
                type: 'object',
                properties: {
                  untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                  titledSingle: {
                    type: 'string',
                    oneOf: [
                      { const: 'value1', title: 'First Option' },
                      { const: 'value2', title: 'Second Option' },
                      { const: 'value3', title: 'Third Option' },
                    ],
                  },
                  legacyEnum: {
                    type: 'string',
                    enum: ['opt1', 'opt2', 'opt3'],
                    enumNames: ['Option One', 'Option Two', 'Option Three'],
                  },
                  untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
                  titledMulti: {
                    type: 'array',
                    items: {
                      anyOf: [
                        { const: 'value1', title: 'First Choice' },
                        { const: 'value2', title: 'Second Choice' },
                        { const: 'value3', title: 'Third Choice' },
                      ],
                    },
                  },
                },
              }),
            ),
          ],
        };
      case 'test_reconnection':
        // SEP-1699 polling: end the POST's SSE stream now (after its priming event);
        // the result is stored and replayed when the client resumes with Last-Event-ID.
        await sleep(50);
        extra.closeSSEStream?.();
        await sleep(200);
        return { content: [text('Reconnection test completed')] };
      case 'json_schema_2020_12_tool':
        return { content: [text(`Received: ${JSON.stringify(args)}`)] };
      default:
        throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: RESOURCES }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: [TEMPLATE] }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    if (uri === 'test://static-text') {
      return { contents: [{ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] };
    }
    if (uri === 'test://static-binary') {
      return { contents: [{ uri, mimeType: 'image/png', blob: PNG_BASE64 }] };
    }
    if (uri === 'test://watched-resource') {
      return { contents: [{ uri, mimeType: 'text/plain', text: 'Watched resource content.' }] };
    }
    const match = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
    if (match) {
      const id = decodeURIComponent(match[1]);
      const data = { id, templateTest: true, data: `Data for ID: ${id}` };
      return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(data) }] };
    }
    throw new McpError(-32002, `Resource not found: ${uri}`, { uri });
  });
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    const args = request.params.arguments ?? {};
    const user = (content) => ({ role: 'user', content });
    switch (request.params.name) {
      case 'test_simple_prompt':
        return { messages: [user(text('This is a simple prompt for testing.'))] };
      case 'test_prompt_with_arguments':
        return { messages: [user(text(`Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'`))] };
      case 'test_prompt_with_embedded_resource':
        return {
          messages: [
            user({
              type: 'resource',
              resource: { uri: args.resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
            }),
            user(text('Please process the embedded resource above.')),
          ],
        };
      case 'test_prompt_with_image':
        return {
          messages: [
            user({ type: 'image', data: PNG_BASE64, mimeType: 'image/png' }),
            user(text('Please analyze the image above.')),
          ],
        };
      default:
        throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}`);
    }
  });

  server.setRequestHandler(CompleteRequestSchema, async (request) => {
    const prefix = String(request.params.argument?.value ?? '').toLowerCase();
    const values = COMPLETIONS.filter((v) => v.toLowerCase().startsWith(prefix));
    return { completion: { values, total: values.length, hasMore: false } };
  });

  return server;
}

/** Events of every stream, in order, for resumption after a dropped SSE stream. */
class EventStore {
  #events = []; // [eventId, streamId, message]
  #next = 0;
  async storeEvent(streamId, message) {
    const eventId = `${streamId}:${++this.#next}`;
    this.#events.push([eventId, streamId, message]);
    return eventId;
  }
  async getStreamIdForEventId(eventId) {
    return this.#events.find(([id]) => id === eventId)?.[1];
  }
  async replayEventsAfter(lastEventId, { send }) {
    const index = this.#events.findIndex(([id]) => id === lastEventId);
    if (index < 0) return '';
    const streamId = this.#events[index][1];
    for (const [eventId, stream, message] of this.#events.slice(index + 1)) {
      if (stream === streamId) await send(eventId, message);
    }
    return streamId;
  }
}

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** DNS-rebinding protection: Host and, when sent, Origin must name this machine. */
function localRequest(req) {
  try {
    if (!LOCAL_HOSTNAMES.has(new URL(`http://${req.headers.host}`).hostname)) return false;
    const origin = req.headers.origin;
    return origin === undefined || LOCAL_HOSTNAMES.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

function jsonRpcError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const transports = new Map(); // session id -> transport

async function handle(req, res) {
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname !== '/mcp') return jsonRpcError(res, 404, -32000, 'Not found');
  if (!localRequest(req)) return jsonRpcError(res, 403, -32000, 'Forbidden: non-local Host or Origin');

  const sessionId = req.headers['mcp-session-id'];
  let body;
  if (req.method === 'POST') {
    try {
      body = await readJson(req);
    } catch {
      return jsonRpcError(res, 400, -32700, 'Parse error');
    }
  }
  if (sessionId !== undefined) {
    const transport = transports.get(sessionId);
    // A terminated or unknown session: 404, so that the client starts a new one.
    if (!transport) return jsonRpcError(res, 404, -32001, 'Session not found');
    return transport.handleRequest(req, res, body);
  }
  if (req.method !== 'POST' || !isInitializeRequest(body)) {
    return jsonRpcError(res, 400, -32000, 'Bad Request: no session; initialize first');
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore: new EventStore(),
    retryInterval: 500,
    onsessioninitialized: (id) => transports.set(id, transport),
    onsessionclosed: (id) => transports.delete(id),
  });
  transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
  await createServer().connect(transport);
  return transport.handleRequest(req, res, body);
}

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;
const httpServer = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('request failed:', err);
    if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal error');
    else res.end();
  });
});
httpServer.listen(port, '127.0.0.1', () => {
  console.log(`Listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    httpServer.closeAllConnections();
    httpServer.close(() => process.exit(0));
  });
}
