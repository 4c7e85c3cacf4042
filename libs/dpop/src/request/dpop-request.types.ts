import type { VerifiedAccessToken } from '../access-token/access-token.types.js';
import type { VerifiedDPoPProof } from '../verifier/dpop-proof.types.js';
import type { PresentedAccessToken } from './access-token.util.js';
import type { DPoPRouteOptions } from './dpop-route.options.js';

/** The input and output of `DPoPRequestPolicy` (`dpop-request.policy.ts`). */

/**
 * The parts of a request the policy reads, as Node's `IncomingMessage` (Express, `node:http`,
 * `node:http2`'s compatibility API) and Fastify's request have them: pass those as they are.
 */
export interface DPoPRequestInput {
  readonly method?: string;
  /** The request target (origin-form path and query). */
  readonly url?: string;
  /** Express: the target before a router's mount point was stripped. */
  readonly originalUrl?: string;
  /** Header names in lower case; on HTTP/2 with the pseudo-headers (`:authority`). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Every header line as received (Node): how a repeated `Host` or `Authorization` is seen. */
  readonly rawHeaders?: readonly string[];
  /** Fastify: the Node request, whose `rawHeaders` are read when the request has none. */
  readonly raw?: { readonly rawHeaders?: readonly string[] };
  /** The connection: TLS (`encrypted`) and the peer address (for `trustedProxies`). */
  readonly socket?: { readonly encrypted?: boolean; readonly remoteAddress?: string } | null;
}

/** What the route demands of a request, beyond the options (the route decorators in Nest). */
export interface DPoPRequestRoute {
  /**
   * Whether a proof is required on this route, whatever the `required` option says
   * (`@DPoPRequired()`, `@DPoPTokenEndpoint()`); `undefined`: as the option says.
   */
  readonly required?: boolean | undefined;
  /** The route's own proof settings; one object per route (its verifier is kept for it). */
  readonly options?: Readonly<DPoPRouteOptions> | undefined;
  /** An access token bound with `cnf.jkt` and a valid proof from that key are required. */
  readonly bound?: boolean;
  /**
   * Scopes the verified access token must grant (`@RequiredScopes()` in Nest; needs the
   * `accessToken` option): none sent is a 401, too few a 403 `insufficient_scope`.
   */
  readonly scopes?: readonly string[] | undefined;
}

/** What {@link DPoPRequestPolicy.check} found in a request it lets through. */
export interface DPoPRequestResult {
  /** The verified proof; `undefined` when none was sent and none is required. */
  readonly proof: VerifiedDPoPProof | undefined;
  /** The access token of the `Authorization` header (`DPoP` or `Bearer` scheme), if any. */
  readonly token: PresentedAccessToken | undefined;
  /** The token's `cnf.jkt` (what the proof key was held to), when the token is DPoP-bound. */
  readonly binding: string | undefined;
  /** The access token as the library verified it, with the `accessToken` option. */
  readonly accessToken: VerifiedAccessToken | undefined;
  /**
   * A `DPoP-Nonce` to send with the response (with `Cache-Control: no-store`): the current
   * server nonce, when the proof used one that is no longer current (RFC 9449 §8).
   */
  readonly nonce: string | undefined;
}
