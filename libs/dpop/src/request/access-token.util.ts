import { accessTokenCache } from './access-token.cache.js';
import { DPoPError } from '../errors/dpop.errors.js';
import { sha256Base64url } from '../verifier/proof-jwk.util.js';

/** How the request presented its access token (RFC 9449 §7.1 and RFC 6750 §2.1). */
export interface PresentedAccessToken {
  scheme: 'DPoP' | 'Bearer';
  token: string;
}

/** The auth-scheme and the white space after it. */
const SCHEME = /^([^ \t]*)[ \t]*/;

/** token68 (RFC 9110 §11.2). */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Reads `Authorization: DPoP <token>` or `Authorization: Bearer <token>` (scheme names are
 * case-insensitive). Other schemes are not ours: they give `undefined`. A DPoP or Bearer
 * credential that is not a token68 is refused.
 */
export function parseAuthorization(
  header: string | string[] | undefined,
): PresentedAccessToken | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) {
    throw new DPoPError('ERR_DPOP_INVALID_AUTHORIZATION', 'More than one Authorization header');
  }
  // The scheme ends at the first space or tab: `Bearer\t<token>` is still a Bearer credential
  // (and a bound token in it must not slip past the downgrade check as "not ours").
  const match = SCHEME.exec(header);
  const schemeName = (match?.[1] ?? '').toLowerCase();
  const scheme = schemeName === 'dpop' ? 'DPoP' : schemeName === 'bearer' ? 'Bearer' : undefined;
  if (scheme === undefined) return undefined;
  const token = header.slice(match![0].length).replace(/[ \t]+$/, '');
  // The answer is a function of the string alone, and agents send one token request after
  // request: the newest token of the cache that passed before passes again without the regex
  // over its whole length (about 1 µs for a 1 KB token, a few % of the guard beyond its
  // signature). An entry is marked only once that exact string passed the regex here.
  const known = accessTokenCache.newestFactsOf(token);
  if (known?.token68 !== true) {
    if (!TOKEN68.test(token) || token.length > 16_384) {
      throw new DPoPError(
        'ERR_DPOP_INVALID_AUTHORIZATION',
        `Malformed ${scheme} authorization header`,
      );
    }
    if (known !== undefined) known.token68 = true;
  }
  return { scheme, token };
}

/**
 * The default binding reader: `cnf.jkt` from a JWT access token's payload, read without
 * verifying the token. Anything that is not a JWT with a string `cnf.jkt` counts as unbound.
 * Extra members in `cnf` are allowed.
 *
 * Remembered per exact token string (a bounded cache shared with {@link accessTokenHash}):
 * agents send one token with request after request, and the answer is a pure function of the
 * string, so a changed token is simply another entry.
 */
export function jwtConfirmationJkt(token: string): string | undefined {
  const facts = accessTokenCache.factsOf(token);
  if (facts.jkt === undefined) facts.jkt = readConfirmationJkt(token) ?? null;
  return facts.jkt ?? undefined;
}

/**
 * `ath` of an access token (RFC 9449 §4.2): base64url(SHA-256(token)), remembered per exact
 * token string like {@link jwtConfirmationJkt}.
 */
export function accessTokenHash(token: string): string {
  const facts = accessTokenCache.factsOf(token);
  return (facts.ath ??= sha256Base64url(token));
}

/** {@link jwtConfirmationJkt} without the cache. */
function readConfirmationJkt(token: string): string | undefined {
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 <= 0 || dot2 === -1) return undefined;
  try {
    const payload: unknown = JSON.parse(
      Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'),
    );
    const cnf = (payload as { cnf?: unknown } | null)?.cnf;
    const jkt = (cnf as { jkt?: unknown } | null | undefined)?.jkt;
    return typeof jkt === 'string' && jkt !== '' ? jkt : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a token is a JWT as {@link jwtConfirmationJkt} reads one (three segments, a payload
 * that is a JSON object): for the refusal's detail only, to tell "an opaque token the default
 * reader cannot see into" from "a JWT without `cnf.jkt`".
 */
export function isJwtShaped(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload);
  } catch {
    return false;
  }
}
