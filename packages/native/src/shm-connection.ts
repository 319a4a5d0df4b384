/**
 * ShmConnection: a core `Connection` over a pair of shared-memory byte rings (the `shm` tier,
 * docs/fast-path.md; offers and attaches are made in shm-offer.ts).
 *
 * The rings carry a byte stream, exactly like a socket: `write()` takes whole frames, `onData`
 * receives chunks of at most `slotBytes` that the frame parser reassembles. Negotiation, nonces and
 * the liveness socket are the caller's business (core's upgrade.ts).
 */
import type { Connection } from '@fastpath/core';
import { NativeEvent, type NativeShmChannel } from './native.js';
import { ShmError } from './shm-error.js';
import { SHM_SPIN_MAX_MICROS, type ResolvedShmOptions, type ShmMode } from './shm-options.js';

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
