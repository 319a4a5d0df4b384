import { FastpathError, ProtocolError } from '../protocol/errors.js';
import { FrameType, HEADER_BYTES, RequestFlag } from '../protocol/frame.js';
import { decodeRequest, encodeError, encodeGoAway, encodeResponse } from '../protocol/messages.js';
import { decodeCredit, decodeStreamData } from '../protocol/stream-messages.js';
import type { Connection } from '../transport/types.js';
import type { Broker, QueueLimits } from './broker.js';
import { fromBudget, onDeadline } from './deadline.js';
import { ServerCall } from './server-call.js';
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
  maxConcurrentCalls: number;
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
          conn: () => this.conn,
          highestId: () => this.highestId,
          peerMaxFrameBytes: () => this.peerMaxFrameBytes,
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
    return this.conn.closed ? 0 : this.conn.pendingBytes;
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
      this.conn.write(encodeError(id, new FastpathError('UNAVAILABLE', 'server is shutting down', { details: { reason: 'draining' } })));
      return;
    }
    if (this.inflight.size >= this.serverOptions.maxConcurrentCalls) {
      this.conn.write(
        encodeError(id, new FastpathError('RESOURCE_EXHAUSTED', `too many concurrent calls on this connection (limit ${this.serverOptions.maxConcurrentCalls})`, {
          details: { reason: 'max-concurrent-calls', limit: this.serverOptions.maxConcurrentCalls },
        })),
      );
      return;
    }
    const method = this.host.lookup(req.method);
    if (method === undefined) {
      this.conn.write(encodeError(id, new FastpathError('UNIMPLEMENTED', `unknown method "${req.method}"`, { details: { method: req.method } })));
      return;
    }
    const cs = (flags & RequestFlag.CLIENT_STREAM) !== 0;
    const ss = (flags & RequestFlag.SERVER_STREAM) !== 0;
    const asked: MethodKind = cs ? (ss ? 'bidi' : 'client-stream') : ss ? 'server-stream' : 'unary';
    if (asked !== method.kind) {
      this.conn.write(
        encodeError(id, new FastpathError('FAILED_PRECONDITION', `${req.method} is a ${method.kind} method, but was called as ${asked}`, { details: { method: req.method, reason: 'wrong-kind' } })),
      );
      return;
    }
    const deadline = fromBudget(req.budgetMs);
    const call = new ServerCall(id, req.method, req.metadata, deadline, this.peer);
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
      st = new ServerStreamState((f) => this.conn.write(f), id, cs);
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
      const host = { write: (f: Buffer) => this.conn.write(f), maxFrameBytes: this.peerMaxFrameBytes, succeedStream: (c: ServerCall) => this.finish(c), fail: (c: ServerCall, e: unknown) => this.fail(c, e) };
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
    this.conn.write(frame);
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
    this.conn.write(this.errorFrame(call.id, e, this.serverOptions.exposeStack));
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
    if (reply && this.state !== 'closed') this.conn.write(this.errorFrame(call.id, reason, false));
    this.finish(call);
  }

  /** Forgets a call whose answer (if any) is already written; closes a drained connection. */
  private finish(call: ServerCall): void {
    call.done = true;
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
    this.conn.write(encodeGoAway('OK', message, this.highestId));
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
