import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import type { ServerSigningAlg } from '../config/signing-key.config.js';

/** The server's token signing key pair and its published form. */
@Injectable()
export class ServerKeyService {
  readonly alg: ServerSigningAlg;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** True when the key was generated at start-up (tokens die with the process). */
  readonly ephemeral: boolean;
  private readonly jwk: JsonWebKey;
  private kidPromise: Promise<string> | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.alg = config.signing.alg;
    this.privateKey = config.signing.privateKey;
    this.publicKey = createPublicKey(this.privateKey);
    this.ephemeral = config.signing.source === 'generated';
    this.jwk = this.publicKey.export({ format: 'jwk' });
  }

  /** The key id: the RFC 7638 thumbprint of the public key, stable across restarts for one key. */
  kid(): Promise<string> {
    this.kidPromise ??= calculateJwkThumbprint(this.jwk, 'sha256');
    return this.kidPromise;
  }

  /** The public key as a JWK for `/.well-known/jwks.json`. */
  async publicJwk(): Promise<JWK> {
    return { ...(this.jwk as JWK), kid: await this.kid(), alg: this.alg, use: 'sig' };
  }
}
