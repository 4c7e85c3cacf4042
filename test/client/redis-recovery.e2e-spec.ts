import { afterAll, describe, expect, it } from '@jest/globals';
import { DPoPGenerator } from 'nest-dpop-client';
import { ARCPClient } from 'nest-dpop-client/arcp';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';
import { sleep, startRedisServer, stopAllRedisServers } from '../support/redis-servers.js';

/**
 * The sample app at its default settings (clock skew 60 s) on a private Redis without
 * persistence, driven by nest-dpop-client (a conforming client: it answers use_dpop_nonce). A
 * fresh Redis, and the same Redis restarted empty, look like a loss of replay history; the
 * store answers with a recovery nonce, and the client gets 200 within one round trip.
 */
const AGENT_KEY = 'redis-recovery-agent-key-0123456789';
let server: SampleServer | undefined;

afterAll(async () => {
  await server?.close();
  await stopAllRedisServers();
});

describe('a conforming client on the sample app over a fresh, then restarted, Redis', () => {
  it('gets a temp token at once on a fresh Redis, and 200 within 3 s of a restart', async () => {
    const redis = await startRedisServer();
    server = await startSampleServer({
      AGENT_KEYS: AGENT_KEY,
      REDIS_URL: `redis://${redis.address}`,
    });
    const generator = await DPoPGenerator.generate('EdDSA');
    const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 25 });
    const agentId = `recovery-agent-${process.pid}`;
    // The first proofs ever on this Redis: no history marker, so a loss dated now.
    const started = Date.now();
    const temp = await client.requestTempToken({
      agent_id: agentId,
      agent_type: 'automation',
      agent_key: AGENT_KEY,
    });
    expect(temp.token.type).toBe('DPoP');
    expect(Date.now() - started).toBeLessThan(3000);

    await redis.stop();
    await redis.start();
    const restarted = Date.now();
    const errors: string[] = [];
    for (;;) {
      try {
        await client.requestTempToken({
          agent_id: agentId,
          agent_type: 'automation',
          agent_key: AGENT_KEY,
        });
        break;
      } catch (error) {
        errors.push(String((error as { code?: string }).code ?? error));
        if (Date.now() - restarted > 3000)
          throw new Error(`no 200 within 3 s: ${errors.join(', ')}`);
        await sleep(100);
      }
    }
    expect(Date.now() - restarted).toBeLessThan(3000);
    // Whatever the client saw before the 200, it was never asked to wait out the clock skew.
    expect(errors.filter((code) => code === 'ERR_DPOP_USE_NONCE')).toEqual([]);
  }, 30_000);
});
