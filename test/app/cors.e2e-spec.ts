import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';

/** ARCP_CORS_ORIGINS: the sample app answers browsers on other origins with what DPoP needs. */
describe('ARCP_CORS_ORIGINS', () => {
  const ORIGIN = 'http://localhost:5173';
  let server: SampleServer;
  let closed: SampleServer;
  beforeAll(async () => {
    server = await startSampleServer({ ARCP_CORS_ORIGINS: ORIGIN, DPOP_NONCE_REQUIRED: 'true' });
    closed = await startSampleServer({});
  });
  afterAll(async () => {
    await server?.close();
    await closed?.close();
  });

  const preflight = (base: string, origin: string) =>
    fetch(`${base}/auth/agent/request_temp_token`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'dpop,authorization,content-type',
      },
    });

  it('allows DPoP and Authorization from the listed origin', async () => {
    const res = await preflight(server.url, ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-headers')).toBe('Authorization,DPoP,Content-Type');
  });

  it('exposes DPoP-Nonce and WWW-Authenticate on a use_dpop_nonce refusal', async () => {
    const res = await fetch(`${server.url}/auth/agent/request_temp_token`, {
      method: 'POST',
      headers: { Origin: ORIGIN, 'Content-Type': 'application/json', DPoP: 'not.a.proof' },
      body: '{}',
    });
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-expose-headers')).toBe(
      'DPoP-Nonce,WWW-Authenticate,Retry-After',
    );
  });

  it('says nothing to another origin, nor when the setting is unset', async () => {
    const other = await preflight(server.url, 'http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const unset = await preflight(closed.url, ORIGIN);
    expect(unset.headers.get('access-control-allow-origin')).toBeNull();
    expect(unset.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('refuses to start on an entry that is not an origin, naming the variable', async () => {
    await expect(
      startSampleServer({ ARCP_CORS_ORIGINS: 'https://app.example.com/' }),
    ).rejects.toThrow(/ARCP_CORS_ORIGINS: "https:\/\/app.example.com\/" is not an origin/);
  });
});
