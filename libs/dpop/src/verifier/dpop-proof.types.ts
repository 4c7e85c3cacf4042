import type { DPoPAlgorithm } from '../options/dpop.constants.js';
import type { DPoPNonceIssuer } from './dpop-nonce.issuer.js';
import type { DPoPPublicJwk } from './proof-jwk.util.js';

/** A proof that passed every check; the guard puts it on the request. */
export interface VerifiedDPoPProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key (base64url): what `cnf.jkt` must equal. */
  readonly jkt: string;
  readonly jti: string;
  readonly htm: string;
  readonly htu: string;
  /** Seconds since the epoch, as sent. */
  readonly iat: number;
  readonly ath?: string;
  readonly nonce?: string;
  readonly alg: DPoPAlgorithm;
  readonly jwk: DPoPPublicJwk;
}

/** What one request offers for verification. */
export interface DPoPVerifyInput {
  /** The `DPoP` header value(s) as received (Node gives an array or a comma-joined string for repeats). */
  readonly proof: string | readonly string[] | undefined;
  /** The request method, compared case-sensitively with `htm`. */
  readonly method: string;
  /** The request URL as the server sees it (query and fragment are ignored). */
  readonly url: string;
  /** The access token sent with the request, if any: then `ath` is required and checked. */
  readonly accessToken?: string;
  /** The token's `cnf.jkt`, if it is DPoP-bound: then the proof key must have that thumbprint. */
  readonly expectedJkt?: string;
}

/** Settings of {@link DPoPProofVerifier}; durations in seconds. */
export interface DPoPProofVerifierOptions {
  algorithms?: readonly DPoPAlgorithm[];
  proofTtl?: number;
  clockSkew?: number;
  maxProofLength?: number;
  keyCacheSize?: number;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  clock?: () => number;
  /** When given, every proof must carry a nonce this issuer accepts (RFC 9449 §8). */
  nonces?: DPoPNonceIssuer | undefined;
  /**
   * The issuer of routes that require nonces on their own (`derive({ nonce: true })`) when
   * `nonces` is not set; it requires nothing of this verifier's proofs.
   */
  routeNonces?: DPoPNonceIssuer | undefined;
}
