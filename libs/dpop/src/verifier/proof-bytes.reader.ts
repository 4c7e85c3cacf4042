/** Smallest buffer a {@link ProofBytes} allocates: the default `maxProofLength`. */
const INITIAL_BYTES = 8192;
/** Longest proof whose buffer a {@link ProofBytes} keeps between proofs. */
const MAX_KEPT_BYTES = 64 * 1024;

/**
 * One verifier's working buffer for the bytes of the proof it is checking: the decoded payload,
 * then the signing input and the decoded signature. `check()` is synchronous and nothing holds
 * on to these bytes once it returns, so one buffer serves every proof instead of three
 * allocations per proof. Only bytes written for the current proof are ever read.
 */
export class ProofBytes {
  private kept: Buffer | undefined;

  /**
   * A buffer of at least `length` bytes for one synchronous use: the kept one (allocated on
   * first use, grown when a longer proof comes, up to 64 KiB), else a temporary one.
   */
  atLeast(length: number): Buffer {
    const kept = this.kept;
    if (kept !== undefined && kept.length >= length) return kept;
    if (length > MAX_KEPT_BYTES) return Buffer.allocUnsafe(length);
    return (this.kept = Buffer.allocUnsafeSlow(Math.max(length, INITIAL_BYTES)));
  }
}
