/**
 * The `shm` tier: a core `Connection` over a pair of shared-memory byte rings (docs/fast-path.md).
 *
 *   server side                               client side
 *   const offer = createShmOffer(opts)
 *   send offer.token over the socket  ───▶    const conn = attachShm(token, opts)
 *   const conn = await offer.attached
 *
 * The rings carry a byte stream, exactly like a socket: `write()` takes whole frames, `onData`
 * receives chunks of at most `slotBytes` that the frame parser reassembles. Negotiation, nonces and
 * the liveness socket are the caller's business (core's upgrade.ts).
 */
import { statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import type { Connection } from '@fastpath/core';
import {
  binding,
  nativeStatus,
  NativeEvent,
  NativeMode,
  type NativeBinding,
  type NativeChannelOptions,
  type NativeShmChannel,
  type ShmToken,
} from './native.js';

export type ShmMode = 'inline' | 'worker' | 'adaptive';

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
}

export const SHM_DEFAULTS = Object.freeze({
  mode: 'adaptive' as ShmMode,
  spinMicros: 200,
  batchMax: 64,
  ringBytes: 1 << 20,
  slotBytes: 64 << 10,
  attachTimeoutMs: 5000,
});

/** An Error with a stable `code` (ENOENT, EPERM, EBADTOKEN, ENATIVE, ETIMEDOUT, ECANCELED, ESHMCORRUPT, ...). */
export class ShmError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ShmError';
  }
}

function requireBinding(): NativeBinding {
  if (!binding) throw new ShmError('ENATIVE', `native addon unavailable: ${nativeStatus.reason ?? 'unknown reason'}`);
  return binding;
}

function int(name: string, v: number | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min || v > max) throw new ShmError('EINVAL', `${name} must be an integer from ${min} to ${max} (got ${v})`);
  return v;
}

/** Validates options, fills defaults and resolves `adaptive` to `worker` on a single-core machine. */
export function resolveShmOptions(options: ShmOptions = {}): ResolvedShmOptions {
  const requestedMode = options.mode ?? SHM_DEFAULTS.mode;
  if (requestedMode !== 'inline' && requestedMode !== 'worker' && requestedMode !== 'adaptive') {
    throw new ShmError('EINVAL', `mode must be inline, worker or adaptive (got ${String(requestedMode)})`);
  }
  const ringBytes = int('ringBytes', options.ringBytes, SHM_DEFAULTS.ringBytes, 4096, 2 ** 30);
  if ((ringBytes & (ringBytes - 1)) !== 0) throw new ShmError('EINVAL', `ringBytes must be a power of two (got ${ringBytes})`);
  // No spare core to poll on: polling would only steal time from the peer.
  const mode = requestedMode === 'adaptive' && availableParallelism() < 2 ? 'worker' : requestedMode;
  return {
    mode,
    requestedMode,
    spinMicros: int('spinMicros', options.spinMicros, SHM_DEFAULTS.spinMicros, 0, 1_000_000),
    batchMax: int('batchMax', options.batchMax, SHM_DEFAULTS.batchMax, 1, 65536),
    ringBytes,
    slotBytes: int('slotBytes', options.slotBytes, SHM_DEFAULTS.slotBytes, 1, 2 ** 30),
  };
}

function defaultDirBase(): string {
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

const SHM_NAME = /^\/fp-[0-9a-f]{32}$/;
const DIR_NAME = /^\/.*\/fastpath-shm-[A-Za-z0-9]{6}$/;
const KEY = /^[0-9a-f]{32}$/;

/** Checks that a value received from the peer is a well-formed token. Throws ShmError('EBADTOKEN'). */
export function parseShmToken(value: unknown): ShmToken {
  const t = value as Partial<ShmToken> | null;
  const bad = (what: string): never => {
    throw new ShmError('EBADTOKEN', `invalid shm token: ${what}`);
  };
  if (typeof t !== 'object' || t === null) return bad('not an object');
  if (t.v !== 1) bad(`unsupported version ${String(t.v)}`);
  if (typeof t.shm !== 'string' || !SHM_NAME.test(t.shm)) bad('shm name');
  if (typeof t.dir !== 'string' || !DIR_NAME.test(t.dir) || t.dir.includes('/../') || t.dir.includes('/./')) bad('dir');
  if (typeof t.key !== 'string' || !KEY.test(t.key)) bad('key');
  const rb = t.ringBytes;
  if (typeof rb !== 'number' || !Number.isInteger(rb) || rb < 4096 || rb > 2 ** 30 || (rb & (rb - 1)) !== 0) bad('ringBytes');
  return { v: 1, shm: t.shm!, dir: t.dir!, ringBytes: rb!, key: t.key! };
}

function nativeOptions(o: ResolvedShmOptions, dirBase?: string): NativeChannelOptions {
  return {
    ringBytes: o.ringBytes,
    slotBytes: o.slotBytes,
    batchMax: o.batchMax,
    spinMicros: o.spinMicros,
    mode: NativeMode[o.mode],
    ...(dirBase !== undefined ? { dirBase } : {}),
  };
}

function toError(e: unknown): ShmError {
  const err = e as { code?: unknown; message?: unknown };
  return new ShmError(typeof err?.code === 'string' ? err.code : 'EIO', String(err?.message ?? e), { cause: e });
}

/** How long close() waits for the peer to take the queued bytes before it destroys the channel. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * A core `Connection` over a native shm channel. Reading starts when `onData` is set and pauses
 * (bytes stay in the ring, backpressuring the peer) while it is null.
 */
export class ShmConnection implements Connection {
  readonly tier = 'shm' as const;
  onClose: ((err?: Error) => void) | null = null;
  onDrain: (() => void) | null = null;
  /** Resolved options; `options.mode` is the effective mode. */
  readonly options: ResolvedShmOptions;
  private dataFn: ((chunk: Uint8Array) => void) | null = null;
  private isClosed = false;
  private closing = false;
  private closeTimer: NodeJS.Timeout | undefined;
  /** Set by the offer to hear about the attach. */
  onAttachedInternal: (() => void) | null = null;

  /** @internal Use createShmOffer() or attachShm(). */
  constructor(
    private readonly channel: NativeShmChannel,
    options: ResolvedShmOptions,
    readonly local: string,
    readonly remote: string,
  ) {
    this.options = options;
  }

  get mode(): ShmMode {
    return this.options.mode;
  }

  get onData(): ((chunk: Uint8Array) => void) | null {
    return this.dataFn;
  }

  set onData(fn: ((chunk: Uint8Array) => void) | null) {
    this.dataFn = fn;
    if (!this.isClosed && !this.closing) this.channel.setReading(fn !== null);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get pendingBytes(): number {
    return this.isClosed ? 0 : this.channel.pending();
  }

  write(bytes: Uint8Array): void {
    if (this.isClosed || this.closing || bytes.length === 0) return;
    this.channel.write(bytes);
  }

  close(): void {
    if (this.isClosed || this.closing) return;
    this.closing = true;
    if (this.channel.close()) {
      process.nextTick(() => this.finish());
      return;
    }
    // Queued bytes still wait for ring space; do not wait for a stuck peer forever.
    this.closeTimer = setTimeout(() => this.destroy(new ShmError('ETIMEDOUT', 'shm close: the peer did not take the queued bytes')), CLOSE_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  destroy(err?: Error): void {
    if (this.isClosed) return;
    this.channel.destroy();
    this.finish(err);
  }

  /** Native diagnostics: mode, knobs, and whether the loop is polling or the doorbell is armed. */
  info(): ReturnType<NativeShmChannel['info']> {
    return this.channel.info();
  }

  /** @internal Tests only: overwrite a header field as a hostile peer would. */
  pokeForTest(offset: number, value: bigint, width: 4 | 8): boolean {
    return this.channel.pokeForTest(offset, value, width);
  }

  /** @internal The native callback. */
  handle(kind: number, arg?: Buffer | Buffer[] | string): void {
    switch (kind) {
      case NativeEvent.DATA:
        this.dataFn?.(arg as Buffer);
        break;
      case NativeEvent.BATCH:
        for (const chunk of arg as Buffer[]) {
          if (this.isClosed || !this.dataFn) break;
          this.dataFn(chunk);
        }
        break;
      case NativeEvent.ATTACHED:
        this.onAttachedInternal?.();
        break;
      case NativeEvent.DRAIN:
        this.onDrain?.();
        break;
      case NativeEvent.CLOSED:
        this.finish(typeof arg === 'string' ? new ShmError('ESHMCORRUPT', arg) : undefined);
        break;
    }
  }

  private finish(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    const cb = this.onClose;
    this.onClose = null;
    this.dataFn = null;
    this.onDrain = null;
    this.onAttachedInternal = null;
    cb?.(err);
  }
}

export interface ShmOffer {
  /** Send this to the peer (it is plain JSON); the peer calls attachShm(token). */
  readonly token: ShmToken;
  /** Resolves once the peer has attached (the names are unlinked by then); rejects on timeout or cancel. */
  readonly attached: Promise<ShmConnection>;
  /** Withdraws the offer: unlinks everything and rejects `attached`. No effect once attached. */
  cancel(reason?: string): void;
}

function describeToken(t: ShmToken, side: 0 | 1): string {
  return `shm:${t.shm}#${side}`;
}

/** Creates a segment and doorbells and waits for one peer to attach. Throws ShmError if the addon is unavailable or creation fails. */
export function createShmOffer(options: ShmOfferOptions = {}): ShmOffer {
  const b = requireBinding();
  const resolved = resolveShmOptions(options);
  const timeoutMs = int('attachTimeoutMs', options.attachTimeoutMs, SHM_DEFAULTS.attachTimeoutMs, 1, 2 ** 31 - 1);
  let conn: ShmConnection | null = null;
  let channel: NativeShmChannel;
  try {
    channel = new b.ShmChannel(0, null, nativeOptions(resolved, options.dirBase ?? defaultDirBase()), (kind, arg) => conn?.handle(kind, arg));
  } catch (e) {
    throw toError(e);
  }
  const token = channel.token();
  const c = new ShmConnection(channel, resolved, describeToken(token, 0), describeToken(token, 1));
  conn = c;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let rejectFn: (err: Error) => void = () => {};
  const attached = new Promise<ShmConnection>((resolve, reject) => {
    rejectFn = reject;
    c.onAttachedInternal = () => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      c.onClose = null;
      resolve(c);
    };
    c.onClose = (err) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      reject(err ?? new ShmError('ECANCELED', 'shm offer closed before the peer attached'));
    };
  });
  // A caller that never awaits must not get an unhandled rejection.
  attached.catch(() => {});
  const cancel = (reason = 'shm offer withdrawn'): void => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    c.onClose = null;
    c.destroy();
    rejectFn(new ShmError(reason.includes('timed out') ? 'ETIMEDOUT' : 'ECANCELED', reason));
  };
  timer = setTimeout(() => cancel(`shm offer timed out: no peer attached within ${timeoutMs} ms`), timeoutMs);
  timer.unref();
  return { token, attached, cancel };
}

/** Attaches to an offer's token; synchronous. Throws ShmError (EBADTOKEN, ENOENT, EPERM, ENATIVE, ...). */
export function attachShm(token: unknown, options: ShmOptions = {}): ShmConnection {
  const b = requireBinding();
  const t = parseShmToken(token);
  const resolved = { ...resolveShmOptions({ ...options, ringBytes: t.ringBytes }) };
  let conn: ShmConnection | null = null;
  let channel: NativeShmChannel;
  try {
    channel = new b.ShmChannel(1, t, nativeOptions(resolved), (kind, arg) => conn?.handle(kind, arg));
  } catch (e) {
    throw toError(e);
  }
  conn = new ShmConnection(channel, resolved, describeToken(t, 1), describeToken(t, 0));
  return conn;
}
