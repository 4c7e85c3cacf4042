// Jest in ESM mode (`node --experimental-vm-modules`), as ESM apps run it: nest-dpop's ESM build
// under Jest's ESM runtime, with its optional terminus peer (ESM only in terminus 12).
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { TerminusModule } from '@nestjs/terminus';
import { DPoPModule, DPoPProofVerifier, InMemoryJtiStore, JtiStore } from 'nest-dpop';
import { DPoPHealthIndicator } from 'nest-dpop/terminus';
import { DPoPTestKey } from 'nest-dpop/testing';

describe('nest-dpop under Jest ESM', () => {
  it('overrideProvider(JtiStore), a verified proof, terminus health', async () => {
    const store = new InMemoryJtiStore();
    const moduleRef = await Test.createTestingModule({
      imports: [DPoPModule.forRoot({}), TerminusModule],
      providers: [DPoPHealthIndicator],
    })
      .overrideProvider(JtiStore)
      .useValue(store)
      .compile();
    expect(moduleRef.get(JtiStore)).toBe(store);

    const key = DPoPTestKey.generate();
    const url = 'https://api.example/me';
    const verified = await moduleRef
      .get(DPoPProofVerifier)
      .verify({ proof: key.proof({ method: 'GET', url }), method: 'GET', url });
    expect(verified.jkt).toBe(key.jkt);

    const health = await moduleRef.get(DPoPHealthIndicator).isHealthy();
    expect(health.dpop_replay_store).toMatchObject({ status: 'up', store: 'InMemoryJtiStore' });
    await moduleRef.close();
  });
});
