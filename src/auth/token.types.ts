/** The three tokens of ARCP's three-phase registration. */
export type TokenKind = 'temp' | 'validated' | 'access';

/** The audience each kind is issued for, and the only one it is accepted at. */
export const TOKEN_AUDIENCE: Readonly<Record<TokenKind, string>> = {
  temp: 'arcp:validate',
  validated: 'arcp:register',
  access: 'arcp:operations',
};

/** The claims of every token this server issues (after verification). */
export interface AgentTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  agent_id: string;
  agent_type: string;
  token_type: TokenKind;
  jti: string;
  iat: number;
  exp: number;
  /** RFC 9449 §6.1: the thumbprint of the key the token is bound to. */
  cnf?: { jkt: string };
  /** Validated tokens only: the validation they attest, consumed once at registration. */
  validation_id?: string;
  /**
   * Access tokens only: the registration they were issued for. An agent_id registered again
   * (after its heartbeat timeout) gets a new one, and tokens of the old registration stop working.
   */
  registration_id?: string;
}

/** What the app hands back to the client for a token it issued. */
export interface IssuedToken {
  token: string;
  /** `DPoP` when the token is key-bound, else `Bearer`. */
  tokenType: 'DPoP' | 'Bearer';
  /** Seconds until `exp`. */
  expiresIn: number;
  claims: AgentTokenClaims;
}
