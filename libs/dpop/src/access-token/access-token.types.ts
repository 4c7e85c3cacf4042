/**
 * An access token the library verified: by signature (a JWT) or by introspection (RFC 7662).
 * The raw claims are there for anything application-specific; the common ones are read once.
 */
export interface VerifiedAccessToken {
  /** How it was verified. */
  readonly format: 'jwt' | 'introspection';
  /** The JWT payload, or the introspection response. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** `sub`, when present. */
  readonly sub?: string;
  /** `client_id`, when present (RFC 9068 §2.2, RFC 7662 §2.2). */
  readonly clientId?: string;
  /** `iss`, when present. */
  readonly iss?: string;
  /** The scopes granted (`scope`, space separated, or a `scp` list). */
  readonly scopes: readonly string[];
  /** `cnf.jkt` (RFC 9449 §6): the thumbprint of the key the token is bound to. */
  readonly jkt?: string;
  /** `exp`, in seconds since the epoch, when present. */
  readonly exp?: number;
}
