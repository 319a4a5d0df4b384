import { FastpathError } from '../protocol/errors.js';
import { FrameType, HEADER_BYTES, MAX_ID } from '../protocol/frame.js';
import { AGENT, decodeWelcome, encodeHello, PROTOCOL_VERSIONS, type Welcome } from '../protocol/handshake.js';
import { decodeError, decodeGoAway, decodeResponse, encodeEmpty, encodeRequest, type GoAway, type Metadata } from '../protocol/messages.js';
import { ProtocolError } from '../protocol/errors.js';
import type { Connection } from '../transport/types.js';
import { budgetMs, isExpired, onDeadline, type Deadline } from './deadline.js';
import { FrameSession, type FrameSessionOptions } from './frame-session.js';

export interface ClientSessionOptions extends FrameSessionOptions {
  handshakeTimeoutMs: number;
  /** Sent in HELLO as connection-level metadata. */
  helloMeta?: Record<string, string>;
  /** Extra HELLO fields (used by later protocol features). */
  helloExtra?: Record<string, unknown>;
}

export interface ClientSessionEvents {
  onGoAway?: (g: GoAway) => void;
  onClose?: (reason: FastpathError) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: FastpathError) => void;
  cancelTimer: (() => void) | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The client end of one connection: the handshake, request ids, pending calls, deadlines and
 * cancellation. Many calls are multiplexed on the connection by request id.
 */
export class ClientSession extends FrameSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private peerMaxFrameBytes = 0;
  private readyResolve!: (w: Welcome) => void;
  private readyReject!: (e: FastpathError) => void;
  readonly ready: Promise<Welcome>;
  welcome: Welcome | undefined;
  events: ClientSessionEvents = {};
  private drainLastId = MAX_ID;

  constructor(conn: Connection, private readonly clientOptions: ClientSessionOptions) {
    super(conn, clientOptions);
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    const t = setTimeout(() => {
      if (this.state === 'handshake') {
        this.terminate(new FastpathError('UNAVAILABLE', `no WELCOME from ${conn.remote} within ${clientOptions.handshakeTimeoutMs} ms`, { details: { reason: 'handshake-timeout' } }));
      }
    }, clientOptions.handshakeTimeoutMs);
    t.unref();
    this.ready.then(() => clearTimeout(t), () => clearTimeout(t));
    conn.write(
      encodeHello({
        ...clientOptions.helloExtra,
        versions: [...PROTOCOL_VERSIONS],
        agent: AGENT,
        caps: [],
        maxFrameBytes: clientOptions.maxFrameBytes,
        ...(clientOptions.helloMeta ? { meta: clientOptions.helloMeta } : {}),
      }),
    );
  }

  get inFlight(): number {
    return this.pending.size;
  }

  protected onFrame(type: number, _flags: number, id: number, body: Uint8Array): void {
    switch (type) {
      case FrameType.RESPONSE: {
        const p = this.take(id);
        if (p) p.resolve(decodeResponse(body));
        break;
      }
      case FrameType.ERROR: {
        const err = decodeError(body);
        if (id === 0) {
          this.terminate(err);
          return;
        }
        this.take(id)?.reject(err);
        break;
      }
      case FrameType.WELCOME:
        if (this.state !== 'handshake') throw new ProtocolError('unexpected-frame', 'WELCOME after the handshake');
        this.welcome = decodeWelcome(body);
        if (!PROTOCOL_VERSIONS.includes(this.welcome.version)) {
          throw new ProtocolError('bad-handshake', `server chose protocol version ${this.welcome.version}, which was not offered`);
        }
        this.peerMaxFrameBytes = this.welcome.maxFrameBytes;
        this.state = 'open';
        if (this.welcome.keepaliveMs > 0 || this.options.keepalive.intervalMs > 0) this.keepalive.start();
        this.readyResolve(this.welcome);
        break;
      case FrameType.GOAWAY:
        this.onGoAway(decodeGoAway(body));
        break;
      default:
        throw new ProtocolError('unexpected-frame', `a client does not accept frame type ${type}`);
    }
  }

  private onGoAway(g: GoAway): void {
    if (this.state === 'handshake') {
      // Refused during the handshake (e.g. version mismatch): surface the server's reason.
      this.closeReason = new FastpathError(g.code === 'OK' ? 'UNAVAILABLE' : g.code, g.message, { remote: true, details: { reason: 'goaway' } });
      this.terminate(this.closeReason);
      return;
    }
    if (g.code !== 'OK') {
      this.closeReason = new FastpathError('UNAVAILABLE', `server closed the connection: ${g.message}`, { remote: true, details: { reason: 'goaway', goawayCode: g.code } });
    }
    this.state = 'draining';
    this.drainLastId = g.lastId;
    // Calls the server never accepted will not be answered: fail them now, safe to retry elsewhere.
    for (const [id, p] of this.pending) {
      if (id > g.lastId) {
        this.take(id);
        p.reject(new FastpathError('UNAVAILABLE', `server is going away and did not accept this call: ${g.message}`, { details: { reason: 'goaway' } }));
      }
    }
    this.events.onGoAway?.(g);
    this.closeIfDrained();
  }

  private closeIfDrained(): void {
    if (this.state === 'draining' && this.pending.size === 0) {
      this.terminate(this.closeReason ?? new FastpathError('UNAVAILABLE', 'server closed the connection (GOAWAY)', { details: { reason: 'goaway' } }));
    }
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined; // a late answer to a call that already ended here
    this.pending.delete(id);
    p.cancelTimer?.();
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    if (this.state === 'draining') queueMicrotask(() => this.closeIfDrained());
    return p;
  }

  private allocateId(): number {
    let id = this.nextId;
    while (this.pending.has(id)) id = id >= MAX_ID ? 1 : id + 1;
    this.nextId = id >= MAX_ID ? 1 : id + 1;
    return id;
  }

  /**
   * Sends one unary call. Resolves with the decoded response or rejects with a FastpathError:
   * the server's error, DEADLINE_EXCEEDED, CANCELLED, or UNAVAILABLE when the connection ends.
   */
  call(method: string, payload: unknown, deadline: Deadline | undefined, metadata: Metadata | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.state !== 'open') {
      const why = this.state === 'draining' ? 'the connection is draining after GOAWAY' : this.closeReason?.message ?? 'the connection is not open';
      return Promise.reject(new FastpathError('UNAVAILABLE', `cannot call ${method}: ${why}`, { details: { reason: this.state } }));
    }
    if (signal?.aborted) return Promise.reject(cancelledError(method, signal));
    if (isExpired(deadline)) {
      return Promise.reject(new FastpathError('DEADLINE_EXCEEDED', `deadline for ${method} passed before it was sent`, { details: { budgetMs: 0 } }));
    }
    const id = this.allocateId();
    let frame: Buffer;
    try {
      frame = encodeRequest(id, method, budgetMs(deadline), metadata, payload);
    } catch (err) {
      return Promise.reject(new FastpathError('INVALID_ARGUMENT', `request for ${method} cannot be serialized: ${(err as Error).message}`, { cause: err }));
    }
    if (frame.length - HEADER_BYTES > this.peerMaxFrameBytes) {
      return Promise.reject(
        new FastpathError('RESOURCE_EXHAUSTED', `request for ${method} is ${frame.length - HEADER_BYTES} bytes, over the server's maxFrameBytes ${this.peerMaxFrameBytes}`, {
          details: { reason: 'frame-too-large', limit: this.peerMaxFrameBytes, size: frame.length - HEADER_BYTES },
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, cancelTimer: undefined, signal: undefined, onAbort: undefined };
      if (deadline !== undefined) {
        const budget = budgetMs(deadline);
        p.cancelTimer = onDeadline(deadline, () => {
          if (this.take(id) === undefined) return;
          this.sendCancel(id);
          reject(new FastpathError('DEADLINE_EXCEEDED', `${method} did not finish within its deadline (${budget} ms)`, { details: { budgetMs: budget } }));
        });
      }
      if (signal) {
        p.signal = signal;
        p.onAbort = () => {
          if (this.take(id) === undefined) return;
          this.sendCancel(id);
          reject(cancelledError(method, signal));
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.set(id, p);
      this.conn.write(frame);
    });
  }

  private sendCancel(id: number): void {
    if (this.state === 'open' || this.state === 'draining') this.conn.write(encodeEmpty(FrameType.CANCEL, id));
  }

  /** Closes the connection; pending calls fail with `reason` (CANCELLED for client.close()). */
  close(reason: FastpathError): void {
    this.closeReason ??= reason;
    this.terminate(reason);
  }

  protected onClosed(reason: FastpathError): void {
    if (!this.welcome) this.readyReject(reason);
    const failWith = reason.code === 'CANCELLED' ? reason : new FastpathError('UNAVAILABLE', reason.message, { cause: reason, details: reason.details });
    for (const id of [...this.pending.keys()]) this.take(id)?.reject(failWith);
    this.events.onClose?.(reason);
  }
}

function cancelledError(method: string, signal: AbortSignal): FastpathError {
  const r: unknown = signal.reason;
  const why = r instanceof Error ? r.message : r === undefined ? 'aborted' : String(r);
  return new FastpathError('CANCELLED', `${method} was cancelled: ${why}`, { cause: r });
}
