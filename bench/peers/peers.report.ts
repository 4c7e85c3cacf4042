import { fixed, times } from '../lib/stats.js';
import type { PeerResult } from './peers.bench.js';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The peer comparison: CPU µs per request, medians. */
export function peersTable(peers: readonly PeerResult[]): string {
  return table(
    [
      'alg',
      'floor µs',
      'nest-dpop verify() µs',
      'nest-dpop guard µs',
      'auth0 µs (DPoP − Bearer)',
      'oidc-provider µs (DPoP − Bearer)',
      'auth0 DPoP ÷ nest-dpop guard',
      'oidc-provider DPoP ÷ nest-dpop guard',
    ],
    peers.map(({ alg, cpu: c }) => {
      const auth0Dpop = c.auth0Us - c.auth0BearerUs;
      const oidcDpop = c.oidcUs - c.oidcBearerUs;
      return [
        alg,
        fixed(c.floorUs),
        fixed(c.verifyUs),
        fixed(c.guardUs),
        `${fixed(c.auth0Us)} − ${fixed(c.auth0BearerUs)} = ${fixed(auth0Dpop)}`,
        `${fixed(c.oidcUs)} − ${fixed(c.oidcBearerUs)} = ${fixed(oidcDpop)}`,
        times(auth0Dpop / c.guardUs),
        times(oidcDpop / c.guardUs),
      ];
    }),
  );
}

/** The event hook's cost: the guard with and without listeners in the same run. */
export function hookTable(peers: readonly PeerResult[]): string {
  return table(
    [
      'alg',
      'guard µs',
      'guard + no-op listener µs',
      'guard + Prometheus µs',
      'no-op listener ÷ none',
      'Prometheus ÷ none',
      'hook, nobody listening, ns/call',
      'hook, one listener, ns/call',
    ],
    peers.map(({ alg, cpu: c, hook, listenerRatio, prometheusRatio }) => [
      alg,
      fixed(c.guardUs),
      fixed(c.guardListenerUs),
      fixed(c.guardPrometheusUs),
      times(listenerRatio),
      times(prometheusRatio),
      fixed(hook.idleNs),
      fixed(hook.listenerNs),
    ]),
  );
}

/** What each peer checks, from their sources (the versions in package-lock.json). */
const CHECKS = table(
  ['check', 'nest-dpop', 'auth0 express-oauth2-jwt-bearer', 'oidc-provider (userinfo)'],
  [
    [
      'signature, `typ`, asymmetric `alg`',
      'yes (`node:crypto`, key cache; `typ` as a media type, `application/` prefix allowed)',
      'yes (`jose.jwtVerify`: `typ` in any case, `application/` prefix allowed)',
      'yes (`jose.jwtVerify`, same `typ` rule; RS256 only when configured)',
    ],
    [
      'one `DPoP` header only',
      'yes (a comma = two)',
      'yes (a comma = two)',
      'no check of its own (a joined pair fails to parse)',
    ],
    ['proof length cap', 'yes (8192)', 'no', 'no'],
    [
      '`jwk` public only, key size / curve checked',
      'yes',
      'via jose (private keys refused)',
      'via jose',
    ],
    ['`htm`', 'yes, case-sensitive', 'yes, case-insensitive', 'yes, case-sensitive'],
    [
      '`htu` normalisation',
      'RFC 3986 (case, port, percent-encoding); refuses dot-segments',
      'thorough (percent-encoding, dot-segments, host grammar)',
      'WHATWG `URL` parse of the proof, compared with its own route URL',
    ],
    [
      '`iat` window',
      '120 s back, 60 s ahead (settable)',
      '300 s back, 30 s ahead (settable)',
      '±300 s (fixed)',
    ],
    ['`ath`, `cnf.jkt` binding', 'yes', 'yes', 'yes'],
    [
      'replay (`jti`)',
      'yes, atomic (`Map` / Redis `SET NX`)',
      '**no** (left to the application)',
      'yes (its adapter, check then set)',
    ],
    ['server nonces', 'yes (HMAC windows)', 'no', 'yes (HKDF steps)'],
    [
      'access token authenticated in the same call',
      'no (the app does it)',
      'yes (HS256 here)',
      'yes (opaque token lookup)',
    ],
  ],
);

/** Section 7 of docs/BENCHMARKS.md. */
export function peersMarkdown(peers: readonly PeerResult[]): string {
  if (peers.length === 0) return '';
  const rounds = peers[0]!.rounds;
  return `## 7. Beside the peers

The DPoP checks of two published Node.js implementations, driven through their public entry
points in this process, on proofs made with the same key, header and claims (\`GET
https://bench.local/me\`, each proof with its own \`jti\` and the \`ath\` of the token it comes
with): auth0's **express-oauth2-jwt-bearer** \`auth()\` middleware (\`dpop.required\`, an HS256
access token bound with \`cnf.jkt\`, called with a minimal Express request) and
**oidc-provider**'s userinfo endpoint (\`GET /me\`, a DPoP-bound opaque access token, through
\`light-my-request\`, since it has no smaller public entry point). Both also authenticate the
access token in the same call, so each is timed a second time with DPoP off and an unbound
Bearer token; the difference is what their DPoP checks cost. nest-dpop's guard reads the binding
from the JWT and leaves authenticating the token to the application. CPU time per request
(all threads: jose's WebCrypto runs on libuv's pool), median over ${rounds} interleaved rounds.

${peersTable(peers)}

What each one checks or skips:

${CHECKS}

### The event hook

The same guard with no listener, with one no-op listener and with the Prometheus recipe
(\`nest-dpop/prometheus\`), on the very same proofs (each guard has its own replay store),
interleaved in the same run; the ratios are taken round by round, then the median. And the hook
call alone (\`DPoPEvents.accepted()\`, 200,000 calls): with nobody listening it tests one
boolean and builds nothing, so what a request pays for the hook is those few nanoseconds
against the guard's tens to hundreds of microseconds.

${hookTable(peers)}
`;
}
