import { beforeAll, describe, expect, it } from '@jest/globals';
import { makeKey, makeProof, type TestKey } from '../testing/proofs.fixture.js';
import { DPoPError } from '../errors/dpop.errors.js';
import type {
  DPoPHttpRequest,
  DPoPModuleOptions,
} from '../options/dpop-module-options.interface.js';
import { DPoPRequestPolicy, type DPoPRequestRoute } from './dpop-request.policy.js';
import { checkedRouteOptions } from './dpop-route.options.js';

// Per-route nonces and per-route challenges in the request policy, without Nest.

const ORIGIN = 'http://api.example';
const SECRET = 'q3Z9-vK2xT7pLm4Rw8Ny1Bc6Hd0Jf5Gs';
let key: TestKey;
beforeAll(async () => {
  key = await makeKey('EdDSA');
});

function policy(options: DPoPModuleOptions = {}): DPoPRequestPolicy {
  return DPoPRequestPolicy.create({ allowedOrigins: [ORIGIN], ...options });
}

async function request(nonce?: string): Promise<DPoPHttpRequest> {
  const proof = await makeProof(key, {
    htm: 'GET',
    htu: `${ORIGIN}/items`,
    ...(nonce !== undefined && { claims: { nonce } }),
  });
  return { method: 'GET', url: '/items', headers: { host: 'api.example', dpop: proof } };
}

const route = (options: Parameters<typeof checkedRouteOptions>[0]): DPoPRequestRoute => ({
  options: checkedRouteOptions(options, 'test'),
});

describe('route option nonce', () => {
  it('is true, false or absent', () => {
    expect(checkedRouteOptions({ nonce: true }, '@DPoPRequired()')).toEqual({ nonce: true });
    expect(checkedRouteOptions({ nonce: false }, '@DPoPRequired()')).toEqual({ nonce: false });
    expect(() => checkedRouteOptions({ nonce: 1 as never }, '@DPoPBound()')).toThrow(
      '@DPoPBound(): DPoP route option nonce must be true or false, got 1',
    );
  });

  it('nonce: true with nonces for such routes only: that route asks, the others do not', async () => {
    const rules = policy({ nonce: { secret: SECRET, routesOnly: true } });
    const asking = route({ nonce: true });
    const error = await rules.check(await request(), asking).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DPoPError);
    expect((error as DPoPError).code).toBe('ERR_DPOP_USE_NONCE');
    const refusal = rules.refusal(error as DPoPError, undefined, false, asking);
    const nonce = refusal.headers['DPoP-Nonce']!;
    expect(refusal.status).toBe(401);
    expect(nonce).toEqual(expect.any(String));
    const passed = await rules.check(await request(nonce), asking);
    expect([passed.proof?.nonce, passed.nonce]).toEqual([nonce, undefined]);
    // The same policy, another route: no nonce asked for, none handed out.
    const free = await rules.check(await request());
    expect([free.proof?.jkt, free.nonce]).toEqual([key.jkt, undefined]);
  });

  it('nonce: true without a nonce issuer throws a plain Error: never a pass without the nonce', async () => {
    for (const options of [{}, { nonce: false }] satisfies DPoPModuleOptions[]) {
      const error = await policy(options)
        .check(await request(), route({ nonce: true }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(DPoPError);
      expect((error as Error).message).toMatch(/nonce: true needs a nonce issuer/);
    }
  });

  it('nonce: false under module-wide nonces: a proof without one passes, no nonce rides along', async () => {
    const rules = policy({ nonce: { secret: SECRET } });
    const passed = await rules.check(await request(), route({ nonce: false }));
    expect([passed.proof?.jkt, passed.nonce]).toEqual([key.jkt, undefined]);
  });
});

describe('refusal(): the challenge names the route’s algorithms', () => {
  const missing = new DPoPError('ERR_DPOP_MISSING', 'This endpoint requires a DPoP proof header');

  it('the route’s algorithms, each once; the module’s without route settings', () => {
    const rules = policy({ algorithms: ['EdDSA', 'ES256', 'RS256'] });
    const narrowed = route({ algorithms: ['ES256', 'PS256', 'ES256'] });
    expect(rules.refusal(missing, undefined, false, narrowed).headers['WWW-Authenticate']).toBe(
      'DPoP algs="ES256 PS256"',
    );
    for (const other of [undefined, {}, route({ proofTtl: 30 })]) {
      expect(rules.refusal(missing, undefined, false, other).headers['WWW-Authenticate']).toBe(
        'DPoP algs="EdDSA ES256 RS256"',
      );
    }
  });

  it('a token endpoint: the 400 nonce answer names no algorithms (no challenge)', () => {
    const rules = policy({ nonce: { secret: SECRET } });
    const useNonce = new DPoPError('ERR_DPOP_USE_NONCE', 'DPoP proof must carry the server nonce');
    const tokenRoute = { required: true, ...route({ algorithms: ['ES256'] }) };
    for (const given of [tokenRoute, undefined]) {
      const refusal = rules.refusal(useNonce, undefined, true, given);
      expect(refusal.status).toBe(400);
      expect(refusal.headers['WWW-Authenticate']).toBeUndefined();
      expect(refusal.body).toEqual({
        error: 'use_dpop_nonce',
        error_description: 'DPoP proof must carry the server nonce',
      });
    }
    expect(rules.refusal(missing, undefined, true, tokenRoute).headers['WWW-Authenticate']).toBe(
      'DPoP algs="ES256"',
    );
  });
});
