import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication, type LoggerService } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { ProblemDetailsFilter } from '../../src/common/problem-details.filter.js';
import { makeKey, type TestKey } from '../support/proofs.js';
import {
  expectProblem,
  newAgentId,
  requestTempToken,
  send,
  tempTokenBody,
  validationBody,
} from './agent-client.js';
import { bootApp, type Harness } from './app-harness.js';

/** When Redis goes away, requests that need it get a 503: never let through, never a 500. */
describe('Redis becomes unreachable', () => {
  let h: Harness;
  let key: TestKey;
  let temp: string;
  const agentId = newAgentId();
  // The outage is deliberate: its error lines are recorded and asserted, not printed.
  const logged: string[] = [];
  const logger: LoggerService = {
    log: () => undefined,
    warn: (message: unknown) => void logged.push(`WARN ${String(message)}`),
    error: (message: unknown) => void logged.push(`ERROR ${String(message)}`),
  };

  beforeAll(async () => {
    h = await bootApp({ store: 'redis', logger });
    key = await makeKey('EdDSA');
    temp = await requestTempToken(h, agentId);
    h.app.get<Redis>(getRedisConnectionToken()).disconnect();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses proofs it cannot record (503 dpop-store-unavailable)', async () => {
    const res = await send(h, 'POST', '/auth/agent/request_temp_token', {
      key,
      body: tempTokenBody(agentId),
    });
    expectProblem(res, 503, 'dpop-store-unavailable', 'ERR_DPOP_STORE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('1');
  });

  it('refuses to start a validation it cannot store (503 service-unavailable)', async () => {
    const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
      token: temp,
      body: validationBody(agentId),
    });
    expectProblem(res, 503, 'service-unavailable');
  });

  it('reports itself unhealthy', async () => {
    const res = await send(h, 'GET', '/health');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'unhealthy', storage: { kind: 'redis', up: false } });
  });

  it('tells the operator that Redis failed, as error lines', () => {
    expect(logged).toContain('ERROR Redis command failed: Connection is closed.');
    expect(logged.every((line) => line.startsWith('ERROR Redis '))).toBe(true);
  });
});

@Controller('boom')
class BoomController {
  @Get()
  boom(): never {
    throw new Error('connection string postgres://admin:hunter2@db');
  }
}

@Module({
  controllers: [BoomController],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
class BoomModule {}

describe('an unexpected error', () => {
  let app: INestApplication;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [BoomModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('is a 500 internal-error problem that tells nothing of its cause', async () => {
    const res = await request(app.getHttpServer()).get('/boom');
    expectProblem(res, 500, 'internal-error');
    expect(res.body.detail).toBe('An unexpected error occurred. Try again later.');
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
  });
});
