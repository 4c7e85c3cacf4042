import { JtiStoreUnavailableError } from '../../errors/dpop.errors.js';
import type { RedisJtiStoreClient } from './redis-jti-store.options.js';

/**
 * `work`, or a {@link JtiStoreUnavailableError} (503) if it takes longer than `timeoutMs` (it
 * goes on in the background); `timeoutMs <= 0` waits as long as `work` does. One promise and one
 * timer per call, no race/finally chain: this runs on every request, and the lean form saves
 * 1–2.5 µs of CPU per call (of about 20) over `Promise.race(…).finally(…)`.
 * @internal
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  if (timeoutMs <= 0) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(rejectLate, timeoutMs, reject, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Timer callback (shared, no closure per call): Redis did not answer in time. */
function rejectLate(reject: (reason: unknown) => void, ms: number): void {
  const cause = new Error(`Redis did not answer within ${ms} ms`);
  reject(new JtiStoreUnavailableError(undefined, { cause }));
}

/** Whether `client` is (or becomes) `ready` within `ms`. @internal */
export function untilReady(
  client: Pick<RedisJtiStoreClient, 'status' | 'on' | 'off'>,
  ms: number,
): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(done, ms, false);
    client.on('ready', onReady);
  });
}
