import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpCode, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  DPoPBound,
  DPoPGuard,
  DPoPModule,
  DPoPNonceIssuer,
  DPoPProofVerifier,
  DPoPTokenEndpoint,
  InMemoryJtiStore,
  JKT,
} from 'nest-dpop';
// A JWT-shaped token bound to a jkt: the guard reads `cnf.jkt` (an app's own auth verifies it).
import { accessToken } from '../dpop-guard/guard-test.app.js';
import type { RuntimeReport } from './runtime-agent.js';

/**
 * The client core (libs/dpop-client/src/index.ts) outside Node (issue 22 item 2): bundled with
 * esbuild (ESM, platform neutral) and run by the real Bun and Deno binaries, from the npm
 * registry through scripts/runtime.sh. Each signs with its own non-extractable WebCrypto key
 * (ES256 and EdDSA), answers a `use_dpop_nonce` challenge, gets a bound token and calls a
 * `@DPoPBound()` route of a real Nest app over real HTTP; every proof it sent is then checked
 * again with the library's verifier, and its proof for the wrong `htu` is refused.
 *
 * In CI (`CI=true`) a runtime that cannot be installed fails its test; elsewhere it is skipped
 * with a warning (.ci/run installs both beforehand).
 */

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENT = fileURLToPath(new URL('./runtime-agent.ts', import.meta.url));
const RUNTIMES = ['bun', 'deno'] as const;
type Runtime = (typeof RUNTIMES)[number];
const ALGORITHMS = ['ES256', 'EdDSA'] as const;
const IN_CI = process.env.CI === 'true';

/** Each runtime's binary, or why it could not be installed (a cache hit once .ci/run ran). */
const installed = new Map<Runtime, { bin: string } | { error: string }>(
  await Promise.all(
    RUNTIMES.map(async (name) => {
      try {
        const { stdout } = await exec(join(ROOT, 'scripts/runtime.sh'), ['--print-path', name], {
          timeout: 300_000,
        });
        return [name, { bin: stdout.trim() }] as const;
      } catch (error) {
        return [name, { error: String((error as { stderr?: string }).stderr || error) }] as const;
      }
    }),
  ),
);

@Controller('rt')
@UseGuards(DPoPGuard)
class RuntimeController {
  @DPoPTokenEndpoint()
  @Post('token')
  @HttpCode(200)
  token(@JKT() jkt: string): Record<string, unknown> {
    return { access_token: accessToken(jkt), token_type: 'DPoP', jkt };
  }

  @DPoPBound()
  @Get('me')
  me(@JKT() jkt: string): { jkt: string } {
    return { jkt };
  }
}

/** One request the app answered, as it arrived. */
interface Seen {
  method: string;
  path: string;
  status: number;
  proof: string;
  authorization: string | undefined;
  wwwAuthenticate: string | undefined;
}

const secret = randomBytes(32);
const seen: Seen[] = [];
let app: INestApplication;
let baseUrl: string;
let workDir: string;
let bundle: string;

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DPoPModule.forRoot({ required: true, nonce: { secret }, algorithms: [...ALGORITHMS] }),
    ],
    controllers: [RuntimeController],
  }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  (app.getHttpServer() as Server).on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.on('finish', () =>
      seen.push({
        method: req.method!,
        path: req.url!,
        status: res.statusCode,
        proof: String(req.headers.dpop ?? ''),
        authorization: req.headers.authorization,
        wwwAuthenticate: res.getHeader('WWW-Authenticate') as string | undefined,
      }),
    );
  });

  workDir = await mkdtemp(join(tmpdir(), 'dpop-runtimes-'));
  bundle = join(workDir, 'agent.mjs');
  await build({
    entryPoints: [AGENT],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await app?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

it('bundles the core for a neutral platform with no node: import', async () => {
  const code = await readFile(bundle, 'utf8');
  expect(code).toContain('DPoPGenerator');
  expect(code).not.toMatch(/\bfrom\s*["']node:|\bimport\(\s*["']node:|require\(/);
});

/** Runs the bundled agent with the runtime's binary; its one line of JSON. */
async function runAgent(name: Runtime, bin: string): Promise<RuntimeReport> {
  const args =
    name === 'deno'
      ? ['run', '--no-prompt', '--no-config', '--allow-net=127.0.0.1', bundle, baseUrl]
      : [bundle, baseUrl];
  const { stdout } = await exec(bin, args, {
    cwd: workDir,
    timeout: 30_000,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as RuntimeReport;
}

describe.each(RUNTIMES)('the client core under %s', (name) => {
  const found = installed.get(name)!;
  if ('error' in found && !IN_CI) {
    console.warn(
      `\n!!! ${name} could not be installed from the npm registry: its runtime test is SKIPPED here (in CI it fails).\n${found.error}\n`,
    );
    it.skip(`${name} is not installed`, () => undefined);
    return;
  }

  it('signs with non-extractable ES256 and EdDSA keys, answers the nonce challenge and calls the bound route', async () => {
    if ('error' in found) throw new Error(`${name} could not be installed: ${found.error}`);
    seen.length = 0;
    const report = await runAgent(name, found.bin);

    expect(report.runtime).toBe(name);
    expect(report.version).toMatch(/^\d+\.\d+\.\d+/);
    // Both runtimes offer Ed25519 in WebCrypto: a version that drops it must be noticed.
    expect(report.unsupported).toEqual([]);
    expect(report.results.map((r) => r.alg)).toEqual([...ALGORITHMS]);

    for (const [i, result] of report.results.entries()) {
      expect(result.extractable).toBe(false);
      expect(result.jkt).toMatch(/^[\w-]{43}$/);
      expect(result.token).toEqual({
        status: 200,
        body: { access_token: accessToken(result.jkt), token_type: 'DPoP', jkt: result.jkt },
      });
      expect(result.bound).toEqual({ status: 200, body: { jkt: result.jkt } });
      // The wrong-htu proof carries the current nonce and the token: only its htu is wrong.
      expect(result.nonce).toEqual(expect.any(String));
      expect(result.wrongHtu.status).toBe(401);
      expect(result.wrongHtu.wwwAuthenticate).toMatch(/^DPoP error="invalid_dpop_proof"/);

      // What the server saw: one nonce challenge (the token endpoint's 400), the retry with the
      // nonce, the bound route with the stored nonce at once, and the wrong htu refused.
      const requests = seen.slice(i * 4, i * 4 + 4);
      expect(requests.map((r) => [r.method, r.path, r.status])).toEqual([
        ['POST', '/rt/token', 400],
        ['POST', '/rt/token', 200],
        ['GET', '/rt/me', 200],
        ['GET', '/rt/me', 401],
      ]);
      await verifyAgain(requests, result.jkt, result.alg);
    }
    expect(seen).toHaveLength(4 * ALGORITHMS.length);
  });
});

/**
 * Checks the runtime's proofs again, away from the guard, with the library's verifier and a
 * nonce issuer sharing the app's secret: the accepted ones verify (nonce, ath and key binding
 * included); the first (no nonce yet) and the wrong-htu one do not.
 */
async function verifyAgain(requests: Seen[], jkt: string, alg: string): Promise<void> {
  const verifier = new DPoPProofVerifier(new InMemoryJtiStore(), {
    algorithms: [...ALGORITHMS],
    nonces: new DPoPNonceIssuer({ secret }),
  });
  const input = (r: Seen) => {
    const token = r.authorization?.replace(/^DPoP /, '');
    return {
      proof: r.proof,
      method: r.method,
      url: `${baseUrl}${r.path}`,
      ...(token !== undefined && { accessToken: token, expectedJkt: jkt }),
    };
  };
  const [challenged, retried, bound, wrongHtu] = requests as [Seen, Seen, Seen, Seen];
  await expect(verifier.verify(input(challenged))).rejects.toMatchObject({
    code: 'ERR_DPOP_USE_NONCE',
  });
  for (const r of [retried, bound]) {
    await expect(verifier.verify(input(r))).resolves.toMatchObject({
      alg,
      jkt,
      htm: r.method,
      htu: `${baseUrl}${r.path}`,
      nonce: expect.any(String),
    });
  }
  await expect(verifier.verify(input(wrongHtu))).rejects.toMatchObject({
    code: 'ERR_DPOP_HTU_MISMATCH',
  });
}
