/**
 * A start-up failure the operator can fix from its message alone (a bad setting, Redis away, a
 * port in use): `main.ts` prints the message as one line, without a stack trace, and exits 1.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The one line to print for an error thrown while starting, or `undefined` if unexpected. */
export function describeStartupError(
  error: unknown,
  port: number,
  host: string,
): string | undefined {
  if (error instanceof StartupError) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return `PORT: port ${port} is already in use`;
  if (code === 'EACCES') return `PORT: not allowed to listen on port ${port}`;
  if (code === 'EADDRNOTAVAIL') return `HOST: ${host} is not an address of this machine`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `HOST: ${host} does not resolve`;
  return undefined;
}
