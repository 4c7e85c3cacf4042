/**
 * The bench's reading of a JWT access token's binding (`cnf.jkt`, decoded, not verified), done as
 * the guard's default reader does it: the payload decoded once per exact token string and kept
 * in a bounded map (1,000 tokens), so a token an agent sends again costs a lookup and a new one
 * costs a decode. The library's own reader is internal since nest-dpop 0.4.0 (not in the public
 * door), and the bench imports the package only through its public entry points.
 */
const CACHE_SIZE = 1000;
const seen = new Map<string, string | null>();

/** `cnf.jkt` of a JWT's payload, or `undefined` when it is not a JWT with a string `cnf.jkt`. */
export function boundJkt(token: string): string | undefined {
  let jkt = seen.get(token);
  if (jkt === undefined) {
    jkt = decodeJkt(token) ?? null;
    if (seen.size >= CACHE_SIZE) seen.delete(seen.keys().next().value!);
    seen.set(token, jkt);
  }
  return jkt ?? undefined;
}

function decodeJkt(token: string): string | undefined {
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 <= 0 || dot2 === -1) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString());
    const jkt: unknown = (payload as { cnf?: { jkt?: unknown } } | null)?.cnf?.jkt;
    return typeof jkt === 'string' && jkt !== '' ? jkt : undefined;
  } catch {
    return undefined;
  }
}
