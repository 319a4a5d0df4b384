import hdr from 'hdr-histogram-js';
import type { Code } from '../protocol/codes.js';

/** Latency of calls, in microseconds (from an HdrHistogram: 2 significant digits). */
export interface LatencySummary {
  count: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Calls on one connection (unary and streams), as counted by one side. */
export interface CallCounts {
  started: number;
  ok: number;
  failed: number;
  /** Failed calls by status code name. */
  errors: Partial<Record<Code, number>>;
}

/** Longest latency the histogram tracks exactly: one hour, in µs. Longer calls are clamped. */
const MAX_US = 3_600_000_000;

/**
 * Counts calls and records their latency in an HdrHistogram (hdr-histogram-js, the JS port of
 * Gil Tene's HdrHistogram). Recording costs about 0.1 µs; `latency: false` keeps only counters.
 */
export class CallStats {
  readonly counts: CallCounts = { started: 0, ok: 0, failed: 0, errors: {} };
  private readonly histogram: hdr.Histogram | undefined;

  constructor(latency: boolean) {
    this.histogram = latency ? hdr.build({ useWebAssembly: false, bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: MAX_US, numberOfSignificantValueDigits: 2 }) : undefined;
  }

  /** Whether latency is recorded (callers may then pass in a clock reading they already have). */
  get timing(): boolean {
    return this.histogram !== undefined;
  }

  /**
   * A call started: returns its start time (ms, performance.now(), or `at` when the caller read
   * the clock already, e.g. once for a whole chunk of frames), or 0 when latency is off.
   */
  begin(at?: number): number {
    this.counts.started++;
    return this.histogram ? (at ?? performance.now()) : 0;
  }

  /** A call ended, with `code` when it failed; `at` is the end time if the caller has it. */
  end(start: number, code?: Code, at?: number): void {
    if (code === undefined) this.counts.ok++;
    else {
      this.counts.failed++;
      this.counts.errors[code] = (this.counts.errors[code] ?? 0) + 1;
    }
    if (this.histogram && start > 0) {
      const us = Math.round(((at ?? performance.now()) - start) * 1000);
      this.histogram.recordValue(us < 1 ? 1 : us > MAX_US ? MAX_US : us);
    }
  }

  /** undefined when latency recording is off. */
  latency(): LatencySummary | undefined {
    const h = this.histogram;
    if (!h) return undefined;
    if (h.totalCount === 0) return { count: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    // A percentile is its bucket's highest value, which can exceed the exact maximum: clamp.
    const max = h.maxValue;
    const at = (p: number): number => Math.min(max, h.getValueAtPercentile(p));
    return { count: h.totalCount, mean: round(h.mean), stddev: round(h.stdDeviation), p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max };
  }

  snapshot(): { calls: CallCounts; latencyUs: LatencySummary | undefined } {
    return { calls: { ...this.counts, errors: { ...this.counts.errors } }, latencyUs: this.latency() };
  }
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
