import { measureRow } from './rows/measure.js';
import type { Row, RowContext, RowGoal } from './rows/row.js';
import { compare, perSecond, summarize, type Comparison, type Summary } from './stats.js';

/** A row's latency summary (µs) plus its throughput. */
export interface RowStats extends Summary {
  /** Measured round trips divided by the wall time they took. */
  roundTripsPerSec: number;
  elapsedMs: number;
}

export interface GoalResult extends Omit<RowGoal, 'against'> {
  /** The reference row the ratio is taken against (the baseline unless the goal names another). */
  baseline: string;
  /** NaN (null in the JSON) when the reference row did not run. */
  p50Ratio: number;
  /** null when the goal could not be judged because the reference row did not run. */
  met: boolean | null;
}

export interface RowResult {
  name: string;
  description: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why the row was skipped or failed. */
  reason?: string;
  details?: Record<string, string | number>;
  stats?: RowStats;
  /** Against the baseline row; absent when the baseline did not run. */
  vsBaseline?: Comparison;
  goal?: GoalResult;
}

export type Progress = (message: string) => void;

/**
 * The RTT samples (µs) behind a row's stats, kept for the latency chart. They stay out of the row
 * object, so the JSON report does not carry them.
 */
export const SAMPLES = new WeakMap<RowResult, Float64Array>();

async function runOne(row: Row, ctx: RowContext, progress: Progress): Promise<RowResult> {
  const base = { name: row.name, description: row.description };
  let skip: string | undefined;
  try {
    skip = await row.skipReason?.();
  } catch (err) {
    // E.g. FASTPATH_REQUIRE_NETNS=1 on a machine without network namespaces: a failure, not a skip.
    const reason = err instanceof Error ? err.message : String(err);
    progress(`${row.name}: FAILED: ${reason}`);
    return { ...base, status: 'failed', reason };
  }
  if (skip !== undefined) {
    progress(`${row.name}: skipped (${skip})`);
    return { ...base, status: 'skipped', reason: skip };
  }
  const plan = `${ctx.warmup} warm-up + ${ctx.n} measured round trips`;
  progress(`${row.name}: ${plan}...`);
  const started = Date.now();
  try {
    const m = await measureRow(row, { ...ctx, onProgress: (done, total) => progress(`${row.name}: ${plan}: ${done}/${total}`) });
    const stats: RowStats = {
      ...summarize(m.samplesUs),
      roundTripsPerSec: perSecond(m.samplesUs.length, m.elapsedNs),
      elapsedMs: m.elapsedNs / 1e6,
    };
    progress(`${row.name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s (peer start-up included)`);
    const result: RowResult = { ...base, status: 'ok', details: m.details, stats };
    SAMPLES.set(result, m.samplesUs);
    return result;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    progress(`${row.name}: FAILED: ${reason}`);
    return { ...base, status: 'failed', reason };
  }
}

/**
 * Runs rows one after another (never two peers at once), then compares each with the baseline.
 * A row that throws is recorded as failed; the others still run.
 */
export async function runRows(rows: readonly Row[], ctx: RowContext, baseline: string, progress: Progress = () => {}): Promise<RowResult[]> {
  const results: RowResult[] = [];
  for (const row of rows) results.push(await runOne(row, ctx, progress));
  const statsOf = (name: string): RowStats | undefined => results.find((r) => r.name === name && r.status === 'ok')?.stats;
  const base = statsOf(baseline);
  for (const [i, r] of results.entries()) {
    if (r.stats === undefined) continue;
    if (base !== undefined) r.vsBaseline = compare(base, r.stats);
    const goal = rows[i]!.goal;
    if (!goal) continue;
    const against = goal.against ?? baseline;
    const ref = statsOf(against);
    // A goal whose reference row did not run (skipped or failed) cannot be judged: met is null.
    const p50Ratio = ref === undefined ? Number.NaN : compare(ref, r.stats).p50Ratio;
    r.goal = { maxP50Ratio: goal.maxP50Ratio, source: goal.source, baseline: against, p50Ratio, met: ref === undefined ? null : p50Ratio <= goal.maxP50Ratio };
  }
  return results;
}
