/**
 * Finding 2 of issue 11: what a hostile body (nested 30 000 levels deep, just under the 64 KB
 * size limit) costs the sample app, against a normal phase-1 body, in the same run. The app runs
 * in this process on 127.0.0.1; the CPU time of a batch of sequential requests is compared (the
 * client's share is the same small loop for both, so the ratio understates nothing).
 * Before the depth pre-scan the hostile body cost ~70x a normal one and answered 500.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module.js';
import { configureApp } from '../../src/app.setup.js';
import { loadAppConfig } from '../../src/config/app-config.js';
import { median } from '../lib/stats.js';

const AGENT_KEY = 'bench-agent-key-0123456789';

async function cpuPerRequest(url: string, body: string, count: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}

/** One line: µs of CPU per normal and per hostile request, and their ratio. */
export async function benchBodyLimits(rounds = 5, count = 200): Promise<string> {
  const config = loadAppConfig({ AGENT_KEYS: AGENT_KEY, ARCP_PUBLIC_URL: 'http://127.0.0.1' });
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config), { logger: false }));
  await app.listen(0, '127.0.0.1');
  try {
    const { port } = app.getHttpServer().address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/auth/agent/request_temp_token`;
    const normal = JSON.stringify({
      agent_id: 'bench',
      agent_type: 'testing',
      agent_key: AGENT_KEY,
    });
    const hostile = `{"agent_id":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    await cpuPerRequest(url, normal, 50);
    await cpuPerRequest(url, hostile, 50);
    const normalUs: number[] = [];
    const hostileUs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      normalUs.push(await cpuPerRequest(url, normal, count));
      hostileUs.push(await cpuPerRequest(url, hostile, count));
    }
    const n = median(normalUs);
    const h = median(hostileUs);
    return (
      `  sample app, CPU per request: normal body ${n.toFixed(0)} µs, ` +
      `hostile body (30 000 levels, 60 KB) ${h.toFixed(0)} µs: ratio ${(h / n).toFixed(2)}×`
    );
  } finally {
    await app.close();
  }
}
