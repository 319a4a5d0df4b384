import type { PingPongResult } from '../ping-pong.js';

/** What every row is given. */
export interface RowContext {
  /** Measured round trips. */
  n: number;
  /** Round trips made before measuring. */
  warmup: number;
  payloadBytes: number;
}

/** What a row measured, plus what it ran against (shown in the JSON report). */
export interface RowMeasurement extends PingPongResult {
  /** E.g. the peer's address and pid, the tier a fastpath client ended up on. */
  details: Record<string, string | number>;
}

/** A target the row should meet against another row of the same run (printed and recorded in the JSON). */
export interface RowGoal {
  /** The row's p50 divided by the reference row's p50 must be at most this. */
  maxP50Ratio: number;
  /** The reference row (default: the baseline, raw-tcp). It always runs when this row does. */
  against?: string;
  /** Where the goal comes from, e.g. "issue 2". */
  source: string;
}

/**
 * One line of the benchmark table: a name and a function that sets up an echo peer (in a child
 * process), measures ping-pong round trips against it, and tears it down.
 * New rows (other tiers, modes, grpc-js) are added in rows/index.ts.
 */
export interface Row {
  /** Short, unique, used by --rows: e.g. `raw-tcp`, `fastpath-tcp`. */
  readonly name: string;
  /** One line saying what runs, for the report. */
  readonly description: string;
  readonly goal?: RowGoal;
  /** Resolves to a reason when the row cannot run on this machine; it is then skipped. */
  skipReason?(): Promise<string | undefined>;
  measure(ctx: RowContext): Promise<RowMeasurement>;
}
