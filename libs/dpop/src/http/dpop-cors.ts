/**
 * The CORS settings a DPoP API needs when a browser app on another origin calls it: the request
 * headers `Authorization` and `DPoP` allowed (neither is CORS-safelisted, so each request is
 * preflighted), and the response headers `DPoP-Nonce`, `WWW-Authenticate` and `Retry-After`
 * exposed, without which a script cannot read the nonce a `use_dpop_nonce` refusal carries, nor
 * the challenge, and a conforming client cannot retry (RFC 9449 §8, §9).
 */

/** Request headers a DPoP client sends (`Content-Type` for JSON bodies). */
const ALLOWED_HEADERS = ['Authorization', 'DPoP', 'Content-Type'] as const;
/** Response headers a DPoP client must read. */
const EXPOSED_HEADERS = ['DPoP-Nonce', 'WWW-Authenticate', 'Retry-After'] as const;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Options of {@link dpopCors}. */
export interface DPoPCorsOptions {
  /** More request headers the API accepts, besides `Authorization`, `DPoP`, `Content-Type`. */
  allowedHeaders?: readonly string[];
  /** More response headers scripts may read, besides `DPoP-Nonce`, `WWW-Authenticate`, `Retry-After`. */
  exposedHeaders?: readonly string[];
  /** Default `GET, HEAD, POST, PUT, PATCH, DELETE`. */
  methods?: readonly string[];
  /** Seconds a browser may cache a preflight answer. Default 600. */
  maxAge?: number;
  /**
   * Allow cookies (`credentials: 'include'`). Default `false`: DPoP-bound tokens travel in
   * `Authorization`, which needs no credentials mode. Refused with `'*'`.
   */
  credentials?: boolean;
}

/**
 * The settings, in the shape the `cors` package (Express, Nest's `app.enableCors()` on Express)
 * and `@fastify/cors` (Nest on Fastify) both read.
 */
export interface DPoPCorsSettings {
  origin: string[] | '*';
  methods: string[];
  allowedHeaders: string[];
  exposedHeaders: string[];
  maxAge: number;
  credentials: boolean;
}

/**
 * CORS settings for a DPoP API, for `origins` (exact origins such as
 * `https://app.example.com`, or `'*'` for any).
 *
 * @example
 * ```ts
 * // Nest (Express or Fastify adapter):
 * app.enableCors(dpopCors(['https://app.example.com']));
 * // Express: app.use(cors(dpopCors([...])));   Fastify: fastify.register(fastifyCors, dpopCors([...]))
 * ```
 * @throws TypeError for an entry that is not an http(s) origin (a path, a trailing slash, a
 *   wildcard inside a name), or `'*'` with `credentials`
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
export function dpopCors(
  origins: readonly string[] | '*',
  options: DPoPCorsOptions = {},
): DPoPCorsSettings {
  const credentials = options.credentials ?? false;
  if (origins === '*') {
    if (credentials) throw new TypeError("dpopCors: credentials cannot be allowed for '*'");
  } else {
    for (const origin of origins) {
      const parsed = URL.parse(origin);
      const ok =
        parsed !== null &&
        (parsed.protocol === 'https:' || parsed.protocol === 'http:') &&
        parsed.origin === origin &&
        !parsed.hostname.includes('*');
      // The origin a browser sends is exactly scheme://host[:port]: anything else never matches.
      if (!ok) throw new TypeError(`dpopCors: "${origin}" is not an origin (scheme://host[:port])`);
    }
  }
  const merged = (base: readonly string[], extra: readonly string[] = []): string[] => {
    const seen = new Set(base.map((h) => h.toLowerCase()));
    return [...base, ...extra.filter((h) => !seen.has(h.toLowerCase()))];
  };
  return {
    origin: origins === '*' ? '*' : [...origins],
    methods: [...(options.methods ?? METHODS)],
    allowedHeaders: merged(ALLOWED_HEADERS, options.allowedHeaders),
    exposedHeaders: merged(EXPOSED_HEADERS, options.exposedHeaders),
    maxAge: options.maxAge ?? 600,
    credentials,
  };
}
