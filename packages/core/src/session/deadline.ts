/**
 * All deadline arithmetic lives here (the grpc-js deadline.ts pattern).
 *
 * A deadline is an absolute instant in ms on a monotonic clock that shares its epoch with
 * Date.now() (performance.timeOrigin + performance.now()), so wall-clock jumps do not move it.
 * On the wire a deadline travels as the remaining budget in ms; the receiver turns the budget
 * back into an absolute deadline on its own clock, so the two clocks never need to agree.
 */
export type Deadline = number;

/** Node caps setTimeout at 2^31-1 ms; longer deadlines are re-armed. */
export const MAX_TIMER_MS = 0x7fffffff;

const origin = performance.timeOrigin;

/** Now, on the deadline clock. */
export function now(): number {
  return origin + performance.now();
}

/**
 * Turns a user's `deadline` option into an absolute deadline:
 * a number is a relative budget in ms from now; a Date is an absolute instant.
 * Returns undefined for "no deadline" (undefined, Infinity).
 */
export function toDeadline(option: number | Date | undefined, from: number = now()): Deadline | undefined {
  if (option === undefined) return undefined;
  if (option instanceof Date) {
    const t = option.getTime();
    if (Number.isNaN(t)) throw new TypeError('deadline is an invalid Date');
    return from + (t - Date.now());
  }
  if (typeof option !== 'number' || Number.isNaN(option)) throw new TypeError('deadline must be a number of ms or a Date');
  if (option === Infinity) return undefined;
  return from + Math.max(0, option);
}

/** The budget to send on the wire: whole ms remaining, at least 0. Rounded up so 0.4 ms left is 1, not 0. */
export function budgetMs(deadline: Deadline | undefined, at?: number): number | undefined {
  if (deadline === undefined) return undefined;
  return Math.max(0, Math.ceil(deadline - (at ?? now())));
}

/** A received budget turned into a deadline on this side's clock. */
export function fromBudget(budget: number | undefined, at?: number): Deadline | undefined {
  return budget === undefined ? undefined : (at ?? now()) + budget;
}

export function isExpired(deadline: Deadline | undefined, at?: number): boolean {
  return deadline !== undefined && deadline <= (at ?? now());
}

/** Milliseconds until the deadline, for setTimeout, clamped to [0, MAX_TIMER_MS]. */
export function timerDelay(deadline: Deadline, at: number = now()): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(deadline - at)));
}

/**
 * Calls `fn` when the deadline passes. Re-arms for deadlines beyond Node's timer limit.
 * The returned function cancels it. The timer does not keep the process alive.
 */
export function onDeadline(deadline: Deadline, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const at = now();
    if (deadline <= at) {
      fn();
      return;
    }
    timer = setTimeout(arm, timerDelay(deadline, at));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
