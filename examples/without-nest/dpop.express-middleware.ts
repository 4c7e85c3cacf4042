import type { IncomingMessage, ServerResponse } from 'node:http';
import { DPoPError, type DPoPRequestPolicy, type VerifiedDPoPProof } from 'nest-dpop';

/** An Express (or Connect, or plain `node:http`) middleware with the library's DPoP rules. */
export function dpopMiddleware(dpop: DPoPRequestPolicy) {
  return async (
    req: IncomingMessage & { dpop?: VerifiedDPoPProof },
    res: ServerResponse,
    next: (error?: unknown) => void,
  ): Promise<void> => {
    try {
      const { proof, nonce } = await dpop.check(req);
      req.dpop = proof; // undefined when no proof was sent and none is required
      // RFC 9449 §8: the current nonce, when the proof used the previous one.
      if (nonce !== undefined) {
        res.setHeader('DPoP-Nonce', nonce).setHeader('Cache-Control', 'no-store');
      }
      next();
    } catch (error) {
      if (!(error instanceof DPoPError)) return next(error);
      // 401/400/503 with WWW-Authenticate, Cache-Control, DPoP-Nonce or Retry-After.
      const refusal = dpop.refusal(error, req);
      res.writeHead(refusal.status, refusal.headers).end(JSON.stringify(refusal.body));
    }
  };
}
