import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { readEnv, type Env } from './env.util.js';

/** Algorithms the server signs its own tokens with. */
export const SERVER_SIGNING_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

/** One of {@link SERVER_SIGNING_ALGORITHMS}. */
export type ServerSigningAlg = (typeof SERVER_SIGNING_ALGORITHMS)[number];

/** The server's token signing key, loaded (or generated) once at start-up. */
export interface SigningKeyConfig {
  readonly alg: ServerSigningAlg;
  readonly privateKey: KeyObject;
  /**
   * Where the key came from. `generated` means ephemeral: every token dies with the process, and
   * instances do not share keys (set `ARCP_SIGNING_KEY_FILE` for more than one instance).
   */
  readonly source: 'file' | 'env' | 'generated';
}

/** The algorithm a private key can sign with, or `undefined` for keys we do not use. */
function algorithmOf(key: KeyObject): ServerSigningAlg | undefined {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'EdDSA';
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
    case 'rsa':
      return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? 'RS256' : undefined;
    default:
      return undefined;
  }
}

/**
 * The public half of the signing key as a JWK with `kid` (its RFC 7638 thumbprint, stable across
 * restarts for one key), `alg` and `use`: what `/.well-known/jwks.json` publishes, and the local
 * key set the DPoP module verifies the app's tokens with.
 */
export async function publicSigningJwk(
  signing: SigningKeyConfig,
): Promise<JWK & { kty: string; kid: string }> {
  const jwk = createPublicKey(signing.privateKey).export({ format: 'jwk' }) as JWK & {
    kty: string;
  };
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg: signing.alg, use: 'sig' };
}

function generate(alg: ServerSigningAlg): KeyObject {
  switch (alg) {
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey;
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  }
}

function parsePem(pem: string, variable: string): KeyObject {
  try {
    // Env files often carry PEM on one line with literal "\n" escapes.
    return createPrivateKey(pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem);
  } catch (cause) {
    throw new Error(`${variable} must hold a PEM private key (PKCS#8, SEC1 or PKCS#1)`, { cause });
  }
}

/**
 * Reads `ARCP_SIGNING_KEY_FILE` (a path to a PEM private key) or `ARCP_SIGNING_KEY` (the PEM
 * itself) and `ARCP_SIGNING_ALG`. With neither key variable, a key for `ARCP_SIGNING_ALG`
 * (default EdDSA) is generated. A key whose type does not match `ARCP_SIGNING_ALG` is refused.
 */
export function readSigningKey(env: Env): SigningKeyConfig {
  const algRaw = readEnv(env, 'ARCP_SIGNING_ALG');
  if (algRaw !== undefined && !(SERVER_SIGNING_ALGORITHMS as readonly string[]).includes(algRaw)) {
    throw new Error(
      `ARCP_SIGNING_ALG must be one of ${SERVER_SIGNING_ALGORITHMS.join(', ')}, got "${algRaw}"`,
    );
  }
  const wanted = algRaw as ServerSigningAlg | undefined;
  const file = readEnv(env, 'ARCP_SIGNING_KEY_FILE');
  const inline = readEnv(env, 'ARCP_SIGNING_KEY');
  if (file !== undefined && inline !== undefined) {
    throw new Error('Set only one of ARCP_SIGNING_KEY_FILE and ARCP_SIGNING_KEY');
  }
  if (file === undefined && inline === undefined) {
    const alg = wanted ?? 'EdDSA';
    return { alg, privateKey: generate(alg), source: 'generated' };
  }

  let variable: string;
  let pem: string;
  if (file !== undefined) {
    variable = 'ARCP_SIGNING_KEY_FILE';
    try {
      pem = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new Error(`ARCP_SIGNING_KEY_FILE: cannot read "${file}"`, { cause });
    }
  } else {
    variable = 'ARCP_SIGNING_KEY';
    pem = inline!;
  }
  const privateKey = parsePem(pem, variable);
  const alg = algorithmOf(privateKey);
  if (alg === undefined) {
    throw new Error(`${variable} must be an Ed25519, P-256 or RSA (2048 bits or more) private key`);
  }
  if (wanted !== undefined && wanted !== alg) {
    throw new Error(`ARCP_SIGNING_ALG is ${wanted} but the key in ${variable} is for ${alg}`);
  }
  return { alg, privateKey, source: file !== undefined ? 'file' : 'env' };
}
