import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { newAgentId, registeredAgent, validatedToken } from './agent-client.js';
import { bootApp, PUBLIC_URL, type Harness } from './app-harness.js';

/**
 * Finding 2 of the audit: odd bodies, content types, ids and headers, through every route, with
 * valid tokens and proofs so that each body reaches the validation pipe. Zero 5xx, every refusal
 * a problem+json, and nothing logged as an error (no stack trace per request).
 */

const deepArrays = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const deepObjects = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** Bodies: [name, content type, raw bytes, extra headers]. */
const BODIES: Array<[string, string, string | Buffer, Record<string, string>?]> = [
  ['arrays nested 20k deep', 'application/json', deepArrays(20_000)],
  ['arrays nested 45k deep (~90 KB)', 'application/json', deepArrays(45_000)],
  ['arrays nested 100k deep', 'application/json', deepArrays(100_000)],
  ['objects nested 10k deep', 'application/json', deepObjects(10_000)],
  ['nesting inside agent_id', 'application/json', `{"agent_id":${deepArrays(30_000)}}`],
  [
    'nesting inside metadata',
    'application/json',
    `{"agent_id":"x","metadata":{"k":${deepObjects(5_000)}}}`,
  ],
  ['nesting just past the limit', 'application/json', `{"a":${deepArrays(40)}}`],
  ['a 1 MB string', 'application/json', JSON.stringify({ agent_id: 'x'.repeat(1_000_000) })],
  ['a 60 KB string', 'application/json', JSON.stringify({ agent_id: 'x'.repeat(60_000) })],
  ['a wide array', 'application/json', JSON.stringify({ capabilities: Array(20_000).fill(1) })],
  ['1e999 and -0', 'application/json', '{"agent_id":1e999,"agent_type":-0,"agent_key":1e-999}'],
  [
    '__proto__ keys',
    'application/json',
    '{"__proto__":{"admin":true},"agent_id":"x","constructor":{"prototype":{"admin":true}}}',
  ],
  ['escaped __proto__', 'application/json', '{"\\u005f_proto__":{"agent_id":"y"}}'],
  [
    'invalid UTF-8',
    'application/json',
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
  ],
  ['not JSON', 'application/json', '{"agent_id":'],
  ['top-level null', 'application/json', 'null'],
  ['top-level string', 'application/json', '"agent"'],
  ['top-level number', 'application/json', '12'],
  ['empty', 'application/json', ''],
  ['UTF-16 charset', 'application/json; charset=utf-16', Buffer.from('{"a":1}', 'utf16le')],
  ['unknown charset', 'application/json; charset=x-klingon', '{"a":1}'],
  ['gzip encoded', 'application/json', gzipSync('{"a":1}'), { 'Content-Encoding': 'gzip' }],
  ['unknown encoding', 'application/json', '{"a":1}', { 'Content-Encoding': 'br2' }],
  ['text/plain', 'text/plain', '{"agent_id":"x"}'],
  [
    'a deep form',
    'application/x-www-form-urlencoded',
    'a' + '[a]'.repeat(5_000) + '=1&agent_id[]=1&agent_id[]=2',
  ],
  ['a wide form', 'application/x-www-form-urlencoded', Array(5_000).fill('a=1').join('&')],
  [
    'multipart',
    'multipart/form-data; boundary=x',
    '--x\r\nContent-Disposition: form-data\r\n\r\n1',
  ],
  ['a bogus content type', 'application/json;;;=;', '{}'],
  ['vendor JSON', 'application/vnd.api+json', '{"a":1}'],
];

/** Odd path parameters and odd headers. */
const IDS = [
  'x'.repeat(5_000),
  '%FF%FE',
  '%00',
  '..%2F..%2Fetc',
  '%E2%80%AE',
  'a%20b',
  '__proto__',
  'constructor',
];

interface Route {
  method: 'GET' | 'POST';
  path: string;
  token: () => string | undefined;
}

let h: Harness;
let key: TestKey;
let temp: string;
let access: string;
let validated: string;
let agentId: string;
let routes: Route[];
/** Everything the app logged (error level) during the sweep. */
const logged: string[] = [];

beforeAll(async () => {
  h = await bootApp();
  key = await makeKey('ES256');
  agentId = newAgentId();
  ({ temp, access } = await registeredAgent(h, agentId, key));
  ({ validated } = await validatedToken(h, newAgentId(), key));
  routes = [
    { method: 'POST', path: '/auth/agent/request_temp_token', token: () => undefined },
    { method: 'POST', path: '/auth/agent/validate_compliance', token: () => temp },
    { method: 'GET', path: '/auth/agent/validation/val_0123456789abcdef', token: () => temp },
    { method: 'POST', path: '/agents/register', token: () => validated },
    { method: 'POST', path: `/agents/${agentId}/heartbeat`, token: () => access },
    { method: 'GET', path: `/agents/${agentId}`, token: () => access },
    { method: 'GET', path: '/.well-known/arcp-configuration', token: () => undefined },
    { method: 'GET', path: '/.well-known/jwks.json', token: () => undefined },
    { method: 'GET', path: '/health', token: () => undefined },
    { method: 'POST', path: '/nowhere', token: () => undefined },
  ];
});
afterAll(async () => {
  await h?.close();
});

/** Captures what the app writes to stderr/stdout while `run` runs. */
async function capturing<T>(run: () => Promise<T>): Promise<T> {
  logged.length = 0;
  const { stdout, stderr } = process;
  const out = stdout.write.bind(stdout);
  const err = stderr.write.bind(stderr);
  const grab = (chunk: unknown): boolean => {
    logged.push(String(chunk));
    return true;
  };
  stdout.write = grab;
  stderr.write = grab;
  try {
    return await run();
  } finally {
    stdout.write = out;
    stderr.write = err;
  }
}

async function sendRaw(
  route: Route,
  body: { type: string; raw: string | Buffer; headers?: Record<string, string> } | undefined,
  path = route.path,
  extraHeaders: Record<string, string> = {},
): Promise<request.Response> {
  const token = route.token();
  const proof = await makeProof(key, {
    htm: route.method,
    htu: PUBLIC_URL + path,
    ...(token !== undefined && { accessToken: token }),
  });
  let req = (route.method === 'GET' ? request(h.server).get(path) : request(h.server).post(path))
    .set('DPoP', proof)
    .buffer(true);
  if (token !== undefined) req = req.set('Authorization', `DPoP ${token}`);
  for (const [name, value] of Object.entries({ ...body?.headers, ...extraHeaders }))
    req = req.set(name, value);
  if (body !== undefined) req = req.set('Content-Type', body.type).send(body.raw);
  // A request the server never answers is a failure too, named by its route.
  return req.timeout(5_000).catch((error: unknown) => {
    throw new Error(`${route.method} ${path.slice(0, 80)}: ${String(error)}`);
  });
}

function expectCleanRefusal(res: request.Response, what: string): void {
  expect({ what, status: res.status < 500 }).toEqual({ what, status: true });
  if (res.status >= 400) {
    expect({ what, type: res.headers['content-type'] }).toEqual({
      what,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
  }
}

describe('odd input through every route', () => {
  const rows = BODIES.map(([name, type, raw, headers]) => ({ name, type, raw, headers }));
  it.each(rows)('$name: never a 5xx, always a problem', async ({ name, type, raw, headers }) => {
    await capturing(async () => {
      for (const route of routes) {
        const res = await sendRaw(route, { type, raw, ...(headers && { headers }) });
        expectCleanRefusal(res, `${name} → ${route.method} ${route.path}`);
      }
    });
    expect(logged.filter((line) => /ERROR|RangeError|at .*\.js/.test(line))).toEqual([]);
  });

  it('refuses a deep body at the parser, cheaply, with a 400 naming the limit', async () => {
    const res = await sendRaw(routes[0]!, { type: 'application/json', raw: deepArrays(30_000) });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/nest/);
    const big = await sendRaw(routes[0]!, {
      type: 'application/json',
      raw: JSON.stringify({ agent_id: 'x'.repeat(200_000) }),
    });
    expect(big.status).toBe(413);
  });

  it('odd ids and headers: never a 5xx', async () => {
    await capturing(async () => {
      for (const id of IDS) {
        for (const path of [`/agents/${id}`, `/agents/${id}/heartbeat`]) {
          const route = routes.find((r) => r.path.endsWith(agentId))!;
          for (const method of ['GET', 'POST'] as const) {
            const res = await sendRaw({ ...route, method }, undefined, path);
            expectCleanRefusal(res, `${method} ${path.slice(0, 60)}`);
          }
        }
        const poll = await sendRaw(routes[2]!, undefined, `/auth/agent/validation/${id}`);
        expectCleanRefusal(poll, `poll ${id.slice(0, 60)}`);
      }
      const headers: Array<Record<string, string>> = [
        { Authorization: 'DPoP ' + 'a'.repeat(8_000) },
        { Authorization: 'DPoP a.b.c' },
        { Authorization: 'Basic Og==' },
        { Authorization: 'DPoP  two  spaces' },
        { DPoP: '.'.repeat(4_000) },
        { DPoP: 'e30.e30.' },
        { Accept: 'application/xml' },
        { 'Content-Length': '5' },
        { 'X-Forwarded-Host': 'evil.example', Forwarded: 'host=evil' },
      ];
      for (const route of routes) {
        for (const extra of headers) {
          const res = await sendRaw(route, undefined, route.path, extra);
          expectCleanRefusal(res, `${JSON.stringify(extra).slice(0, 60)} → ${route.path}`);
        }
      }
    });
    expect(logged.filter((line) => /ERROR|RangeError|at .*\.js/.test(line))).toEqual([]);
  });
});
