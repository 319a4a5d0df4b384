/**
 * Latency statistics for one benchmark row, and the comparison against the baseline row.
 *
 * Units are whatever the samples are in (the bench uses microseconds). Definitions:
 * - percentiles use the nearest-rank method: the p-th percentile is the smallest sample such that
 *   at least p % of all samples are <= it (no interpolation, so every reported value was observed);
 * - stddev is the population standard deviation of the measured samples (divides by n): the run is
 *   the whole population being described. It is what the Windows loopback paper calls jitter.
 */

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Population standard deviation: the jitter. */
  stddev: number;
}

/** How a row compares with the baseline, as in the Windows Server 2012 fast-path table. */
export interface Comparison {
  /** (base.p50 - row.p50) / base.p50. Positive: the row is faster; negative: slower. */
  latencyReduction: number;
  /** (base.stddev - row.stddev) / base.stddev. Positive: the row jitters less. */
  jitterReduction: number;
  /** row.p50 / base.p50. */
  p50Ratio: number;
}

/** Nearest-rank percentile of an ascending array. `p` is in [0, 100]; p = 0 gives the minimum. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('percentile of an empty sample set');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`);
  // The small epsilon keeps p * n / 100 that is an exact integer (e.g. 99.9 * 1000 / 100) from
  // rounding up to the next rank because of binary floating point.
  const rank = Math.ceil((p * n) / 100 - 1e-9);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

export function mean(samples: ArrayLike<number>): number {
  const n = samples.length;
  if (n === 0) throw new RangeError('mean of an empty sample set');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i]!;
  return sum / n;
}

/** Population standard deviation (two-pass, so large offsets do not lose precision). */
export function stddev(samples: ArrayLike<number>, knownMean: number = mean(samples)): number {
  const n = samples.length;
  if (n === 0) throw new RangeError('stddev of an empty sample set');
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = samples[i]! - knownMean;
    sq += d * d;
  }
  return Math.sqrt(sq / n);
}

/** Summarizes samples given in any order. The input is not modified. */
export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) throw new RangeError('cannot summarize an empty sample set');
  if (!Number.isFinite(sorted[0]!) || !Number.isFinite(sorted[n - 1]!)) throw new RangeError('samples must be finite numbers');
  const m = mean(sorted);
  return {
    count: n,
    min: sorted[0]!,
    mean: m,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[n - 1]!,
    stddev: stddev(sorted, m),
  };
}

/** Relative reduction of `value` against `base`: (base - value) / base. NaN when base is 0. */
export function reduction(base: number, value: number): number {
  return base === 0 ? Number.NaN : (base - value) / base;
}

export function compare(base: Summary, row: Summary): Comparison {
  return {
    latencyReduction: reduction(base.p50, row.p50),
    jitterReduction: reduction(base.stddev, row.stddev),
    p50Ratio: base.p50 === 0 ? Number.NaN : row.p50 / base.p50,
  };
}

/** Events per second for `count` events that took `elapsedNs` nanoseconds in total. */
export function perSecond(count: number, elapsedNs: number): number {
  if (!(elapsedNs > 0)) throw new RangeError(`elapsed time must be positive, got ${elapsedNs} ns`);
  return (count * 1e9) / elapsedNs;
}
