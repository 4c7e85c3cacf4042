/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface AuthChallenge {
  /** The scheme as sent, e.g. `DPoP`; compare it case-insensitively. */
  scheme: string;
  /** auth-params by lower-cased name, quoted values unquoted. */
  params: Record<string, string>;
  /** The token68 form, when the challenge has one instead of auth-params. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/=]/;

/**
 * Parses a `WWW-Authenticate` value into its challenges. A server may send several challenges
 * in one header (`Bearer realm="x", DPoP error="use_dpop_nonce", algs="ES256"`), and commas
 * separate both challenges and their parameters, so a regular expression is not enough.
 * Malformed input yields the challenges parsed before the error, never an exception.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;

  const skip = (chars: string): void => {
    while (i < n && chars.includes(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TCHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  /** Whether `name =` follows at the current position (an auth-param, not a new challenge). */
  const paramAhead = (): boolean => {
    let j = i;
    while (j < n && TCHAR.test(header[j]!)) j++;
    if (j === i) return false;
    while (j < n && (header[j] === ' ' || header[j] === '\t')) j++;
    // `abc==` is a token68 ending in padding, not a parameter named `abc`.
    return header[j] === '=' && header[j + 1] !== '=';
  };
  const value = (): string | undefined => {
    if (header[i] !== '"') {
      const v = token();
      return v === '' ? undefined : v;
    }
    let out = '';
    i++;
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      out += header[i];
      i++;
    }
    if (i >= n) return undefined; // unterminated quoted-string
    i++;
    return out;
  };

  while (i < n) {
    skip(' \t,');
    if (i >= n) break;
    const scheme = token();
    if (scheme === '') break;
    const challenge: AuthChallenge = { scheme, params: {} };
    challenges.push(challenge);
    skip(' \t');

    if (i < n && header[i] !== ',' && !paramAhead()) {
      const start = i;
      while (i < n && TOKEN68_CHAR.test(header[i]!)) i++;
      if (i > start) challenge.token68 = header.slice(start, i);
      continue;
    }
    // auth-params, until something that is not `name=value` (the next challenge's scheme).
    for (;;) {
      skip(' \t,');
      if (!paramAhead()) break;
      const name = token().toLowerCase();
      skip(' \t');
      i++; // '='
      skip(' \t');
      const v = value();
      if (v === undefined) return challenges;
      challenge.params[name] = v;
    }
  }
  return challenges;
}

/**
 * The `error` parameter of the `DPoP` challenge in a `WWW-Authenticate` value, if there is one
 * (e.g. `use_dpop_nonce`, `invalid_dpop_proof`).
 */
export function dpopChallengeError(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  return parseWwwAuthenticate(header).find((c) => c.scheme.toLowerCase() === 'dpop')?.params.error;
}
