import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import request from 'supertest';
import { bootApp, type Harness } from './app-harness.js';

/**
 * Issue 12 §4: the sample app's OpenAPI document is valid OpenAPI 3 (checked by a real
 * validator), is served at /docs-json and /docs, and lists exactly the routes the app serves
 * (compared with Express' router, not with a list written here).
 */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

let h: Harness;
let document: Record<string, unknown>;
beforeAll(async () => {
  h = await bootApp();
  const res = await request(h.server).get('/docs-json');
  expect(res.status).toBe(200);
  document = res.body as Record<string, unknown>;
});
afterAll(async () => {
  await h?.close();
});

describe('OpenAPI (/docs-json, /docs)', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(String(document.openapi)).toMatch(/^3\./);
  });

  it('lists every route the app serves, and no other', () => {
    const router = (h.app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } }).router;
    const served = router.stack
      .filter((layer) => layer.route !== undefined)
      .flatMap((layer) =>
        Object.keys(layer.route!.methods).map(
          (method) => `${method} ${layer.route!.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`,
        ),
      )
      .filter((route) => !/ \/docs/.test(route))
      .sort();
    const paths = document.paths as Record<string, Record<string, unknown>>;
    const documented = Object.entries(paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`))
      .sort();
    expect(served.length).toBeGreaterThanOrEqual(9);
    expect(documented).toEqual(served);
  });

  it('declares the DPoP schemes, problem responses and the DTO schemas', () => {
    const components = document.components as Record<string, Record<string, unknown>>;
    expect(components.securitySchemes).toMatchObject({
      DPoPProof: { type: 'apiKey', in: 'header', name: 'DPoP' },
      DPoPToken: { type: 'http', scheme: 'DPoP' },
    });
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    for (const item of Object.values(paths)) {
      for (const operation of Object.values(item)) {
        const responses = operation.responses as Record<string, { content?: object }>;
        expect(responses['401']?.content).toHaveProperty(['application/problem+json']);
        expect(responses['422']?.content).toHaveProperty(['application/problem+json']);
      }
    }
    expect(paths['/agents/{agent_id}/heartbeat']!.post!.security).toEqual([
      { DPoPToken: [], DPoPProof: [] },
    ]);
    expect(components.schemas).toMatchObject({
      RequestTempTokenDto: {
        required: expect.arrayContaining(['agent_id', 'agent_type', 'agent_key']),
        properties: {
          agent_key: { type: 'string', minLength: 10, maxLength: 200 },
          agent_id: { type: 'string', minLength: 1, maxLength: 100 },
        },
      },
      ValidateComplianceDto: {
        properties: { capabilities: { type: 'array', minItems: 1, maxItems: 64 } },
      },
      RegisterAgentDto: { properties: { metadata: { type: 'object' } } },
    });
  });

  it('serves the UI at /docs', async () => {
    const res = await request(h.server).get('/docs/').redirects(1);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/swagger/i);
  });
});
