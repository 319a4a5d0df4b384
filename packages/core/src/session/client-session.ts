import { FastpathError, ProtocolError } from '../protocol/errors.js';
import { FrameType, HEADER_BYTES, MAX_ID, RequestFlag } from '../protocol/frame.js';
import { decodeError, decodeGoAway, decodeResponse, encodeEmpty, encodeRequest, type GoAway, type Metadata } from '../protocol/messages.js';
import { decodeCredit, decodeStreamData, decodeSubjectBody, encodeSubjectFrame, encodeSubscribe } from '../protocol/stream-messages.js';
import type { Connection } from '../transport/types.js';
import { ClientHandshake, type ClientSessionOptions } from './client-handshake.js';
import { ClientStream, type StreamKind } from './client-stream.js';
import { budgetMs, isExpired, onDeadline, type Deadline } from './deadline.js';
import type { Code } from '../protocol/codes.js';
import { channels, type CallEndMessage, type CallStartMessage, type DisconnectMessage } from '../observe/diagnostics.js';

export type { ClientFastPath, ClientSessionEvents, ClientSessionOptions } from './client-handshake.js';

/** Where a subscription's events go, at the API level (it outlives a connection). */
export interface SubscriptionSink {
  /** The server accepted the SUBSCRIBE. */
  onReady(): void;
  /** The server refused it (INVALID_ARGUMENT, PERMISSION_DENIED...). */
  onRefused(err: FastpathError): void;
  onEvent(subject: string, payload: unknown, bytes: number): void;
  /** The connection ended. */
  onSessionClosed(reason: FastpathError): void;
}
/** Decides, when a call fails, whether to send it again elsewhere (after a reconnect). */
export interface CallRescuer {
  /** A promise settling the call instead of `err`, or undefined to let it fail. */
  rescue(err: FastpathError, method: string, payload: unknown, deadline: Deadline | undefined, metadata: Metadata | undefined, signal: AbortSignal | undefined): Promise<unknown> | undefined;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: FastpathError) => void;
  cancelTimer: (() => void) | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The call's method and start (CallStats.begin), for metrics; undefined for a publish ack. */
  method: string | undefined;
  /** Asked, on failure, for a new attempt to settle the call with instead (the client's reconnection). */
  rescue: CallRescuer | undefined;
  /** What a new attempt needs (kept only when there is a rescuer). */
  payload: unknown;
  deadline: Deadline | undefined;
  metadata: Metadata | undefined;
  start: number;
  id: number;
}

/**
 * The client end of one connection: request ids, pending calls, deadlines, cancellation, streams
 * and subscriptions (the handshake and the fast-path negotiation are in ClientHandshake). Many
 * calls are multiplexed on the connection by request id.
 */
export class ClientSession extends ClientHandshake {
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, ClientStream>();
  private readonly subs = new Map<number, SubscriptionSink>();
  private nextId = 1;

  private wrapped = false;
  private drainLastId = MAX_ID;

  constructor(conn: Connection, clientOptions: ClientSessionOptions) {
    super(conn, clientOptions);
  }

  get inFlight(): number {
    return this.pending.size + this.streams.size;
  }

  /** Whether `id` was ever allocated here (a frame for an id never used is a protocol error). */
  private known(id: number): boolean {
    return this.wrapped || (id > 0 && id < this.nextId);
  }

  protected onFrame(type: number, _flags: number, id: number, body: Uint8Array): void {
    if (this.handleHandshakeFrame(type, body)) return;
    switch (type) {
      case FrameType.RESPONSE: {
        const p = this.pending.get(id);
        if (p) {
          // Decoded before the call is taken: a body that does not decode fails the connection,
          // and the call with it (UNAVAILABLE), instead of leaving a taken call never settled.
          const value = decodeResponse(body);
          this.take(id);
          this.done(p, value, this.receivedAt);
        } else if (this.streams.has(id)) this.streams.get(id)!.onResponse(decodeResponse(body));
        else if (this.subs.has(id)) this.subs.get(id)!.onReady();
        else if (!this.known(id)) throw new ProtocolError('unknown-id', `RESPONSE for id ${id}, which was never used`);
        break;
      }
      case FrameType.ERROR: {
        const err = decodeError(body);
        if (id === 0) {
          this.events.onError?.(err);
          return;
        }
        const p = this.take(id);
        if (p) this.failed(p, err, this.receivedAt);
        else if (this.streams.has(id)) this.streams.get(id)!.fail(err, false);
        else if (this.subs.has(id)) {
          const sink = this.subs.get(id)!;
          this.subs.delete(id);
          sink.onRefused(err);
        }
        break;
      }
      case FrameType.STREAM_DATA:
        this.stream(id)?.onData(decodeStreamData(body));
        break;
      case FrameType.STREAM_END:
        this.stream(id)?.onEnd();
        break;
      case FrameType.CREDIT:
        this.stream(id)?.onCredit(decodeCredit(body));
        break;
      case FrameType.EVENT: {
        const sink = this.subs.get(id);
        if (sink) {
          const { subject, payload } = decodeSubjectBody(body, 'EVENT');
          sink.onEvent(subject, payload, body.length);
        } else if (!this.known(id)) throw new ProtocolError('unknown-id', `EVENT for subscription ${id}, which was never created`);
        break;
      }
      case FrameType.GOAWAY:
        this.onGoAway(decodeGoAway(body));
        break;
      default:
        throw new ProtocolError('unexpected-frame', `a client does not accept frame type ${type}`);
    }
  }

  private onGoAway(g: GoAway): void {
    // (A GOAWAY during the handshake is a refusal, handled by ClientHandshake.)
    if (g.code !== 'OK') {
      const why = g.details?.reason;
      this.closeReason = new FastpathError('UNAVAILABLE', `server closed the connection: ${g.message}`, {
        remote: true,
        details: { ...g.details, reason: 'goaway', goawayCode: g.code, ...(typeof why === 'string' ? { goawayReason: why } : {}) },
      });
    }
    this.state = 'draining';
    this.drainLastId = g.lastId;
    // Calls the server never accepted will not be answered: fail them now, safe to retry elsewhere.
    for (const [id, p] of this.pending) {
      if (id > g.lastId) {
        this.take(id);
        this.failed(p, new FastpathError('UNAVAILABLE', `server is going away and did not accept this call: ${g.message}`, { details: { reason: 'goaway', unprocessed: true } }));
      }
    }
    this.events.onGoAway?.(g);
    this.closeIfDrained();
  }

  /** The stream for a frame's id; undefined for a late frame; throws for an id never used. */
  private stream(id: number): ClientStream | undefined {
    const st = this.streams.get(id);
    if (!st && !this.known(id)) throw new ProtocolError('unknown-id', `stream frame for id ${id}, which was never opened`);
    return st;
  }

  private closeIfDrained(): void {
    if (this.state === 'draining' && this.pending.size === 0 && this.streams.size === 0) {
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
    while (this.pending.has(id) || this.streams.has(id) || this.subs.has(id)) id = id >= MAX_ID ? 1 : id + 1;
    if (id >= MAX_ID) this.wrapped = true;
    this.nextId = id >= MAX_ID ? 1 : id + 1;
    return id;
  }

  /** Throws why a new call cannot start now (closed, draining, aborted, expired). */
  private checkCanStart(method: string, deadline: Deadline | undefined, signal: AbortSignal | undefined): void {
    if (this.state !== 'open') {
      const why = this.state === 'draining' ? 'the connection is draining after GOAWAY' : this.closeReason?.message ?? 'the connection is not open';
      // Never sent: safe to send again on another connection, idempotent or not.
      throw new FastpathError('UNAVAILABLE', `cannot call ${method}: ${why}`, { details: { reason: this.state, unprocessed: true } });
    }
    if (signal?.aborted) throw cancelledError(method, signal);
    if (isExpired(deadline)) throw new FastpathError('DEADLINE_EXCEEDED', `deadline for ${method} passed before it was sent`, { details: { budgetMs: 0 } });
  }

  /** Opens a streaming call. Throws (synchronously) when it cannot start. */
  openStream(method: string, kind: StreamKind, payload: unknown, deadline: Deadline | undefined, metadata: Metadata | undefined, signal: AbortSignal | undefined): ClientStream {
    this.checkCanStart(method, deadline, signal);
    const id = this.allocateId();
    const flags = (kind === 'server-stream' ? 0 : RequestFlag.CLIENT_STREAM) | (kind === 'client-stream' ? 0 : RequestFlag.SERVER_STREAM);
    const frame = encodeRequest(id, method, budgetMs(deadline), metadata, kind === 'server-stream' ? payload : null, flags);
    if (frame.length - HEADER_BYTES > this.peerMaxFrameBytes) {
      throw new FastpathError('RESOURCE_EXHAUSTED', `request for ${method} is ${frame.length - HEADER_BYTES} bytes, over the server's maxFrameBytes ${this.peerMaxFrameBytes}`, {
        details: { reason: 'frame-too-large', limit: this.peerMaxFrameBytes, size: frame.length - HEADER_BYTES },
      });
    }
    const st = new ClientStream(
      {
        write: (f) => this.send(f),
        maxFrameBytes: this.peerMaxFrameBytes,
        cancel: (sid) => this.sendCancel(sid),
        release: (sid) => {
          this.streams.delete(sid);
          if (this.state === 'draining') queueMicrotask(() => this.closeIfDrained());
        },
      },
      id,
      method,
      kind,
    );
    let cancelTimer: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    if (deadline !== undefined) {
      const budget = budgetMs(deadline);
      cancelTimer = onDeadline(deadline, () =>
        st.fail(new FastpathError('DEADLINE_EXCEEDED', `${method} did not finish within its deadline (${budget} ms)`, { details: { budgetMs: budget } }), true),
      );
    }
    if (signal) {
      onAbort = () => st.fail(cancelledError(method, signal), true);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    const start = this.stats.begin();
    if (channels.callStart.hasSubscribers) channels.callStart.publish({ side: 'client', connection: this.connectionId, method, id } satisfies CallStartMessage);
    st.cleanup = () => {
      cancelTimer?.();
      if (onAbort) signal!.removeEventListener('abort', onAbort);
      this.ended(method, id, start, st.error?.code);
    };
    this.streams.set(id, st);
    this.send(frame);
    return st;
  }

  /** Sends SUBSCRIBE; events go to `sink`. Returns the subscription id on this connection. */
  subscribe(subject: string, queue: string | undefined, sink: SubscriptionSink): number {
    if (this.state !== 'open') throw new FastpathError('UNAVAILABLE', `cannot subscribe to ${subject}: the connection is not open`);
    const sid = this.allocateId();
    this.subs.set(sid, sink);
    this.send(encodeSubscribe(sid, queue === undefined ? { subject } : { subject, queue }));
    return sid;
  }

  unsubscribe(sid: number): void {
    if (!this.subs.delete(sid)) return;
    if (this.state === 'open' || this.state === 'draining') this.send(encodeEmpty(FrameType.UNSUBSCRIBE, sid));
  }

  /**
   * Sends PUBLISH. With `ack`, resolves when the server has routed it (or rejects with its
   * refusal); without, returns at once and a refusal arrives as a connection-level error.
   */
  publish(subject: string, payload: unknown, ack: boolean): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new FastpathError('UNAVAILABLE', `cannot publish to ${subject}: the connection is not open`, { details: { reason: this.state, unprocessed: true } }));
    const id = ack ? this.allocateId() : 0;
    let frame: Buffer;
    try {
      frame = encodeSubjectFrame(FrameType.PUBLISH, id, subject, payload);
    } catch (err) {
      return Promise.reject(new FastpathError('INVALID_ARGUMENT', `message for ${subject} cannot be serialized: ${(err as Error).message}`, { cause: err }));
    }
    const size = frame.length - HEADER_BYTES;
    if (size > this.peerMaxFrameBytes) {
      return Promise.reject(new FastpathError('RESOURCE_EXHAUSTED', `message for ${subject} is ${size} bytes, over the server's maxFrameBytes ${this.peerMaxFrameBytes}`, { details: { limit: this.peerMaxFrameBytes, size } }));
    }
    if (!ack) {
      this.send(frame);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve: () => resolve(), reject, cancelTimer: undefined, signal: undefined, onAbort: undefined, method: undefined, rescue: undefined, payload: undefined, deadline: undefined, metadata: undefined, start: 0, id });
      this.send(frame);
    });
  }

  /**
   * Sends one unary call. Resolves with the decoded response or rejects with a FastpathError:
   * the server's error, DEADLINE_EXCEEDED, CANCELLED, or UNAVAILABLE when the connection ends.
   */
  call(
    method: string,
    payload: unknown,
    deadline: Deadline | undefined,
    metadata: Metadata | undefined,
    signal: AbortSignal | undefined,
    rescue?: CallRescuer,
  ): Promise<unknown> {
    try {
      this.checkCanStart(method, deadline, signal);
    } catch (err) {
      return Promise.reject(err);
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
      const p: Pending = {
        resolve,
        reject,
        cancelTimer: undefined,
        signal,
        onAbort: undefined,
        method,
        rescue,
        payload: rescue ? payload : undefined,
        deadline,
        metadata: rescue ? metadata : undefined,
        start: this.stats.begin(),
        id,
      };
      if (channels.callStart.hasSubscribers) channels.callStart.publish({ side: 'client', connection: this.connectionId, method, id } satisfies CallStartMessage);
      if (deadline !== undefined) {
        const budget = budgetMs(deadline);
        p.cancelTimer = onDeadline(deadline, () => {
          if (this.take(id) === undefined) return;
          this.sendCancel(id);
          this.failed(p, new FastpathError('DEADLINE_EXCEEDED', `${method} did not finish within its deadline (${budget} ms)`, { details: { budgetMs: budget } }));
        });
      }
      if (signal) {
        p.onAbort = () => {
          if (this.take(id) === undefined) return;
          this.sendCancel(id);
          this.failed(p, cancelledError(method, signal));
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.set(id, p);
      this.send(frame);
    });
  }

  /** A call answered: counted, then resolved. */
  private done(p: Pending, value: unknown, at?: number): void {
    if (p.method !== undefined) this.ended(p.method, p.id, p.start, undefined, at);
    p.resolve(value);
  }

  /** A call failed: counted, then rejected. */
  private failed(p: Pending, err: FastpathError, at?: number): void {
    if (p.method !== undefined) this.ended(p.method, p.id, p.start, err.code, at);
    const again = p.rescue?.rescue(err, p.method!, p.payload, p.deadline, p.metadata, p.signal);
    if (again !== undefined) again.then(p.resolve, p.reject);
    else p.reject(err);
  }

  /** Counts a finished call in `stats` and reports it on the diagnostics channel. */
  private ended(method: string, id: number, start: number, code: Code | undefined, at?: number): void {
    if (channels.callEnd.hasSubscribers) {
      const durationUs = start > 0 ? Math.round(((at ?? performance.now()) - start) * 1000) : undefined;
      channels.callEnd.publish({ side: 'client', connection: this.connectionId, method, id, code: code ?? 'OK', durationUs } satisfies CallEndMessage);
    }
    this.stats.end(start, code, at);
  }

  private sendCancel(id: number): void {
    if (this.state === 'open' || this.state === 'draining') this.send(encodeEmpty(FrameType.CANCEL, id));
  }

  /** Closes the connection; pending calls fail with `reason` (CANCELLED for client.close()). */
  close(reason: FastpathError): void {
    this.closeReason ??= reason;
    this.terminate(reason);
  }

  protected override onClosed(reason: FastpathError): void {
    this.handshakeClosed(reason);
    if (channels.disconnect.hasSubscribers) {
      channels.disconnect.publish({ side: 'client', connection: this.connectionId, code: reason.code, reason: reason.message } satisfies DisconnectMessage);
    }
    // A call in flight may or may not have run on the server: only an idempotent one may be sent again.
    const failWith =
      reason.code === 'CANCELLED'
        ? reason
        : new FastpathError('UNAVAILABLE', reason.message, { cause: reason, details: { ...reason.details, reason: 'connection-lost', closeReason: reason.details?.reason ?? reason.code } });
    for (const id of [...this.pending.keys()]) {
      const p = this.take(id);
      if (p) this.failed(p, failWith);
    }
    for (const st of [...this.streams.values()]) st.fail(failWith, false);
    for (const sink of [...this.subs.values()]) sink.onSessionClosed(reason);
    this.subs.clear();
    this.events.onClose?.(reason);
  }
}

function cancelledError(method: string, signal: AbortSignal): FastpathError {
  const r: unknown = signal.reason;
  const why = r instanceof Error ? r.message : r === undefined ? 'aborted' : String(r);
  return new FastpathError('CANCELLED', `${method} was cancelled: ${why}`, { cause: r });
}
