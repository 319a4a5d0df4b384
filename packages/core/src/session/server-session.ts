import { FastpathError, ProtocolError } from '../protocol/errors.js';
import { FrameType, HEADER_BYTES, RequestFlag } from '../protocol/frame.js';
import { decodeRequest, encodeError, encodeGoAway, encodeResponse } from '../protocol/messages.js';
import { decodeCredit, decodeStreamData } from '../protocol/stream-messages.js';
import type { Connection } from '../transport/types.js';
import type { Broker, QueueLimits } from './broker.js';
import { fromBudget, onDeadline } from './deadline.js';
import { limitError, type ServerLimits } from './limits.js';
import { ServerCall } from './server-call.js';
import { channels, type CallEndMessage, type CallStartMessage } from '../observe/diagnostics.js';
import { ServerHandshake, type ServerHandshakeHost, type ServerHandshakeOptions } from './server-handshake.js';
import { pumpStream, ServerStreamState, type MethodKind } from './server-stream.js';
import { ServerSubscriptions, type PubSubAuth, type SlowConsumerInfo } from './server-subscriptions.js';

export type { PreparedOffer, ServerHandshakeHost } from './server-handshake.js';

/** A method as the session runs it. */
export interface RegisteredMethod {
  kind: MethodKind;
  invoke: MethodInvoker;
  /** Validates each streamed request message (client-stream and bidi). */
  validateMessage?: (message: unknown) => unknown;
}

export interface PubSubConfig {
  broker: Broker;
  auth: PubSubAuth;
  limits: QueueLimits;
  highWaterBytes: number;
  onSlowConsumer(info: SlowConsumerInfo, session: ServerSession): void;
}

/** What the session calls to run a method. It may return a value or a promise. */
export type MethodInvoker = (request: unknown, call: ServerCall) => unknown;

export interface ServerSessionHost extends ServerHandshakeHost {
  lookup(method: string): RegisteredMethod | undefined;
  pubsub: PubSubConfig;
  onClosed(session: ServerSession, reason: FastpathError): void;
  /** A call finished (for metrics and draining). */
  onCallEnd?(session: ServerSession): void;
}

export interface ServerSessionOptions extends ServerHandshakeOptions {
  exposeStack: boolean;
  /** Per-connection limits (maxConnections is the server's). */
  limits: ServerLimits;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The server end of one connection: dispatching REQUESTs, deadlines and CANCEL, streams,
 * subscriptions, and draining on GOAWAY (the handshake and the upgrade are in ServerHandshake).
 */
export class ServerSession extends ServerHandshake {
  private readonly inflight = new Map<number, ServerCall>();
  private highestId = 0;
  private readonly streams = new Map<number, ServerStreamState>();
  private subscriptions: ServerSubscriptions | undefined;
  /** conn.pendingBytes as of the frame being handled (read once per frame, in admitFrame). */
  private pendingNow = 0;
  /** The connection's id on the diagnostics channels (the server sets it to ConnectionInfo.id). */
  connectionId = 0;

  constructor(
    conn: Connection,
    private readonly host: ServerSessionHost,
    private readonly serverOptions: ServerSessionOptions,
  ) {
    super(conn, host, serverOptions);
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  protected override lastAcceptedId(): number {
    return this.highestId;
  }

  /**
   * The pending-bytes limit, checked before every frame from the client: a client that keeps
   * sending while twice the limit waits unsent (it does not read) loses the connection.
   */
  protected override admitFrame(): boolean {
    const limit = this.serverOptions.limits.maxPendingBytes;
    if (limit === Infinity) return true;
    // bufferedBytes: reading pendingBytes would ask for a drain callback on every write.
    const pending = this.conn.closed ? 0 : (this.conn.bufferedBytes ?? this.conn.pendingBytes);
    this.pendingNow = pending;
    if (pending < 2 * limit || this.state === 'closed') return true;
    this.protocolFailureWith(
      limitError('max-pending-bytes', `the client does not read: ${pending} bytes wait to be sent to it (limit ${limit}, closing at twice that)`, limit, { pending }),
    );
    return false;
  }

  /** New work is refused while the client has `maxPendingBytes` or more waiting unsent. */
  private pendingRefusal(): FastpathError | undefined {
    const limit = this.serverOptions.limits.maxPendingBytes;
    if (this.pendingNow < limit) return undefined;
    return limitError('max-pending-bytes', `${this.pendingNow} bytes wait to be sent to this client (limit ${limit}): read what the server sent before asking for more`, limit, {
      pending: this.pendingNow,
    });
  }

  protected onFrame(type: number, _flags: number, id: number, body: Uint8Array): void {
    if (this.handleHandshakeFrame(type, body)) return;
    switch (type) {
      case FrameType.REQUEST:
        this.onRequest(id, _flags, body);
        break;
      case FrameType.STREAM_DATA:
        this.streamFor(id)?.onData(decodeStreamData(body));
        break;
      case FrameType.STREAM_END:
        this.streamFor(id)?.onEnd();
        break;
      case FrameType.CREDIT:
        this.streamFor(id)?.gate.grant(decodeCredit(body));
        break;
      case FrameType.SUBSCRIBE:
        this.seen(id);
        this.subs().onSubscribe(id, body);
        break;
      case FrameType.UNSUBSCRIBE:
        this.subs().onUnsubscribe(id);
        break;
      case FrameType.PUBLISH:
        if (id !== 0) this.seen(id);
        this.subs().onPublish(id, body);
        break;
      case FrameType.CANCEL: {
        const call = this.inflight.get(id);
        if (call) this.end(call, new FastpathError('CANCELLED', 'the client cancelled the call', { details: { reason: 'client-cancel' } }), false);
        break;
      }
      case FrameType.GOAWAY:
        // The client is leaving; it will close the socket.
        break;
      default:
        throw new ProtocolError('unexpected-frame', `a server does not accept frame type ${type} here`);
    }
  }

  private seen(id: number): void {
    if (id > this.highestId) this.highestId = id;
  }

  /** The stream state for a frame's id; undefined for a late frame; throws for an id never used. */
  private streamFor(id: number): ServerStreamState | undefined {
    const st = this.streams.get(id);
    if (!st && id > this.highestId) throw new ProtocolError('unknown-id', `stream frame for id ${id}, which was never opened`);
    return st;
  }

  private subs(): ServerSubscriptions {
    if (!this.subscriptions) {
      const ps = this.host.pubsub;
      this.subscriptions = new ServerSubscriptions(
        {
          broker: ps.broker,
          auth: ps.auth,
          limits: ps.limits,
          highWaterBytes: ps.highWaterBytes,
          onSlowConsumer: (info) => ps.onSlowConsumer(info, this),
          disconnect: (err) => this.protocolFailureWith(err),
          peer: () => this.peer,
          conn: () => this.out,
          highestId: () => this.highestId,
          peerMaxFrameBytes: () => this.peerMaxFrameBytes,
          maxSubscriptions: this.serverOptions.limits.maxSubscriptions,
          pendingRefusal: () => this.pendingRefusal(),
        },
        this.hello?.echo !== false,
      );
    }
    return this.subscriptions;
  }

  /** Subscriptions and queued events of this connection (for metrics and tests). */
  get subscriptionCount(): number {
    return this.subscriptions?.count ?? 0;
  }

  /** Bytes written on the current channel and not yet taken by the OS. */
  get writePending(): number {
    return this.conn.closed ? 0 : (this.conn.bufferedBytes ?? this.conn.pendingBytes);
  }

  get queuedEventBytes(): number {
    return this.subscriptions?.queuedBytes ?? 0;
  }

  protected override onWritable(): void {
    this.subscriptions?.onWritable();
  }

  private onRequest(id: number, flags: number, body: Uint8Array): void {
    if (id === 0) throw new ProtocolError('bad-id', 'request id 0 is reserved for connection-level frames');
    if (this.inflight.has(id)) throw new ProtocolError('duplicate-id', `request id ${id} is already in flight`);
    const req = decodeRequest(body);
    this.seen(id);
    if (this.state === 'draining') {
      this.refuseCall(id, req.method, new FastpathError('UNAVAILABLE', 'server is shutting down', { details: { reason: 'draining' } }));
      return;
    }
    const limits = this.serverOptions.limits;
    const overPending = this.pendingRefusal();
    if (overPending) {
      this.refuseCall(id, req.method, overPending);
      return;
    }
    if (this.inflight.size >= limits.maxConcurrentCalls) {
      this.refuseCall(id, req.method, limitError('max-concurrent-calls', `too many concurrent calls on this connection (limit ${limits.maxConcurrentCalls})`, limits.maxConcurrentCalls));
      return;
    }
    const method = this.host.lookup(req.method);
    if (method === undefined) {
      this.refuseCall(id, req.method, new FastpathError('UNIMPLEMENTED', `unknown method "${req.method}"`, { details: { method: req.method } }));
      return;
    }
    const cs = (flags & RequestFlag.CLIENT_STREAM) !== 0;
    const ss = (flags & RequestFlag.SERVER_STREAM) !== 0;
    const asked: MethodKind = cs ? (ss ? 'bidi' : 'client-stream') : ss ? 'server-stream' : 'unary';
    if (asked !== method.kind) {
      this.refuseCall(id, req.method, new FastpathError('FAILED_PRECONDITION', `${req.method} is a ${method.kind} method, but was called as ${asked}`, { details: { method: req.method, reason: 'wrong-kind' } }));
      return;
    }
    if (asked !== 'unary' && this.streams.size >= limits.maxStreams) {
      this.refuseCall(id, req.method, limitError('max-streams', `too many streams open on this connection (limit ${limits.maxStreams})`, limits.maxStreams));
      return;
    }
    const deadline = fromBudget(req.budgetMs);
    const call = new ServerCall(id, req.method, req.metadata, deadline, this.peer);
    call.startedAt = this.stats.begin(this.receivedAt);
    if (channels.callStart.hasSubscribers) channels.callStart.publish({ side: 'server', connection: this.connectionId, method: req.method, id } satisfies CallStartMessage);
    this.inflight.set(id, call);
    if (deadline !== undefined) {
      const budget = req.budgetMs;
      call.cancelTimer = onDeadline(deadline, () => {
        this.end(call, new FastpathError('DEADLINE_EXCEEDED', `${req.method} exceeded its deadline (${budget} ms)`, { details: { budgetMs: budget } }), true);
      });
      if (call.done) return;
    }
    let input = req.payload;
    let st: ServerStreamState | undefined;
    if (method.kind !== 'unary') {
      st = new ServerStreamState((f) => this.send(f), id, cs);
      this.streams.set(id, st);
      if (cs) input = st.requests(method.validateMessage);
    }
    let result: unknown;
    try {
      result = method.invoke(input, call);
    } catch (err) {
      this.fail(call, err);
      return;
    }
    if (ss) {
      const stream = st!;
      const host = { write: (f: Buffer) => this.send(f), maxFrameBytes: this.peerMaxFrameBytes, succeedStream: (c: ServerCall) => this.finish(c), fail: (c: ServerCall, e: unknown) => this.fail(c, e) };
      if (isThenable(result)) result.then((iterable) => pumpStream(host, call, stream, iterable), (err) => this.fail(call, err));
      else void pumpStream(host, call, stream, result);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.succeed(call, value),
        (err) => this.fail(call, err),
      );
    } else {
      this.succeed(call, result);
    }
  }

  /** Answers a call that never reached a handler (counted as a failed call). */
  private refuseCall(id: number, method: string, err: FastpathError): void {
    this.send(encodeError(id, err));
    this.stats.end(this.stats.begin(), err.code);
    if (channels.callEnd.hasSubscribers) channels.callEnd.publish({ side: 'server', connection: this.connectionId, method, id, code: err.code, durationUs: 0 } satisfies CallEndMessage);
  }

  private succeed(call: ServerCall, value: unknown): void {
    if (call.done) return;
    let frame: Buffer;
    try {
      frame = encodeResponse(call.id, value);
    } catch (err) {
      this.fail(call, new FastpathError('INTERNAL', `the response of ${call.method} cannot be serialized: ${(err as Error).message}`, { details: { reason: 'encode-failed' } }));
      return;
    }
    if (frame.length - HEADER_BYTES > this.peerMaxFrameBytes) {
      this.fail(
        call,
        new FastpathError('RESOURCE_EXHAUSTED', `the response of ${call.method} is ${frame.length - HEADER_BYTES} bytes, over the client's maxFrameBytes ${this.peerMaxFrameBytes}`, {
          details: { reason: 'frame-too-large', limit: this.peerMaxFrameBytes, size: frame.length - HEADER_BYTES },
        }),
      );
      return;
    }
    call.done = true;
    this.send(frame);
    this.finish(call);
  }

  private fail(call: ServerCall, err: unknown): void {
    if (call.done) return;
    let e: FastpathError;
    if (FastpathError.is(err)) {
      e = err;
    } else {
      e = new FastpathError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
      if (err instanceof Error && err.stack) Object.defineProperty(e, 'stack', { value: err.stack });
    }
    call.done = true;
    call.failedWith = e.code;
    this.send(this.errorFrame(call.id, e, this.serverOptions.exposeStack));
    this.finish(call);
  }

  /** An ERROR frame that fits the client's maxFrameBytes: an oversized one loses its details, then its message tail. */
  private errorFrame(id: number, e: FastpathError, exposeStack: boolean): Buffer {
    let frame = encodeError(id, e, exposeStack);
    if (frame.length - HEADER_BYTES <= this.peerMaxFrameBytes) return frame;
    const limit = Math.max(16, Math.min(1024, this.peerMaxFrameBytes - 64));
    frame = encodeError(id, new FastpathError(e.code, e.message.length > limit ? `${e.message.slice(0, limit)}…` : e.message));
    return frame;
  }

  /** Ends a call that did not complete: aborts its signal and, if `reply`, answers with the error. */
  private end(call: ServerCall, reason: FastpathError, reply: boolean): void {
    if (call.done) return;
    call.abort(reason);
    call.done = true;
    call.failedWith = reason.code;
    if (reply && this.state !== 'closed') this.send(this.errorFrame(call.id, reason, false));
    this.finish(call);
  }

  /** Forgets a call whose answer (if any) is already written; closes a drained connection. */
  private finish(call: ServerCall): void {
    call.done = true;
    if (!call.counted) {
      call.counted = true;
      if (channels.callEnd.hasSubscribers) {
        const durationUs = call.startedAt > 0 ? Math.round((performance.now() - call.startedAt) * 1000) : undefined;
        channels.callEnd.publish({ side: 'server', connection: this.connectionId, method: call.method, id: call.id, code: call.failedWith ?? 'OK', durationUs } satisfies CallEndMessage);
      }
      this.stats.end(call.startedAt, call.failedWith);
    }
    call.cancelTimer?.();
    this.inflight.delete(call.id);
    const st = this.streams.get(call.id);
    if (st) {
      this.streams.delete(call.id);
      st.close(new FastpathError('CANCELLED', 'the call has ended', { details: { reason: 'call-ended' } }));
    }
    this.host.onCallEnd?.(this);
    if (this.state === 'draining' && this.inflight.size === 0) this.closeGracefully();
  }

  /** Starts a graceful drain: GOAWAY, no new calls, close when in-flight calls are done. */
  drain(message = 'server is shutting down'): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') {
      this.terminate(new FastpathError('UNAVAILABLE', message, { details: { reason: 'draining' } }));
      return;
    }
    if (this.state === 'draining') return;
    this.state = 'draining';
    this.send(encodeGoAway('OK', message, this.highestId));
    if (this.inflight.size === 0) this.closeGracefully();
  }

  /** Fails every call still running with `reason`, answering the client, then closes. */
  abortAll(reason: FastpathError): void {
    for (const call of [...this.inflight.values()]) this.end(call, reason, true);
    this.closeGracefully();
  }

  private closeGracefully(): void {
    this.terminate(new FastpathError('UNAVAILABLE', 'server closed the connection', { details: { reason: 'draining' } }));
  }

  protected onClosed(reason: FastpathError): void {
    this.subscriptions?.clear();
    this.handshakeClosed();
    const r = new FastpathError('CANCELLED', `connection closed: ${reason.message}`, { cause: reason, details: { reason: 'connection-closed' } });
    for (const call of [...this.inflight.values()]) this.end(call, r, false);
    if (ProtocolError.is(reason) || reason.details?.reason === 'keepalive-timeout') this.host.reportError(reason, this);
    this.host.onClosed(this, reason);
  }
}
