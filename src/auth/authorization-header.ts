/** How a request presented its access token (RFC 9449 §7.1 and RFC 6750 §2.1). */
export interface PresentedAccessToken {
  scheme: 'DPoP' | 'Bearer';
  token: string;
}

/** The auth-scheme, the white space after it, then a token68 (RFC 9110 §11.2) and nothing else. */
const CREDENTIALS = /^(DPoP|Bearer)[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/**
 * Reads `Authorization: DPoP <token>` or `Authorization: Bearer <token>` (scheme names are
 * case-insensitive). Anything else gives `undefined`: another scheme, a credential that is not a
 * token68, a token over 16 KiB, or several `Authorization` headers (which one a proxy in front
 * used cannot be known). The DPoP guard has already refused the malformed ones with a problem
 * of its own when it looks at the request; this reads the token for the app's own checks.
 */
export function parseAuthorization(
  header: string | string[] | undefined,
): PresentedAccessToken | undefined {
  if (typeof header !== 'string') return undefined;
  const match = CREDENTIALS.exec(header);
  if (match === null) return undefined;
  const [, scheme, token] = match as unknown as [string, string, string];
  if (token.length > 16_384) return undefined;
  return { scheme: scheme.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token };
}
