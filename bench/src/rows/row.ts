import type { EchoChannel, PingPongResult } from '../ping-pong.js';

/** What every row is given. */
export interface RowContext {
  /** Measured round trips. */
  n: number;
  /** Round trips made before measuring. */
  warmup: number;
  payloadBytes: number;
  /** Optional time bound of the warm-up and of measuring, each (see PingPongOptions.maxMs). */
  maxMs?: number;
  /** Progress within the row: round trips made so far (warm-up included) and the planned total. */
  onProgress?: (done: number, total: number) => void;
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

/** A running echo peer and a connection to it, for as many payload sizes as needed. */
export interface EchoSession {
  /** E.g. the peer's address and pid, the tier a fastpath client ended up on. */
  readonly details: Record<string, string | number>;
  /**
   * A channel for payloads of `payloadBytes` bytes. Framed rows (fastpath, gRPC) reuse their one
   * connection for every size; raw rows open a connection per size (the raw echo peer cuts
   * fixed-size messages, announced when the connection opens) and close the previous one.
   */
  channel(payloadBytes: number): Promise<EchoChannel>;
}

/**
 * One line of the benchmark table: a name and a function that starts an echo peer (in a child
 * process), connects to it, hands the session to `fn`, and tears everything down afterwards.
 * New rows are added in rows/index.ts.
 */
export interface Row {
  /** Short, unique, used by --rows: e.g. `raw-tcp`, `fastpath-tcp`. */
  readonly name: string;
  /** One line saying what runs, for the report. */
  readonly description: string;
  readonly goal?: RowGoal;
  /** Resolves to a reason when the row cannot run on this machine; it is then skipped. */
  skipReason?(): Promise<string | undefined>;
  withSession<T>(fn: (session: EchoSession) => Promise<T>): Promise<T>;
}
