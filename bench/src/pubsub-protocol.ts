/**
 * What the pub-sub section's processes agree on: subjects, the raw relay's two-byte hello, and
 * the progress reports subscribers print on stdout.
 */

/** The subject of the runs with fan-out `k`: subscribers 0..k-1 subscribe to it. */
export function fanoutSubject(k: number): string {
  return `bench.fan.${k}`;
}

/** Raw relay hello, the first two bytes of a connection: [role, n]. */
export const HELLO_SUBSCRIBER = 0x53; // 'S', n = the subscriber's index
export const HELLO_PUBLISHER = 0x50; // 'P', n = the fan-out: relay to subscribers 0..n-1
/** The relay's one-byte answer to a subscriber: registered, messages may follow. */
export const RELAY_READY = 0x06;

/** A subscriber's progress line (one JSON object per line on its stdout). */
export interface SubscriberReport {
  /** The run the counts belong to (carried by every message). */
  run: number;
  /** Messages received in this run. */
  received: number;
  /** Messages received that carry the "measured" flag (published after the warm-up). */
  measured: number;
  /** From the arrival of the first measured message to the arrival of the latest one, in µs. */
  spanUs: number;
  /** Sequence numbers skipped (messages that never arrived: dropped). */
  gaps: number;
  /** Messages that arrived with a sequence number lower than one already seen. */
  disorder: number;
}

export function isReport(line: Record<string, unknown>): line is Record<string, unknown> & SubscriberReport {
  return typeof line.run === 'number' && typeof line.received === 'number' && typeof line.measured === 'number' && typeof line.spanUs === 'number';
}

/** Messages per second a subscriber measured, from the first to the last measured arrival. */
export function reportRate(r: SubscriberReport): number {
  return r.measured >= 2 && r.spanUs > 0 ? ((r.measured - 1) * 1e6) / r.spanUs : Number.NaN;
}
