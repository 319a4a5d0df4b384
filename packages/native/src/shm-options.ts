/**
 * The shm tier's options: the modes, the opt-in spin, the defaults, and how options are validated
 * and resolved (resolveShmOptions). Also where an offer makes its doorbell directory by default.
 */
import { statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { ShmError } from './shm-error.js';

export type ShmMode = 'inline' | 'worker' | 'adaptive';

/** The longest spin budget, in µs. */
export const SHM_SPIN_MAX_MICROS = 100_000;

/**
 * The opt-in synchronous spin, for a thread that has a core to itself (a worker thread). After a
 * `write()`, before the thread returns to its event loop, the connection busy-polls the receive
 * ring for the reply and hands it to `onData` at once. The rest of the time it behaves as its mode.
 */
export interface ShmSpinOptions {
  /**
   * The most time, in µs (an integer from 1 to 100000), spent spinning for one reply, and in all
   * between two event-loop turns: once it is spent, the loop gets its turn before the next spin.
   */
  budgetMicros: number;
  /** Allow it on the main thread. Default false: creating the connection there throws EMAINTHREAD. */
  allowMainThread?: boolean;
}

export interface ShmOptions {
  /**
   * `inline`: poll the ring on every event-loop turn (burns a core, lowest latency).
   * `worker`: sleep on the doorbell, woken only when the peer writes (no idle CPU).
   * `adaptive` (default): poll for `spinMicros` after the last traffic, then sleep like `worker`.
   * Resolves to `worker` when `os.availableParallelism() < 2`.
   */
  mode?: ShmMode;
  /** Adaptive polling window after the last traffic, in µs. Must exceed the peer's wake-up time. Default 200. */
  spinMicros?: number;
  /** Most chunks handed to `onData` per event-loop callback. Default 64. */
  batchMax?: number;
  /** Bytes per ring (per direction), a power of two from 4 KiB to 1 GiB. Creator only; default 1 MiB. */
  ringBytes?: number;
  /** Largest chunk handed to `onData` (the "large MTU"). Default 64 KiB. */
  slotBytes?: number;
  /** Opt-in synchronous spin after each write (off by default); see ShmSpinOptions. */
  spin?: ShmSpinOptions;
}

export interface ShmOfferOptions extends ShmOptions {
  /** Withdraw the offer if nobody attached within this many ms. Default 5000. */
  attachTimeoutMs?: number;
  /** Directory for the private doorbell directory. Default: $XDG_RUNTIME_DIR if usable, else the tmpdir. */
  dirBase?: string;
}

export interface ResolvedShmOptions {
  mode: ShmMode;
  requestedMode: ShmMode;
  spinMicros: number;
  batchMax: number;
  ringBytes: number;
  slotBytes: number;
  /** Present only when the spin was asked for. */
  spin?: Readonly<Required<ShmSpinOptions>>;
}

export const SHM_DEFAULTS = Object.freeze({
  mode: 'adaptive' as ShmMode,
  spinMicros: 200,
  batchMax: 64,
  ringBytes: 1 << 20,
  slotBytes: 64 << 10,
  attachTimeoutMs: 5000,
});

/** An integer option in [min, max], or `def` when absent. Throws ShmError('EINVAL'). */
export function int(name: string, v: number | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min || v > max) throw new ShmError('EINVAL', `${name} must be an integer from ${min} to ${max} (got ${v})`);
  return v;
}

function resolveSpin(v: ShmSpinOptions | undefined | null): Readonly<Required<ShmSpinOptions>> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object') throw new ShmError('EINVAL', `spin must be an object { budgetMicros, allowMainThread? } (got ${String(v)})`);
  const budgetMicros = v.budgetMicros;
  if (typeof budgetMicros !== 'number' || !Number.isInteger(budgetMicros) || budgetMicros < 1 || budgetMicros > SHM_SPIN_MAX_MICROS) {
    throw new ShmError('EINVAL', `spin.budgetMicros must be an integer from 1 to ${SHM_SPIN_MAX_MICROS} (got ${String(budgetMicros)})`);
  }
  const allow = v.allowMainThread ?? false;
  if (typeof allow !== 'boolean') throw new ShmError('EINVAL', `spin.allowMainThread must be a boolean (got ${String(allow)})`);
  return Object.freeze({ budgetMicros, allowMainThread: allow });
}

/** Creation refuses a spin on the main thread unless it was allowed: it would block the event loop. */
export function checkSpinThread(o: ResolvedShmOptions): void {
  if (o.spin && !o.spin.allowMainThread && isMainThread) {
    throw new ShmError(
      'EMAINTHREAD',
      `shm spin refused on the main thread: it blocks the event loop for up to ${o.spin.budgetMicros} µs after each write. ` +
        'Use the connection from a worker thread with a core to itself, or set spin.allowMainThread: true',
    );
  }
}

/**
 * Validates options, fills defaults and resolves `adaptive` to `worker` on a single-core machine.
 * (It does not apply the main-thread rule of `spin`: creating a connection does.)
 */
export function resolveShmOptions(options: ShmOptions = {}): ResolvedShmOptions {
  const requestedMode = options.mode ?? SHM_DEFAULTS.mode;
  if (requestedMode !== 'inline' && requestedMode !== 'worker' && requestedMode !== 'adaptive') {
    throw new ShmError('EINVAL', `mode must be inline, worker or adaptive (got ${String(requestedMode)})`);
  }
  const ringBytes = int('ringBytes', options.ringBytes, SHM_DEFAULTS.ringBytes, 4096, 2 ** 30);
  if ((ringBytes & (ringBytes - 1)) !== 0) throw new ShmError('EINVAL', `ringBytes must be a power of two (got ${ringBytes})`);
  // No spare core to poll on: polling would only steal time from the peer.
  const mode = requestedMode === 'adaptive' && availableParallelism() < 2 ? 'worker' : requestedMode;
  const spin = resolveSpin(options.spin);
  return {
    mode,
    requestedMode,
    spinMicros: int('spinMicros', options.spinMicros, SHM_DEFAULTS.spinMicros, 0, 1_000_000),
    batchMax: int('batchMax', options.batchMax, SHM_DEFAULTS.batchMax, 1, 65536),
    ringBytes,
    slotBytes: int('slotBytes', options.slotBytes, SHM_DEFAULTS.slotBytes, 1, 2 ** 30),
    ...(spin ? { spin } : {}),
  };
}

/** Where offers make their doorbell directories unless told otherwise: $XDG_RUNTIME_DIR if it is ours, else the tmpdir. */
export function defaultDirBase(): string {
  const xdg = process.env['XDG_RUNTIME_DIR'];
  if (xdg && xdg.startsWith('/')) {
    try {
      const st = statSync(xdg);
      if (st.isDirectory() && st.uid === process.getuid?.()) return xdg;
    } catch {
      // unusable: fall through
    }
  }
  return tmpdir();
}
