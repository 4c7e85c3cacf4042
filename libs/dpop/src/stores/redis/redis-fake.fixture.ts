import { createHash } from 'node:crypto';

/**
 * FOR SPECS. A single Redis as `RedisJtiStore` uses it, in memory: GET/SET, INFO, a clock of its
 * own (`TIME`), and the history scripts with a script cache that {@link FakeRedis.restart}
 * empties, so that `EVALSHA` answers `NOSCRIPT` as a restarted server does. The scripts'
 * behaviour is written again here from their documented contract (`redis-record.script.ts`);
 * the real-Redis suites in `test/redis` check the Lua itself.
 */
export class FakeRedis {
  status = 'ready';
  readonly isCluster = false;
  readonly options = { host: 'fake', port: 1 };
  readonly data = new Map<string, string>();
  /** Redis' own clock, in ms. */
  time = 1_800_000_000_000;
  runId = 'aaaa';
  evicted = 0;
  policy = 'noeviction';
  maxmemory = 0;
  /** Commands sent, by name. */
  readonly calls: string[] = [];
  private readonly scripts = new Map<string, string>();

  /** A restart from a snapshot: the data stays, the script cache and run_id do not. */
  restart(): void {
    this.scripts.clear();
    this.runId = this.runId === 'aaaa' ? 'bbbb' : 'aaaa';
  }

  connect(): Promise<void> {
    return Promise.resolve();
  }
  on(): void {}
  off(): void {}

  info(): Promise<string> {
    this.calls.push('info');
    return Promise.resolve(
      `run_id:${this.runId}\r\nevicted_keys:${this.evicted}\r\n` +
        `maxmemory:${this.maxmemory}\r\nmaxmemory_policy:${this.policy}\r\n`,
    );
  }

  get(key: string): Promise<string | null> {
    this.calls.push('get');
    return Promise.resolve(this.data.get(key) ?? null);
  }

  set(key: string, value: string, ...flags: (string | number)[]): Promise<'OK' | null> {
    this.calls.push('set');
    if (flags.includes('NX') && this.data.has(key)) return Promise.resolve(null);
    this.data.set(key, value);
    return Promise.resolve('OK');
  }

  eval(script: string, _keys: number, ...args: (string | number)[]): Promise<unknown> {
    this.calls.push('eval');
    this.scripts.set(createHash('sha1').update(script).digest('hex'), script);
    return Promise.resolve(this.run(script, args.map(String)));
  }

  evalsha(sha: string, _keys: number, ...args: (string | number)[]): Promise<unknown> {
    this.calls.push('evalsha');
    const script = this.scripts.get(sha);
    if (script === undefined) {
      return Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    }
    return Promise.resolve(this.run(script, args.map(String)));
  }

  private run(script: string, args: string[]): unknown {
    const seconds = String(Math.floor(this.time / 1000));
    const micros = String((this.time % 1000) * 1000);
    const id = /^local e = '([^']*)\.'/.exec(script)?.[1];
    if (id === undefined) {
      // The read script: KEYS[1] is the marker.
      return [this.data.get(args[0]!) ?? '', seconds, micros];
    }
    const [key = '', markerKey = '', mode, expected, signature, lossAt] = args;
    const marker = this.data.get(markerKey);
    const ours = marker !== undefined && marker.startsWith(`${id}.`);
    if (mode === 'b') {
      if ((marker ?? '') !== expected) return [0, marker ?? '', seconds, micros];
      const value = `${id}.${signature}.${lossAt ?? this.time}`;
      this.data.set(markerKey, value);
      return [1, value, seconds, micros];
    }
    if (mode === 'c') return [ours ? 1 : 0, marker ?? '', seconds, micros];
    const recorded = this.data.has(key) ? 0 : 1;
    if (recorded === 1) this.data.set(key, '1');
    return ours ? recorded : [recorded, marker ?? '', seconds, micros];
  }
}
