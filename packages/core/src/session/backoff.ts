/** Exponential backoff with jitter, for connecting and reconnecting. */
export interface BackoffOptions {
  /** The first delay, in ms (default 100). */
  initialDelayMs?: number;
  /** The largest delay, in ms (default 5000). */
  maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  multiplier?: number;
  /** Each delay is moved by up to this fraction of itself, at random (default 0.2). */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): initial * multiplier^(attempt-1),
 * capped at max, then spread by +/- jitter so that many clients do not retry in step.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5000;
  const multiplier = options.multiplier ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
  const base = Math.min(max, initial * multiplier ** Math.max(0, attempt - 1));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}
