import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { ARCPClient } from 'nest-dpop-client/arcp';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';
import { startSoftHsm, type SoftHsm } from './support/softhsm.js';

/**
 * Keys that never leave their vault: EC P-256 and Ed25519 keys generated inside a SoftHSM2
 * token (PKCS#11), signing proofs through `DPoPGenerator.fromSigner`. Here the sample app takes
 * them through the whole ARCP flow with nonces required; test/interop/peer-verifiers.e2e-spec.ts
 * has oauth4webapi and auth0's express-oauth2-jwt-bearer verify them.
 */

let hsm: SoftHsm;
let server: SampleServer;
const AGENT_KEY = 'softhsm-agent-key-0123456789';

beforeAll(async () => {
  hsm = await startSoftHsm();
  server = await startSampleServer({ AGENT_KEYS: AGENT_KEY, DPOP_NONCE_REQUIRED: 'true' });
});
afterAll(async () => {
  await server?.close();
  hsm?.close();
});

describe.each(['ES256', 'EdDSA'] as const)('a SoftHSM2 %s key', (alg) => {
  it('stays in the token: sensitive, not extractable, its value unreadable', () => {
    expect(hsm.readPrivate(alg, 'sensitive')).toBe(true);
    expect(hsm.readPrivate(alg, 'extractable')).toBe(false);
    expect(() => hsm.readPrivate(alg, 'value')).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
  });

  it('registers an agent with the sample app and beats, every token bound to it', async () => {
    const generator = hsm.generators[alg];
    expect(generator.algorithm).toBe(alg);
    const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 25 });
    const agentId = `hsm-${alg.toLowerCase()}-${process.pid}`;
    const { accessToken } = await client.register({
      agent_key: AGENT_KEY,
      registration: {
        agent_id: agentId,
        name: `HSM ${alg}`,
        agent_type: 'automation',
        endpoint: 'https://agent.example.com:8443',
        capabilities: ['processing'],
        context_brief: 'An agent whose key lives in a PKCS#11 token',
        owner: 'softhsm-test',
        public_key: generator.publicKeyPem,
        metadata: { hsm: 'softhsm2' },
        version: '1.0.0',
        communication_mode: 'remote',
      },
    });
    expect(decodeJwt(accessToken.value).cnf).toEqual({ jkt: generator.jkt });
    await expect(client.heartbeat(agentId)).resolves.toMatchObject({ status: 'alive' });
  });
});
