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
import { isMainThread } from 'node:worker_threads';
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

/** An Error with a stable `code` (ENOENT, EPERM, EBADTOKEN, ENATIVE, ETIMEDOUT, ECANCELED, ESHMCORRUPT, EMAINTHREAD, ...). */
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
function checkSpinThread(o: ResolvedShmOptions): void {
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

/** "/fp-<8 hex pid>-<24 hex random>", or the older "/fp-<32 hex random>". */
const SHM_NAME = /^\/fp-(?:[0-9a-f]{8}-[0-9a-f]{24}|[0-9a-f]{32})$/;
/** ".../fastpath-shm-<pid>-XXXXXX", or the older ".../fastpath-shm-XXXXXX". */
const DIR_NAME = /^\/.*\/fastpath-shm-(?:[0-9]{1,10}-)?[A-Za-z0-9]{6}$/;
const KEY = /^[0-9a-f]{32}$/;
/** Windows: the two doorbell Events' base name, "fastpath-bell-<8 hex pid>-<24 hex>" (src/win/doorbell-win.cc). */
const WIN_BELL_NAME = /^fastpath-bell-[0-9a-f]{8}-[0-9a-f]{24}$/;

/** Checks that a value received from the peer is a well-formed token. Throws ShmError('EBADTOKEN'). */
export function parseShmToken(value: unknown): ShmToken {
  const t = value as Partial<ShmToken> | null;
  const bad = (what: string): never => {
    throw new ShmError('EBADTOKEN', `invalid shm token: ${what}`);
  };
  if (typeof t !== 'object' || t === null) return bad('not an object');
  if (t.v !== 1) bad(`unsupported version ${String(t.v)}`);
  if (typeof t.shm !== 'string' || !SHM_NAME.test(t.shm)) bad('shm name');
  if (process.platform === 'win32') {
    if (typeof t.dir !== 'string' || !WIN_BELL_NAME.test(t.dir)) bad('dir');
  } else if (typeof t.dir !== 'string' || !DIR_NAME.test(t.dir) || t.dir.includes('/../') || t.dir.includes('/./')) bad('dir');
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

/** The addon hands small chunks over as Uint8Array views of a pool: onData gets Buffers, as from a socket. */
function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** How long close() waits for the peer to take the queued bytes before it destroys the channel. */
const CLOSE_TIMEOUT_MS = 2000;

/** A flush concatenates runs of queued frames up to this many bytes into one native write; larger frames go alone. */
const CONCAT_LIMIT = 64 * 1024;

/**
 * A core `Connection` over a native shm channel. Reading starts when `onData` is set and pauses
 * (bytes stay in the ring, backpressuring the peer) while it is null.
 *
 * Writes are batched as core's NetConnection does: the first frame written in a tick goes to the
 * native side at once (a lone call pays no extra hop); frames written after it in the same tick
 * are queued and flushed together in a microtask, small ones concatenated into one native write.
 *
 * With `spin`, a write() queues one microtask (one per burst of writes) that spins for the reply.
 * A microtask, not inside write(): `onData` is never called from inside write(), so a caller can
 * write a request and then record it, as with a socket, and it never re-enters `onData`. It still
 * runs before the thread returns to its event loop. The spins of one loop turn share one window
 * of budgetMicros, so a stream of replies that each prompt a new request cannot keep the loop
 * from its timers and I/O for longer than that.
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
  /** The spin budget in µs; 0: no spin. */
  private readonly spinMicros: number;
  private spinQueued = false;
  /** Depth of native callbacks on the stack (spin() must not re-enter onData). */
  private handling = 0;
  private readonly spinTask = (): void => this.spinAfterWrite();
  /** Frames written after the first of this tick, waiting for the flush microtask. */
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private readonly flushFn = (): void => this.flush();
  /**
   * The bytes the native side holds (waiting for ring space), as of the last write() or DRAIN.
   * 0 is exact: only write() adds to them, and DRAIN says they reached 0 again. Above 0 it may be
   * stale (the loop flushes them without an event), so pendingBytes asks the addon then.
   */
  private nativePending = 0;
  /** Someone saw bytes pending: report onDrain when they are all gone, even if the addon never blocked. */
  private drainWanted = false;

  /** @internal Use createShmOffer() or attachShm(). */
  constructor(
    private readonly channel: NativeShmChannel,
    options: ResolvedShmOptions,
    readonly local: string,
    readonly remote: string,
  ) {
    this.options = options;
    this.spinMicros = options.spin?.budgetMicros ?? 0;
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

  /** Bytes written but not yet in the ring. No native call unless the addon holds some. */
  get pendingBytes(): number {
    const n = this.bufferedBytes;
    if (n > 0) this.drainWanted = true;
    return n;
  }

  get bufferedBytes(): number {
    if (this.isClosed) return 0;
    if (this.nativePending > 0) this.nativePending = Math.max(0, this.channel.pending());
    return this.queued + this.nativePending;
  }

  write(bytes: Uint8Array): void {
    if (this.isClosed || this.closing || bytes.length === 0) return;
    if (!this.flushScheduled) {
      // The first frame of a tick goes out at once; later ones leave together in the microtask
      // (queued before the spin's, so the spin sees them all written).
      this.flushScheduled = true;
      queueMicrotask(this.flushFn);
      this.writeNative(bytes);
    } else {
      this.queue.push(bytes);
      this.queued += bytes.length;
    }
    if (this.spinMicros > 0 && !this.spinQueued) {
      this.spinQueued = true;
      queueMicrotask(this.spinTask);
    }
  }

  private writeNative(bytes: Uint8Array): void {
    const r = this.channel.write(bytes);
    if (r >= 0) this.nativePending = r;
  }

  /** Hands the queued frames to the addon, in order; runs as a microtask, and before close/spin. */
  private flush(): void {
    this.flushScheduled = false;
    const q = this.queue;
    if (q.length === 0) return;
    this.queue = [];
    this.queued = 0;
    if (this.isClosed) return;
    let i = 0;
    while (i < q.length) {
      // A run of frames that fit CONCAT_LIMIT together goes as one buffer; a bigger frame alone.
      let j = i;
      let run = 0;
      while (j < q.length && (j === i || run + q[j]!.length <= CONCAT_LIMIT)) {
        run += q[j]!.length;
        j++;
        if (run > CONCAT_LIMIT) break;
      }
      this.writeNative(j - i === 1 ? q[i]! : Buffer.concat(q.slice(i, j), run));
      if (this.isClosed) return;
      i = j;
    }
    if (this.drainWanted && this.nativePending === 0 && !this.closing) {
      this.drainWanted = false;
      this.onDrain?.();
    }
  }

  /**
   * Spins once now: busy-polls for at most `budgetMicros` (default: the configured budget; at most
   * 100000) and hands what arrives to `onData` before it returns. Returns the chunks delivered: 0
   * when the budget ran out, or when called from inside `onData` (never re-entered), -1 when
   * closed. Only for connections created with the `spin` option (else EINVAL).
   */
  spin(budgetMicros: number = this.spinMicros): number {
    if (this.spinMicros === 0) throw new ShmError('EINVAL', 'spin() needs a connection created with the spin option');
    if (typeof budgetMicros !== 'number' || !(budgetMicros >= 0 && budgetMicros <= SHM_SPIN_MAX_MICROS)) {
      throw new ShmError('EINVAL', `spin budgetMicros must be a number from 0 to ${SHM_SPIN_MAX_MICROS} (got ${String(budgetMicros)})`);
    }
    if (this.isClosed) return -1;
    if (this.handling > 0 || this.closing) return 0;
    this.flush();
    if (this.isClosed) return -1;
    return this.channel.spin(budgetMicros);
  }

  /** The microtask queued by write(): spins for the reply, within this loop turn's window. */
  private spinAfterWrite(): void {
    this.spinQueued = false;
    // (A microtask runs with no JS below it, so `handling` is 0 here; checked all the same.)
    if (this.isClosed || this.closing || this.dataFn === null || this.handling > 0) return;
    this.flush(); // (already done by the flush microtask queued before this one; cheap when empty)
    if (this.isClosed) return;
    this.channel.spin(this.spinMicros, true);
  }

  close(): void {
    if (this.isClosed || this.closing) return;
    this.flush();
    if (this.isClosed) return;
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
    this.queue = [];
    this.queued = 0;
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
  handle(kind: number, arg?: Uint8Array | Uint8Array[] | string): void {
    this.handling++;
    try {
      this.dispatch(kind, arg);
    } finally {
      this.handling--;
    }
  }

  private dispatch(kind: number, arg?: Uint8Array | Uint8Array[] | string): void {
    switch (kind) {
      case NativeEvent.DATA:
        this.dataFn?.(asBuffer(arg as Uint8Array));
        break;
      case NativeEvent.BATCH:
        for (const chunk of arg as Uint8Array[]) {
          if (this.isClosed || !this.dataFn) break;
          this.dataFn(asBuffer(chunk));
        }
        break;
      case NativeEvent.ATTACHED:
        this.onAttachedInternal?.();
        break;
      case NativeEvent.DRAIN:
        this.nativePending = 0;
        this.drainWanted = false;
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
    this.queue = [];
    this.queued = 0;
    this.nativePending = 0;
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

/** Creates a segment and doorbells and waits for one peer to attach. Throws ShmError if the addon is unavailable, the options are refused (EINVAL, EMAINTHREAD) or creation fails. */
export function createShmOffer(options: ShmOfferOptions = {}): ShmOffer {
  const b = requireBinding();
  const resolved = resolveShmOptions(options);
  checkSpinThread(resolved);
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

/** Attaches to an offer's token; synchronous. Throws ShmError (EBADTOKEN, ENOENT, EPERM, ENATIVE, EMAINTHREAD, ...). */
export function attachShm(token: unknown, options: ShmOptions = {}): ShmConnection {
  const b = requireBinding();
  const t = parseShmToken(token);
  const resolved = { ...resolveShmOptions({ ...options, ringBytes: t.ringBytes }) };
  checkSpinThread(resolved);
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
