import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem, type } from 'node:os';
import { benchRedis, redactedRedisUrl } from './redis-url.js';

/** What the numbers were measured on. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly redis: string;
  /** Where that Redis is (`REDIS_URL` without its password). */
  readonly redisUrl: string;
}

/** The CPU model as `/proc/cpuinfo` names it (`os.cpus()` elsewhere). */
function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1]!.trim();
  } catch {
    // Not Linux: fall through.
  }
  return cpus()[0]?.model ?? 'unknown';
}

async function redisVersion(): Promise<string> {
  const redis = benchRedis({ lazyConnect: true });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

/** Describes this machine, the Node.js running the benchmark and the local Redis. */
export async function describeMachine(): Promise<MachineInfo> {
  return {
    cpu: cpuModel(),
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    redis: await redisVersion(),
    redisUrl: redactedRedisUrl(),
  };
}
