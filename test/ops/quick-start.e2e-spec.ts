import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DPoPGenerator } from 'nest-dpop-client';
import { extractSnippets, ROOT } from './doc-snippets.util.js';

/**
 * The quick starts as written (libs/dpop/README.md, README.md's "The library"): the module they
 * show starts without a single warning, and refuses what the warning-free setup is for, a token
 * anyone can forge (`alg: none`, their own key's cnf.jkt) sent with a proof from that key.
 * Each snippet is written to a scratch file here and imported, so Jest compiles it as the
 * project's own code (the package names are the workspace sources).
 */
const SCRATCH = join(ROOT, 'test/ops/.quick-start');

afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

class RecordingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log = () => undefined;
  error = (m: unknown) => this.warnings.push(`ERROR ${String(m)}`);
  warn = (m: unknown) => this.warnings.push(String(m));
}

function quickStart(file: string): string {
  const snippet = extractSnippets(file, readFileSync(join(ROOT, file), 'utf8')).find(
    (s) => s.code.includes('@DPoPBound()') && s.code.includes('accessToken: {'),
  );
  if (snippet === undefined) throw new Error(`${file}: no quick start with accessToken`);
  return snippet.code;
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Starts the snippet's AppModule; returns the app and what it logged at WARN or ERROR. */
async function start(name: string, code: string) {
  mkdirSync(SCRATCH, { recursive: true });
  const module = join(SCRATCH, `${name.replace(/\W+/g, '_')}.ts`);
  writeFileSync(module, code);
  const { AppModule } = (await import(pathToFileURL(module).href)) as { AppModule: object };
  const logger = new RecordingLogger();
  const app = await NestFactory.create(AppModule as never, { logger });
  await app.listen(0, '127.0.0.1');
  return { app, warnings: logger.warnings };
}

/** POSTs a forged, unsigned token bound to a fresh key, with a valid proof from that key. */
async function sendForgedToken(app: INestApplication): Promise<Response> {
  // The attacker's own key, and a token naming it that nobody issued.
  const key = await DPoPGenerator.generate('ES256');
  const forged = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
    sub: 'anyone',
    aud: 'https://api.example.com',
    iss: 'https://auth.example.com',
    exp: Math.floor(Date.now() / 1000) + 300,
    cnf: { jkt: key.jkt },
  })}.`;
  // publicUrl: proofs name https://api.example.com whatever address the request went to.
  const path = '/agents/a1/heartbeat';
  const proof = await key.createProof({
    method: 'POST',
    url: `https://api.example.com${path}`,
    accessToken: forged,
  });
  const res = await fetch(`${await app.getUrl()}${path}`, {
    method: 'POST',
    headers: { Authorization: `DPoP ${forged}`, DPoP: proof },
  });
  return res;
}

describe.each(['libs/dpop/README.md', 'README.md'])('the quick start of %s', (file) => {
  let app: INestApplication | undefined;
  afterAll(async () => app?.close());

  it('starts without a warning, and refuses a forged token bound to the sender', async () => {
    const started = await start(file, quickStart(file));
    app = started.app;
    expect(started.warnings).toEqual([]);
    const res = await sendForgedToken(app);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });
});

describe('the same module without the accessToken option (what the docs warn about)', () => {
  let app: INestApplication | undefined;
  afterAll(async () => app?.close());

  it('warns at start-up, and then lets the forged token through: the test above can fail', async () => {
    const code = quickStart('libs/dpop/README.md').replace(/\n\s*accessToken: \{[^}]*\},/, '');
    expect(code).not.toContain('accessToken');
    const started = await start('without-access-token', code);
    app = started.app;
    expect(started.warnings).toEqual([
      expect.stringContaining('@DPoPBound() routes (AgentsController.heartbeat) read cnf.jkt'),
    ]);
    expect((await sendForgedToken(app)).status).toBe(201);
  });
});
