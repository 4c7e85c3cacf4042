#!/usr/bin/env node
/**
 * Docs that run: every ```sh / ```bash block of README.md and docs/*.md, run to the letter
 * against a freshly started sample server, so that the documentation cannot rot.
 *
 * - Each markdown file gets its own server (`node dist/src/main.js`, memory store) on a free
 *   port, and its blocks run in order, one bash per block with `set -e -o pipefail`, sharing
 *   the shell variables and functions an earlier block of the same file defined (as in one
 *   terminal). `localhost:3000` / `127.0.0.1:3000` in a block mean that server's port: the only
 *   rewrite made.
 * - Blocks run in a fresh copy of the repository (dist/ included, node_modules hard-linked, so
 *   that even `npm ci` there leaves the original alone) with a temporary HOME.
 * - A block that must not run says so right before it, in the markdown:
 *   `<!-- docs-check: skip (why) -->`. Nothing is skipped silently.
 * - `curl` fails on an HTTP error status (it runs as `curl --fail-with-body`, so the body is
 *   still shown): a walk-through answered 409 or 401 has rotted even though curl exits 0. A block
 *   that shows a refusal on purpose says so: `<!-- docs-check: http-errors-ok (why) -->`.
 * - The server has `AGENT_KEYS=my-registration-key-123` (the key the docs use).
 * - `DOCS_CHECK_VERBOSE=1` prints every block's output, not only the failures'.
 *
 * Usage: scripts/node24.sh node scripts/docs-check.mjs [file.md …]   (needs `npm run build`)
 * Exit status 1 when any block failed; every block runs either way.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  statSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const AGENT_KEY = 'my-registration-key-123';
const BLOCK_TIMEOUT_MS = 180_000;
const MARKER = /^<!--\s*docs-check:\s*(skip|http-errors-ok)\b\s*(.*?)\s*-->$/;

/** The shell blocks of one markdown file, with the line they start on and any skip marker. */
export function extractBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let previous = '';
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) {
      if (lines[i].trim() !== '') previous = lines[i].trim();
      continue;
    }
    const [, indent, fence, info] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = lines[j].trim();
      if (close.length >= fence.length && close === fence[0].repeat(close.length)) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    if (info === 'sh' || info === 'bash') {
      const marker = MARKER.exec(previous);
      const reason = marker ? marker[2].replace(/^\((.*)\)$/, '$1') || 'no reason given' : '';
      blocks.push({
        line: i + 1,
        code: body.join('\n'),
        skip: marker?.[1] === 'skip' ? reason : undefined,
        httpErrorsOk: marker?.[1] === 'http-errors-ok',
      });
    }
    previous = '';
    i = j;
  }
  return blocks;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function startServer(port, home) {
  const log = [];
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    // HOST as the docs assume it (the default): a HOST in the caller's environment (some shells
    // set one to the machine's name) would move the server off 127.0.0.1, where it is probed.
    env: {
      ...process.env,
      HOME: home,
      HOST: '127.0.0.1',
      PORT: String(port),
      AGENT_KEYS: AGENT_KEY,
      REDIS_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) return { child, log };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`sample server did not start on port ${port}:\n${log.join('')}`);
}

function stopServer(server) {
  return new Promise((resolveStop) => {
    if (server.child.exitCode !== null) return resolveStop();
    server.child.once('exit', () => resolveStop());
    server.child.kill('SIGTERM');
    setTimeout(() => server.child.kill('SIGKILL'), 5000).unref();
  });
}

/**
 * A fresh copy of the repository where blocks may write anything: its files (tracked and
 * untracked, not ignored) and dist/ copied, node_modules hard-linked (so that a block's
 * `npm ci`, which deletes and reinstalls it, never touches the original).
 */
function makeWorkdir() {
  const dir = mkdtempSync(join(tmpdir(), 'docs-check-work-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT })
    .toString()
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(ROOT, file)));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
    chmodSync(join(dir, file), statSync(join(ROOT, file)).mode);
  }
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  execFileSync('cp', ['-al', join(ROOT, 'node_modules'), join(dir, 'node_modules')]);
  return dir;
}

/** Runs one block in bash, restoring the shell state of the file's earlier blocks first. */
function runBlock(code, { cwd, env, stateFile, httpErrorsOk }) {
  // Only what the blocks defined is carried over: variables absent from a pristine bash, and
  // functions. Read-only and special variables are left alone.
  const script = `
set -e -o pipefail
[ -f "$DOCS_CHECK_STATE" ] && source "$DOCS_CHECK_STATE"
__docs_check_save() {
  local v
  {
    for v in $(compgen -v); do
      case " $DOCS_CHECK_BASELINE " in *" $v "*) continue ;; esac
      case "$v" in __*|DOCS_CHECK_*|BASH*|FUNCNAME|PIPESTATUS|GROUPS|_) continue ;; esac
      declare -p "$v" 2>/dev/null || true
    done
    for v in $(compgen -A function); do
      case "$v" in __*|curl) continue ;; esac
      declare -f "$v"
    done
  } > "$DOCS_CHECK_STATE.next" 2>/dev/null
  mv "$DOCS_CHECK_STATE.next" "$DOCS_CHECK_STATE"
}
trap __docs_check_save EXIT
${httpErrorsOk ? '' : 'curl() { command curl --fail-with-body "$@"; }'}
${code}
`;
  return new Promise((resolveRun) => {
    // Its own process group, so that a timeout ends what the block started (a server, say).
    const child = spawn('bash', ['-c', script], {
      cwd,
      env: { ...env, DOCS_CHECK_STATE: stateFile },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[docs-check] timed out after ${BLOCK_TIMEOUT_MS / 1000} s`;
      killGroup(child.pid);
    }, BLOCK_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Whatever the block left running in the background goes with it.
      killGroup(child.pid);
      resolveRun({ status: code ?? 128, signal, output });
    });
  });
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function baselineVariables() {
  return new Promise((resolveBaseline) => {
    const child = spawn('bash', ['-c', 'compgen -v'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => resolveBaseline(out.split('\n').filter(Boolean).join(' ')));
  });
}

function markdownFiles(args) {
  if (args.length > 0) return args.map((file) => resolve(file));
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs];
}

async function main() {
  if (!existsSync(join(ROOT, 'dist/src/main.js'))) {
    console.error('docs-check: dist/ is missing; run `npm run build` first');
    process.exit(2);
  }
  const baseline = await baselineVariables();
  const totals = { ran: 0, failed: 0, skipped: 0 };
  const failures = [];
  for (const file of markdownFiles(process.argv.slice(2))) {
    const name = relative(ROOT, file);
    const blocks = extractBlocks(readFileSync(file, 'utf8'));
    if (blocks.length === 0) continue;
    const runnable = blocks.filter((b) => b.skip === undefined);
    const home = mkdtempSync(join(tmpdir(), 'docs-check-home-'));
    const cwd = makeWorkdir();
    const stateFile = join(cwd, '.docs-check-state');
    writeFileSync(stateFile, '');
    const port = await freePort();
    const server = runnable.length > 0 ? await startServer(port, home) : undefined;
    console.log(`${name}: ${blocks.length} blocks, server on port ${port}`);
    const env = {
      ...process.env,
      HOME: home,
      // The Node 24 that scripts/node24.sh fetched stays where it is (no second download).
      NODE24_HOME:
        process.env.NODE24_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache/nest-dpop/node24'),
      // So do Bun and Deno (scripts/runtime.sh, ~100 MB each).
      RUNTIMES_HOME:
        process.env.RUNTIMES_HOME ??
        join(process.env.HOME ?? tmpdir(), '.cache/nest-dpop/runtimes'),
      DOCS_CHECK_BASELINE: baseline,
      npm_config_update_notifier: 'false',
    };
    for (const key of Object.keys(env))
      if (key.startsWith('npm_') && key !== 'npm_config_update_notifier') delete env[key];
    try {
      for (const block of blocks) {
        const where = `${name}:${block.line}`;
        if (block.skip !== undefined) {
          totals.skipped++;
          console.log(`  skip ${where} (${block.skip})`);
          continue;
        }
        const code = block.code.replace(/\b(localhost|127\.0\.0\.1):3000\b/g, `$1:${port}`);
        const result = await runBlock(code, {
          cwd,
          env,
          stateFile,
          httpErrorsOk: block.httpErrorsOk,
        });
        totals.ran++;
        if (result.status === 0) {
          console.log(`  ok   ${where}`);
          if (process.env.DOCS_CHECK_VERBOSE === '1')
            console.log(`      ${result.output.trim().split('\n').join('\n      ')}`);
        } else {
          totals.failed++;
          const tail = result.output.trim().split('\n').slice(-12).join('\n      ');
          console.log(`  FAIL ${where} (exit ${result.status})\n      ${tail}`);
          failures.push(where);
        }
      }
    } finally {
      if (server !== undefined) await stopServer(server);
      rmSync(cwd, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  }
  console.log(
    `docs-check: ${totals.ran} blocks ran, ${totals.failed} failed, ${totals.skipped} skipped (marked)` +
      (failures.length > 0 ? `\n  failed: ${failures.join(', ')}` : ''),
  );
  process.exit(totals.failed > 0 ? 1 : 0);
}

if (basename(fileURLToPath(import.meta.url)) === basename(process.argv[1] ?? '')) {
  await main();
}
