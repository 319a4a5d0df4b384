import type { Socket } from 'node:net';
import { readPeerCredentials } from './peer-credentials.js';
import type { Connection, Tier } from './types.js';

/** Above this many queued bytes a flush uses writev (cork) instead of one concatenated buffer. */
const CONCAT_LIMIT = 64 * 1024;

/**
 * A Connection over a node:net Socket (TCP or Unix socket; a TLSSocket through TlsConnection).
 *
 * The first frame written in a tick goes to the socket at once; frames written after it in the
 * same tick are queued and flushed together on process.nextTick, so a burst of pipelined frames
 * costs two system calls while a lone frame pays no extra hop.
 */
export class NetConnection implements Connection {
  onData: ((chunk: Uint8Array) => void) | null = null;
  onClose: ((err?: Error) => void) | null = null;
  onDrain: (() => void) | null = null;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private isClosed = false;
  private closeError: Error | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly flushFn = (): void => this.flush();
  /** Someone saw bytes pending: report when they are all handed to the OS, even without backpressure. */
  private drainWanted = false;
  private readonly afterWrite = (): void => {
    if (this.drainWanted && this.queued === 0 && this.socket.writableLength === 0) {
      this.drainWanted = false;
      this.onDrain?.();
    }
  };

  constructor(
    readonly socket: Socket,
    readonly tier: Tier,
    readonly remote: string,
    readonly local: string,
  ) {
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData?.(chunk));
    socket.on('drain', () => {
      this.drainWanted = false;
      this.onDrain?.();
    });
    socket.on('error', (err) => {
      this.closeError ??= this.explainError(err);
    });
    socket.on('close', () => this.finish());
    // A peer that half-closes gets fully closed: the protocol has no use for half-open sockets.
    socket.on('end', () => socket.end());
  }

  /** Lets a subclass turn a socket error into a clearer one (TLS names the OpenSSL reason). */
  protected explainError(err: Error): Error {
    return err;
  }

  /** Lets a subclass give a reason to a close that came without an error. */
  protected explainClose(): Error | undefined {
    return undefined;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  peerUid(): number | undefined {
    if (this.tier !== 'uds') return undefined;
    // node:net keeps the descriptor on its internal handle; it is how native code reads SO_PEERCRED.
    const fd = (this.socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    return readPeerCredentials(fd)?.uid;
  }

  get pendingBytes(): number {
    const n = this.bufferedBytes;
    if (n > 0) this.drainWanted = true;
    return n;
  }

  get bufferedBytes(): number {
    return this.queued + this.socket.writableLength;
  }

  write(bytes: Uint8Array): void {
    if (this.isClosed) return;
    if (!this.flushScheduled) {
      // The first frame of a tick goes out at once (lowest latency for a lone call); frames
      // written later in the same tick are queued and leave together on process.nextTick.
      this.flushScheduled = true;
      queueMicrotask(this.flushFn);
      if (!this.socket.destroyed) this.socket.write(bytes, this.drainWanted ? this.afterWrite : undefined);
      return;
    }
    this.queue.push(bytes);
    this.queued += bytes.length;
  }

  private flush(): void {
    this.flushScheduled = false;
    const q = this.queue;
    if (q.length === 0 || this.isClosed || this.socket.destroyed) return;
    const total = this.queued;
    this.queue = [];
    this.queued = 0;
    const cb = this.drainWanted ? this.afterWrite : undefined;
    if (q.length === 1) {
      this.socket.write(q[0]!, cb);
    } else if (total <= CONCAT_LIMIT) {
      this.socket.write(Buffer.concat(q, total), cb);
    } else {
      this.socket.cork();
      for (let i = 0; i < q.length; i++) this.socket.write(q[i]!, i === q.length - 1 ? cb : undefined);
      this.socket.uncork();
    }
  }

  close(): void {
    if (this.isClosed) return;
    this.flush();
    this.socket.end();
    // If the peer never closes its side, do not wait for it forever.
    this.closeTimer = setTimeout(() => this.socket.destroy(), 2000);
    this.closeTimer.unref();
  }

  destroy(err?: Error): void {
    if (err) this.closeError ??= err;
    this.queue = [];
    this.queued = 0;
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    // Nothing may keep a closed connection (and its session) reachable.
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    const cb = this.onClose;
    this.onClose = null;
    this.onData = null;
    this.onDrain = null;
    cb?.(this.closeError ?? this.explainClose());
  }
}
