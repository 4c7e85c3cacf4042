import type { FastifyReply, FastifyRequest } from 'fastify';
import { DPoPError, type DPoPRequestPolicy, type VerifiedDPoPProof } from 'nest-dpop';

/** A Fastify `onRequest` hook with the library's DPoP rules (HTTP/1.1 and HTTP/2). */
export function dpopHook(dpop: DPoPRequestPolicy) {
  return async (
    request: FastifyRequest & { dpop?: VerifiedDPoPProof },
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> => {
    try {
      const { proof, nonce } = await dpop.check(request);
      request.dpop = proof; // undefined when no proof was sent and none is required
      // RFC 9449 §8: the current nonce, when the proof used the previous one.
      if (nonce !== undefined) {
        reply.header('DPoP-Nonce', nonce).header('Cache-Control', 'no-store');
      }
      return undefined;
    } catch (error) {
      if (!(error instanceof DPoPError)) throw error;
      // 401/400/503 with WWW-Authenticate, Cache-Control, DPoP-Nonce or Retry-After.
      const refusal = dpop.refusal(error, request);
      return reply.code(refusal.status).headers(refusal.headers).send(JSON.stringify(refusal.body));
    }
  };
}
