/** Median of a non-empty sample (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `value` with `digits` decimals, for tables. */
export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** A ratio as `1.23×`. */
export function times(ratio: number): string {
  return Number.isNaN(ratio) ? 'n/a' : `${fixed(ratio, 2)}×`;
}

/** Whether a measured value meets its target, as the tables show it. */
export function verdict(met: boolean): string {
  return met ? 'met' : 'short';
}

/**
 * Runs a full garbage collection when the process was started with `--expose-gc`, so that the
 * garbage of one contender is not collected on the next one's clock.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
