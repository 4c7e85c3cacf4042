import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { dpopBinding } from 'nest-dpop';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { ServerKeyService } from './server-key.service.js';
import {
  TOKEN_AUDIENCE,
  type AgentTokenClaims,
  type IssuedToken,
  type TokenKind,
} from './token.types.js';

/** What a token is issued for. */
export interface TokenSubject {
  agentId: string;
  agentType: string;
  /** The key to bind the token to (`cnf.jkt`); only ever from a verified DPoP proof. */
  jkt?: string;
  validationId?: string;
  /** Access tokens: the registration they authorize (`registration_id`). */
  registrationId?: string;
  /** Latest `exp` allowed, in ms: a validated token must not outlive its validation. */
  notAfter?: number;
}

/** Why a token was refused; the guard maps it to a problem. */
export class TokenRejectedError extends Error {
  constructor(
    readonly reason: 'expired' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

const KINDS: readonly string[] = ['temp', 'validated', 'access'];

function isClaims(payload: object): payload is AgentTokenClaims {
  const p = payload as Record<string, unknown>;
  const cnf = p.cnf as { jkt?: unknown } | undefined;
  return (
    typeof p.sub === 'string' &&
    typeof p.aud === 'string' &&
    typeof p.agent_id === 'string' &&
    typeof p.agent_type === 'string' &&
    typeof p.token_type === 'string' &&
    KINDS.includes(p.token_type) &&
    typeof p.jti === 'string' &&
    typeof p.iat === 'number' &&
    typeof p.exp === 'number' &&
    (cnf === undefined ||
      (typeof cnf === 'object' && cnf !== null && typeof cnf.jkt === 'string')) &&
    (p.validation_id === undefined || typeof p.validation_id === 'string') &&
    (p.registration_id === undefined || typeof p.registration_id === 'string')
  );
}

/**
 * Issues the server's JWTs with `jose`, signed by the server key. Verification is the DPoP
 * module's (its `accessToken` option, with this key as the local key set: signature, `alg`, `iss`,
 * `exp`, and an `aud` of one of the three kinds), once per token; {@link claimsOf} then checks
 * the shape ARCP needs. {@link verify} does it all here, for when the DPoP guard is off
 * (`DPOP_ENABLED=false`). Which kind a route takes is the caller's business, because a genuine
 * token of the wrong kind is a 403, not a 401.
 */
@Injectable()
export class TokenService {
  private readonly ttl: AppConfig['tokenTtl'];
  private readonly issuer: string;
  private readonly leeway: number;

  constructor(
    private readonly keys: ServerKeyService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.ttl = config.tokenTtl;
    this.issuer = config.issuer;
    this.leeway = config.tokenLeeway;
  }

  async issue(kind: TokenKind, subject: TokenSubject): Promise<IssuedToken> {
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    let exp = iat + this.ttl[kind];
    if (subject.notAfter !== undefined) exp = Math.min(exp, Math.floor(subject.notAfter / 1000));
    const claims: AgentTokenClaims = {
      iss: this.issuer,
      sub: subject.agentId,
      aud: TOKEN_AUDIENCE[kind],
      agent_id: subject.agentId,
      agent_type: subject.agentType,
      token_type: kind,
      jti: randomUUID(),
      iat,
      exp,
      ...(subject.validationId !== undefined && { validation_id: subject.validationId }),
      ...(subject.registrationId !== undefined && { registration_id: subject.registrationId }),
      // cnf.jkt: bound to the key of the proof the guard verified (RFC 9449 §6.1).
      ...(subject.jkt !== undefined && dpopBinding(subject.jkt)),
    };
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: this.keys.alg, typ: 'JWT', kid: await this.keys.kid() })
      .sign(this.keys.privateKey);
    return {
      token,
      tokenType: subject.jkt !== undefined ? 'DPoP' : 'Bearer',
      expiresIn: Math.max(0, exp - Math.floor(now / 1000)),
      claims,
    };
  }

  /**
   * Verifies a token here, signature and all (only with the DPoP guard off).
   * @throws {TokenRejectedError} when the token is not ours, was altered or has expired.
   */
  async verify(token: string): Promise<AgentTokenClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: [this.keys.alg],
        issuer: this.issuer,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        clockTolerance: this.leeway,
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        throw new TokenRejectedError('expired', 'Token has expired');
      }
      throw new TokenRejectedError('invalid', 'Token is invalid or expired');
    }
    return this.claimsOf(payload);
  }

  /**
   * The claims of a token whose signature, issuer and expiry were verified, if it has the shape
   * of the tokens this server issues.
   * @throws {TokenRejectedError} when it does not
   */
  claimsOf(payload: object): AgentTokenClaims {
    if (!isClaims(payload)) throw new TokenRejectedError('invalid', 'Token is invalid or expired');
    return payload;
  }
}
