import { createPublicKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { JWK } from 'jose';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import {
  publicSigningJwk,
  type ServerSigningAlg,
  type SigningKeyConfig,
} from '../config/signing-key.config.js';

/** The server's token signing key pair and its published form. */
@Injectable()
export class ServerKeyService {
  readonly alg: ServerSigningAlg;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** True when the key was generated at start-up (tokens die with the process). */
  readonly ephemeral: boolean;
  private readonly signing: SigningKeyConfig;
  private jwkPromise: Promise<JWK & { kid: string }> | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.signing = config.signing;
    this.alg = config.signing.alg;
    this.privateKey = config.signing.privateKey;
    this.publicKey = createPublicKey(this.privateKey);
    this.ephemeral = config.signing.source === 'generated';
  }

  /** The key id: the RFC 7638 thumbprint of the public key, stable across restarts for one key. */
  async kid(): Promise<string> {
    return (await this.publicJwk()).kid;
  }

  /** The public key as a JWK for `/.well-known/jwks.json`. */
  publicJwk(): Promise<JWK & { kid: string }> {
    this.jwkPromise ??= publicSigningJwk(this.signing);
    return this.jwkPromise.then((jwk) => ({ ...jwk }));
  }
}
