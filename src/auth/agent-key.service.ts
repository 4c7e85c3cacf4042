import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks agent registration keys (`AGENT_KEYS`) in constant time. Every configured key is
 * compared, whatever matched earlier, and over SHA-256 digests so that the lengths compared are
 * always equal: the time taken says nothing about which key, or how much of one, was right.
 * (ARCP padded to 64 characters and only ever looked at the first 8 keys.)
 */
@Injectable()
export class AgentKeyService {
  private readonly digests: readonly Buffer[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.digests = config.agentKeys.map(digest);
  }

  isValid(candidate: string): boolean {
    const presented = digest(candidate);
    let matched = 0;
    for (const known of this.digests) {
      // Bitwise OR, not `||`: no short-circuit, so every key costs the same.
      matched |= timingSafeEqual(presented, known) ? 1 : 0;
    }
    return matched === 1;
  }
}
