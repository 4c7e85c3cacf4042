import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DPoPError } from '../errors/dpop.errors.js';
import { createDPoPExceptionFactory } from './dpop.exception.js';
import { setDPoPHeaders } from './response-headers.util.js';

const refusal = createDPoPExceptionFactory({
  problemTypeBase: 'urn:test:',
  algorithms: ['EdDSA'],
})(new DPoPError('ERR_DPOP_REPLAY', 'DPoP proof replay detected'), '/me');

/** What an exception filter does after the guard threw: its own Content-Type, then the body. */
type Filter = (res: ServerResponse) => void;

describe('setDPoPHeaders on a Node ServerResponse (Express)', () => {
  let server: Server;
  let filter: Filter;
  let contentTypeSeenByFilter: unknown;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      setDPoPHeaders(res, refusal.headers);
      contentTypeSeenByFilter = res.getHeader('content-type');
      res.statusCode = 401;
      filter(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = async (f: Filter) => {
    filter = f;
    const { port } = server.address() as AddressInfo;
    return fetch(`http://127.0.0.1:${port}/me`);
  };

  it('leaves Content-Type unset for the filter (NestJS 11 warns on a non-JSON one)', async () => {
    await get((res) => res.end('{}'));
    expect(contentTypeSeenByFilter).toBeUndefined();
  });

  it("relabels the filter's application/json as problem+json, keeping its parameters", async () => {
    const res = await get((r) => {
      r.setHeader('Content-Type', 'application/json; charset=utf-8');
      r.end(JSON.stringify(refusal.problem));
    });
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('labels a body sent without any Content-Type', async () => {
    const res = await get((r) => r.end('{}'));
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('keeps a type the filter chose on purpose', async () => {
    const res = await get((r) => {
      r.setHeader('Content-Type', 'text/html');
      r.end('<p>no</p>');
    });
    expect(res.headers.get('content-type')).toBe('text/html');
  });

  it('does not treat application/jsonx as JSON', async () => {
    const res = await get((r) => {
      r.setHeader('Content-Type', 'application/jsonx');
      r.end('{}');
    });
    expect(res.headers.get('content-type')).toBe('application/jsonx');
  });
});

describe('setDPoPHeaders on a Fastify-style reply', () => {
  it('sets every header at once, Content-Type included', () => {
    const set: Record<string, string> = {};
    setDPoPHeaders({ header: (name, value) => (set[name] = value) }, refusal.headers);
    expect(set).toMatchObject({
      'Content-Type': 'application/problem+json',
      'Cache-Control': 'no-store',
    });
    expect(set['WWW-Authenticate']).toContain('algs="EdDSA"');
  });
});

describe('setDPoPHeaders: the one writer, for refusals and nonce rotation alike', () => {
  it("on a Node response with Express' header() too, uses setHeader (header() adds a charset)", () => {
    const calls: string[] = [];
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    Object.assign(res, {
      header: (name: string) => {
        calls.push(`header ${name}`);
      },
    });
    setDPoPHeaders(res, { 'DPoP-Nonce': 'n1', 'Cache-Control': 'no-store' });
    expect(calls).toEqual([]);
    expect(res.getHeader('dpop-nonce')).toBe('n1');
    expect(res.getHeader('cache-control')).toBe('no-store');
  });

  it('on a reply with both header() and setHeader() but no Node response, uses header()', () => {
    const calls: string[] = [];
    setDPoPHeaders(
      {
        header: (name) => calls.push(`header ${name}`),
        setHeader: (name) => calls.push(`setHeader ${name}`),
      },
      { 'DPoP-Nonce': 'n1' },
    );
    expect(calls).toEqual(['header DPoP-Nonce']);
  });

  it('on an object with setHeader() only, uses it; with no response, does nothing', () => {
    const set: Record<string, string> = {};
    setDPoPHeaders({ setHeader: (name, value) => (set[name] = value) }, { 'DPoP-Nonce': 'n1' });
    expect(set).toEqual({ 'DPoP-Nonce': 'n1' });
    expect(() => setDPoPHeaders(undefined, { 'DPoP-Nonce': 'n1' })).not.toThrow();
  });
});
