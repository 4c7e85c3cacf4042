import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import type { INestApplication } from '@nestjs/common';
import { dpopCors } from 'nest-dpop/cors';
import { chromium, type BrowserContext } from 'playwright-core';
import { startGuardApp, type TestPlatform } from '../dpop-guard/guard-test.app.js';
import type { FetchResult, PageRequest, PageResult } from './page/arcp-page.js';
import {
  bundlePageScript,
  headerNames,
  servePage,
  startApp,
  startPlainApp,
  type App,
  type Exchange,
  type PageServer,
} from './browser.helpers.js';

/**
 * The WebCrypto core in a real browser (issue 22, items 2 and 3): Debian's Chromium, driven by
 * playwright-core, loads a page from one loopback origin whose script (the client core and the
 * ARCP client, bundled by esbuild for the browser) makes a non-extractable ES256 key and
 * registers an agent with the sample app on another origin, nonces required: the app's first
 * answer is use_dpop_nonce, which the page can answer only if CORS (dpopCors, through
 * ARCP_CORS_ORIGINS) lets it send DPoP and Authorization and read DPoP-Nonce. Then the negative
 * cases: a page on an origin the app does not list, and an app whose CORS exposes nothing.
 * Last, docs/library.md's four CORS lines (Nest's enableCors on Express and on Fastify, the
 * `cors` package and `@fastify/cors` without Nest), each with a nonce retry from the page.
 *
 * `.ci/run` installs Debian's `chromium`; without it this suite fails in CI and is skipped,
 * loudly, elsewhere. CHROMIUM_PATH names another binary.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium), needed in CI`);
}
if (!haveChromium) {
  console.warn(
    `\n*** test/browser SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`,
  );
}
const describeIfChromium = haveChromium ? describe : describe.skip;

const AGENT_KEY = 'browser-agent-key-0123456789';
const NONCE_SECRET = 'browser-test-nonce-secret-0123456789abcdef';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
let counter = 0;
const newAgentId = (): string => `browser-agent-${process.pid}-${counter++}`;

describeIfChromium('a page in Chromium, across origins, against the sample app', () => {
  let profile: string;
  let browser: BrowserContext;
  let inputs: string[];
  let listed: PageServer; // the origin ARCP_CORS_ORIGINS names
  let unlisted: PageServer; // another origin
  let app: App; // nonces required, CORS for `listed` (dpopCors)
  let unexposed: App; // CORS that allows DPoP and Authorization but exposes no header

  beforeAll(async () => {
    const bundle = await bundlePageScript();
    inputs = bundle.inputs;
    listed = await servePage(bundle.code);
    unlisted = await servePage(bundle.code);
    app = await startApp({
      AGENT_KEYS: AGENT_KEY,
      DPOP_NONCE_REQUIRED: 'true',
      ARCP_CORS_ORIGINS: listed.origin,
    });
    unexposed = await startApp(
      { AGENT_KEYS: AGENT_KEY, DPOP_NONCE_REQUIRED: 'true' },
      { origin: [listed.origin], allowedHeaders: ['Authorization', 'DPoP', 'Content-Type'] },
    );
    // A new profile for each run: no cached preflight, no stored state from an earlier run.
    profile = await mkdtemp(join(tmpdir(), 'nest-dpop-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([listed?.close(), unlisted?.close(), app?.close(), unexposed?.close()]);
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  }, 60_000);

  /** Opens the page at `page.origin` and calls one of its script's functions with `arg`. */
  async function callIn<T>(page: PageServer, fn: 'runArcp' | 'runFetch', arg: unknown): Promise<T> {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    try {
      await tab.goto(`${page.origin}/`);
      await tab.waitForFunction(`typeof globalThis.${fn} === "function"`, undefined, {
        timeout: 20_000,
      });
      // A string, not a function: nothing of this file's transpiled code goes into the page.
      const result = await tab.evaluate<T>(`${fn}(${JSON.stringify(arg)})`);
      expect(errors).toEqual([]);
      return result;
    } finally {
      await tab.close();
    }
  }

  /** Runs the ARCP flow from the page at `page.origin` against `api`. */
  async function runFrom(page: PageServer, api: App): Promise<PageResult & PageRequest> {
    const request: PageRequest = { baseUrl: api.url, agentKey: AGENT_KEY, agentId: newAgentId() };
    return { ...request, ...(await callIn<PageResult>(page, 'runArcp', request)) };
  }

  const fromOrigin = (api: App, origin: string): Exchange[] =>
    api.exchanges.filter((e) => e.origin === origin);

  it('bundles the core for the browser from its sources, without the node subpath', () => {
    const client = inputs.filter((path) => path.includes('libs/dpop-client/src/'));
    expect(client).toContain('libs/dpop-client/src/index.ts');
    expect(client).toContain('libs/dpop-client/src/arcp/index.ts');
    expect(client.filter((path) => /\/(node|keys|cli)\//.test(path))).toEqual([]);
    expect(
      inputs.filter((path) => path.startsWith('node:') || path.includes('node_modules')),
    ).toEqual([]);
  });

  it('registers with a non-extractable key, answers use_dpop_nonce, and calls a bound route', async () => {
    const run = await runFrom(listed, app);
    expect(run.failure).toBeUndefined();

    // The key: made by the browser's WebCrypto, the private half unreadable by any script.
    expect(run.key).toMatchObject({ algorithm: 'ES256', extractable: false });
    expect(run.key.exportRefused).toMatch(/^InvalidAccessError: /);

    // The nonce retries, as the page saw them: the token route's 400 (RFC 9449 §8) and the
    // bound route's 401 (§9), each with a DPoP-Nonce the script could read, each repeated once.
    const challenges = run.seen.filter((s) => s.error === 'use_dpop_nonce');
    expect(challenges.map((s) => [s.path, s.status])).toEqual([
      ['/auth/agent/request_temp_token', 400],
      [`/agents/${run.agentId}/heartbeat`, 401],
    ]);
    for (const challenge of challenges) expect(challenge.dpopNonce).toMatch(/^\S+$/);
    expect(challenges[1]!.wwwAuthenticate).toMatch(/^DPoP error="use_dpop_nonce"/);
    expect(run.seen.filter((s) => s.path === '/auth/agent/request_temp_token')).toHaveLength(2);
    expect(run.seen.every((s) => s.rejected === undefined)).toBe(true);

    // Tokens bound to the page's key, and the bound route open to it.
    expect(run.tokenTypes).toEqual(['DPoP', 'DPoP', 'DPoP']);
    expect(decodeJwt(run.accessToken!).cnf).toEqual({ jkt: run.key.jkt });
    expect(run.heartbeat).toEqual({
      status: 200,
      body: expect.objectContaining({ agent_id: run.agentId, status: 'alive' }),
    });
    expect(run.heartbeatAgain).toEqual({ status: 200 });

    // What crossed the wire, from the app's side: preflights asked for DPoP and Authorization
    // and were granted them; every answer exposed DPoP-Nonce and WWW-Authenticate.
    const seen = fromOrigin(app, listed.origin);
    const preflights = seen.filter((e) => e.method === 'OPTIONS');
    const heartbeatPreflight = preflights.find((e) => e.path.endsWith('/heartbeat'));
    expect(
      headerNames(heartbeatPreflight?.requestHeaders['access-control-request-headers']),
    ).toEqual(expect.arrayContaining(['authorization', 'dpop']));
    for (const preflight of preflights) {
      expect(preflight.status).toBe(204);
      expect(preflight.responseHeaders['access-control-allow-origin']).toBe(listed.origin);
      expect(headerNames(preflight.responseHeaders['access-control-allow-headers'])).toEqual(
        expect.arrayContaining(['authorization', 'dpop']),
      );
    }
    const answers = seen.filter((e) => e.method !== 'OPTIONS');
    expect(answers.length).toBeGreaterThanOrEqual(7);
    for (const answer of answers) {
      expect(headerNames(answer.responseHeaders['access-control-expose-headers'])).toEqual(
        expect.arrayContaining(['dpop-nonce', 'www-authenticate']),
      );
    }
  });

  it('cannot even send a proof from an origin ARCP_CORS_ORIGINS does not list', async () => {
    const run = await runFrom(unlisted, app);
    // fetch rejects with the browser's CORS TypeError; the client reports a network failure.
    expect(run.failure).toMatchObject({
      code: 'ERR_ARCP_NETWORK',
      cause: 'TypeError: Failed to fetch',
    });
    expect(run.seen).toEqual([
      {
        method: 'POST',
        path: '/auth/agent/request_temp_token',
        rejected: 'TypeError: Failed to fetch',
      },
    ]);
    expect(run.tokenTypes).toBeUndefined();
    // The app was asked only by a preflight, and granted nothing: the POST never left.
    const seen = fromOrigin(app, unlisted.origin);
    expect(seen.map((e) => e.method)).toEqual(['OPTIONS']);
    expect(seen[0]!.responseHeaders['access-control-allow-origin']).toBeUndefined();
  });

  it('cannot read the nonce when the CORS settings expose no DPoP-Nonce', async () => {
    const run = await runFrom(listed, unexposed);
    // The challenge arrives and its JSON body is readable, but not the header with the nonce:
    // no retry is possible, and the flow ends at the first refusal.
    expect(run.failure).toMatchObject({ status: 400 });
    expect(run.seen).toEqual([
      expect.objectContaining({
        path: '/auth/agent/request_temp_token',
        status: 400,
        error: 'use_dpop_nonce',
        dpopNonce: null,
      }),
    ]);
    // The app did send a nonce: only the browser withheld it from the script.
    const post = fromOrigin(unexposed, listed.origin).filter((e) => e.method === 'POST');
    expect(post).toHaveLength(1);
    expect(post[0]!.responseHeaders['dpop-nonce']).toEqual(expect.any(String));
    expect(post[0]!.responseHeaders['access-control-expose-headers']).toBeUndefined();
  });

  // The library's documented line, `app.enableCors(dpopCors([...]))`, on both Nest adapters: the
  // Express one hands the settings to the `cors` package, the Fastify one to `@fastify/cors`.
  describe.each<TestPlatform>(['express', 'fastify'])(
    'a Nest app on %s with app.enableCors(dpopCors([origin])), nonces required',
    (platform) => {
      let api: { app: INestApplication; base: string };
      beforeAll(async () => {
        api = await startGuardApp({ nonce: { secret: NONCE_SECRET } }, platform, (app) =>
          app.enableCors(dpopCors([listed.origin])),
        );
      });
      afterAll(async () => {
        await api?.app.close();
      });

      it('lets a page on the listed origin read the nonce, retry, and get through', async () => {
        const run = await callIn<FetchResult>(listed, 'runFetch', { url: `${api.base}/items` });
        expect(run.failure).toBeUndefined();
        expect(run.key.extractable).toBe(false);
        expect(run.seen.map((s) => [s.status, s.error])).toEqual([
          [401, 'use_dpop_nonce'],
          [200, undefined],
        ]);
        expect(run.seen[0]!.dpopNonce).toMatch(/^\S+$/);
        expect(run.seen[0]!.wwwAuthenticate).toMatch(/^DPoP error="use_dpop_nonce"/);
        expect(run.answer).toEqual({
          status: 200,
          body: { jkt: run.key.jkt, property: expect.any(String) },
        });
      });

      it('keeps a page on another origin out', async () => {
        const run = await callIn<FetchResult>(unlisted, 'runFetch', { url: `${api.base}/items` });
        expect(run.failure).toMatchObject({ name: 'TypeError', message: 'Failed to fetch' });
        expect(run.seen).toEqual([
          { method: 'POST', path: '/items', rejected: 'TypeError: Failed to fetch' },
        ]);
      });
    },
  );

  // docs/library.md's lines without Nest: `app.use(cors(dpopCors([...])))` in Express and
  // `fastify.register(fastifyCors, dpopCors([...]))`, before docs/without-nest.md's middleware
  // and hook (after them, the page's requests fail: a preflight carries no proof).
  describe.each(['express', 'fastify'] as const)(
    'a plain %s app with dpopCors and the without-Nest DPoP check, nonces required',
    (platform) => {
      let api: { base: string; close(): Promise<void> };
      beforeAll(async () => {
        api = await startPlainApp(platform, listed.origin, NONCE_SECRET);
      });
      afterAll(async () => {
        await api?.close();
      });

      it('lets a page on the listed origin read the nonce, retry, and get through', async () => {
        const run = await callIn<FetchResult>(listed, 'runFetch', { url: `${api.base}/items` });
        expect(run.failure).toBeUndefined();
        expect(run.seen.map((s) => [s.status, s.error])).toEqual([
          [401, 'use_dpop_nonce'],
          [200, undefined],
        ]);
        expect(run.seen[0]!.dpopNonce).toMatch(/^\S+$/);
        expect(run.answer).toEqual({ status: 200, body: { jkt: run.key.jkt } });
      });

      it('keeps a page on another origin out', async () => {
        const run = await callIn<FetchResult>(unlisted, 'runFetch', { url: `${api.base}/items` });
        expect(run.seen).toEqual([
          { method: 'POST', path: '/items', rejected: 'TypeError: Failed to fetch' },
        ]);
      });
    },
  );
});
