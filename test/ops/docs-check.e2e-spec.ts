import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;

beforeAll(() => {
  // The runner starts the built sample server.
  if (!existsSync(join(ROOT, 'dist/src/main.js'))) {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }
  dir = mkdtempSync(join(tmpdir(), 'docs-check-spec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(markdown: string) {
  const file = join(dir, `doc-${Math.random().toString(36).slice(2)}.md`);
  writeFileSync(file, markdown);
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts/docs-check.mjs'), file], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: run.status, out: run.stdout + run.stderr };
}

const fence = (info: string, code: string) => `\`\`\`${info}\n${code}\n\`\`\`\n`;

describe('scripts/docs-check.mjs', () => {
  it('runs sh/bash blocks in order against a live server, keeping shell state between them', () => {
    const { status, out } = check(
      [
        '# Doc',
        fence('sh', 'BASE=http://localhost:3000\ngreet() { echo "hi $1"; }'),
        fence('bash', 'curl -s $BASE/health | grep -q healthy\ngreet there'),
        fence('ts', 'this is not run'),
        fence('', 'neither is this'),
      ].join('\n'),
    );
    expect(out).toContain('2 blocks ran, 0 failed, 0 skipped');
    expect(status).toBe(0);
  });

  it('fails on a non-zero exit and on an HTTP error status, and names the block', () => {
    const { status, out } = check(
      [
        '# Doc',
        fence('sh', 'false'),
        '',
        fence('sh', 'curl -s http://localhost:3000/nowhere'),
      ].join('\n'),
    );
    expect(status).toBe(1);
    expect(out).toMatch(/FAIL \S+\.md:2 \(exit 1\)/);
    expect(out).toMatch(/FAIL \S+\.md:7 \(exit 22\)/);
    expect(out).toContain('2 blocks ran, 2 failed');
  });

  it('skips only blocks marked right before them, and lets marked blocks show HTTP errors', () => {
    const { status, out } = check(
      [
        '<!-- docs-check: skip (starts a server) -->',
        fence('sh', 'npm start'),
        '<!-- docs-check: http-errors-ok (shows the refusal) -->',
        fence('sh', 'curl -s http://localhost:3000/agents/x'),
      ].join('\n'),
    );
    expect(out).toMatch(/skip \S+\.md:2 \(starts a server\)/);
    expect(out).toContain('1 blocks ran, 0 failed, 1 skipped');
    expect(status).toBe(0);
  });
});
