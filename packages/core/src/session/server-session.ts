import { FastpathError, ProtocolError, toFastpathError } from '../protocol/errors.js';
import { FrameType, HEADER_BYTES, RequestFlag } from '../protocol/frame.js';
import { decodeCredit, decodeStreamData } from '../protocol/stream-messages.js';
import { AGENT, decodeHello, encodeWelcome, negotiateVersion, type Hello } from '../protocol/handshake.js';
import { decodeRequest, encodeError, encodeGoAway, encodeResponse } from '../protocol/messages.js';
import { decodeUpgradeAck, encodeUpgrade, encodeUpgradeAck, parseHelloFastPath, type HelloFastPath } from '../protocol/upgrade-messages.js';
import type { Connection, Tier } from '../transport/types.js';
import { fromBudget, onDeadline } from './deadline.js';
import { FrameSession, type FrameSessionOptions } from './frame-session.js';
import { ServerCall, type PeerInfo } from './server-call.js';
import type { FastPathMode, OfferDecision, PathInfo } from './upgrade.js';
import type { Broker, QueueLimits } from './broker.js';
import { ServerSubscriptions, type PubSubAuth, type SlowConsumerInfo } from './server-subscriptions.js';
import { pumpStream, ServerStreamState, type MethodKind } from './server-stream.js';

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

/** An offer the server made, until the client attaches or gives up. */
export interface PreparedOffer {
  nonce: Uint8Array;
  params: Record<string, unknown>;
  /** Forgets the nonce and frees the tier's resources. */
  cancel(): void;
}

/** What the session calls to run a method. It may return a value or a promise. */
export type MethodInvoker = (request: unknown, call: ServerCall) => unknown;

export interface ServerSessionHost {
  lookup(method: string): RegisteredMethod | undefined;
  pubsub: PubSubConfig;
  /** A peer misbehaved (protocol error) or a handler failed in a way worth reporting. */
  reportError(err: FastpathError, session: ServerSession): void;
  /** The handshake finished. Throwing refuses the connection with that error. */
  onOpen(session: ServerSession): void;
  onClosed(session: ServerSession, reason: FastpathError): void;
  /** A call finished (for metrics and draining). */
  onCallEnd?(session: ServerSession): void;
  /** The server's fast-path mode and the tier it would offer this client. */
  fastPathMode(): FastPathMode;
  decideOffer(fastPath: HelloFastPath | undefined, current: Tier): OfferDecision;
  /** Prepares an offer; the attach arrives later through session.attachChannel(). */
  prepareOffer(tier: Tier, session: ServerSession): Promise<PreparedOffer>;
  /** The connection's path was decided (after the switch, or when it stays). */
  onPath(session: ServerSession, info: PathInfo): void;
}

export interface ServerSessionOptions extends FrameSessionOptions {
  handshakeTimeoutMs: number;
  exposeStack: boolean;
  maxConcurrentCalls: number;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The server end of one connection: the handshake, dispatching REQUESTs, deadlines and CANCEL,
 * and draining on GOAWAY.
 */
export class ServerSession extends FrameSession {
  private readonly inflight = new Map<number, ServerCall>();
  private highestId = 0;
  private peerMaxFrameBytes = 0;
  hello: Hello | undefined;
  peer: PeerInfo;
  pathInfo: PathInfo;
  private offer: PreparedOffer | undefined;
  private readonly streams = new Map<number, ServerStreamState>();
  private subscriptions: ServerSubscriptions | undefined;
  private offerReason: string | undefined;
  private writesSwitched = false;

  constructor(
    conn: Connection,
    private readonly host: ServerSessionHost,
    private readonly serverOptions: ServerSessionOptions,
  ) {
    super(conn, serverOptions);
    this.peer = { remote: conn.remote, path: conn.tier, meta: {}, agent: 'unknown' };
    this.pathInfo = { path: conn.tier, reason: 'negotiating' };
    const t = setTimeout(() => {
      if (this.state === 'handshake') this.protocolFailure(new ProtocolError('handshake-timeout', `no HELLO within ${serverOptions.handshakeTimeoutMs} ms`));
    }, serverOptions.handshakeTimeoutMs);
    t.unref();
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  protected override lastAcceptedId(): number {
    return this.highestId;
  }

  protected onFrame(type: number, _flags: number, id: number, body: Uint8Array): void {
    if (this.state === 'handshake') {
      if (type !== FrameType.HELLO) throw new ProtocolError('unexpected-frame', `expected HELLO, got frame type ${type}`);
      this.onHello(body);
      return;
    }
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
      case FrameType.UPGRADE_ACK: {
        const ack = decodeUpgradeAck(body);
        if ('switch' in ack && this.writesSwitched) {
          // The client's last frame on the old channel: read the new one from here on. The path
          // is updated first, so the calls held for the switch already see the new tier.
          this.offer = undefined;
          this.setPath(this.offerReason ? { path: this.tier, reason: this.offerReason } : { path: this.tier });
          this.switchReads();
        } else if ('fail' in ack) {
          if (this.writesSwitched) {
            // Too late to abandon: our frames already went to the new channel.
            throw new ProtocolError('bad-upgrade', `client abandoned the upgrade after the switch: ${ack.fail}`);
          }
          this.offer?.cancel();
          this.offer = undefined;
          this.dropStaged();
          this.setPath({ path: this.tier, reason: ack.fail });
        } else {
          throw new ProtocolError('bad-upgrade', 'unexpected UPGRADE_ACK');
        }
        break;
      }
      default:
        throw new ProtocolError('unexpected-frame', `a server does not accept frame type ${type} here`);
    }
  }

  private onHello(body: Uint8Array): void {
    const hello = decodeHello(body);
    let version: number;
    try {
      version = negotiateVersion(hello.versions);
    } catch (err) {
      const e = err as FastpathError;
      this.conn.write(encodeGoAway(e.code, e.message, 0));
      this.closeReason = e;
      this.host.reportError(e, this);
      this.terminate(e);
      return;
    }
    const fastPath = parseHelloFastPath(hello.fastPath);
    this.peerMaxFrameBytes = hello.maxFrameBytes;
    this.peer = { remote: this.conn.remote, path: this.conn.tier, meta: hello.meta ?? {}, agent: hello.agent };
    const decision = this.host.decideOffer(fastPath, this.conn.tier);
    const required = this.host.fastPathMode() === 'require' || fastPath?.mode === 'require';
    if (required && decision.tier === undefined && (this.conn.tier === 'tcp' || this.conn.tier === 'tcp-fastpath')) {
      this.refuse(new FastpathError('FAILED_PRECONDITION', `fast path required, but ${decision.reason}`, { details: { reason: 'fast-path-required' } }));
      return;
    }
    // Set only for connections that are accepted: the server reports 'connection'/'disconnect' for these.
    this.hello = hello;
    try {
      this.host.onOpen(this);
    } catch (err) {
      this.refuse(toFastpathError(err, 'UNAVAILABLE'));
      return;
    }
    this.state = 'open';
    this.conn.write(
      encodeWelcome({
        version,
        agent: AGENT,
        caps: [],
        maxFrameBytes: this.options.maxFrameBytes,
        keepaliveMs: this.options.keepalive.intervalMs,
        fastPath: decision.tier ? { offer: true, tier: decision.tier, ...(decision.reason ? { reason: decision.reason } : {}) } : { offer: false, reason: decision.reason },
      }),
    );
    this.keepalive.start();
    if (decision.tier) void this.makeOffer(decision.tier, decision.reason);
    else this.setPath({ path: this.tier, reason: decision.reason });
  }

  private refuse(e: FastpathError): void {
    this.conn.write(encodeGoAway(e.code, e.message, 0));
    this.closeReason = e;
    this.terminate(e);
  }

  private setPath(info: PathInfo): void {
    this.pathInfo = info;
    this.peer = { ...this.peer, path: info.path };
    this.host.onPath(this, info);
  }

  private async makeOffer(tier: Tier, reason: string | undefined): Promise<void> {
    this.offerReason = reason;
    let offer: PreparedOffer;
    try {
      offer = await this.host.prepareOffer(tier, this);
    } catch (err) {
      if (this.state === 'closed') return;
      const why = `attach failed: the server could not prepare ${tier}: ${(err as Error).message}`;
      this.conn.write(encodeUpgradeAck({ fail: why }));
      this.setPath({ path: this.tier, reason: why });
      return;
    }
    if (this.state === 'closed') {
      offer.cancel();
      return;
    }
    this.offer = offer;
    this.conn.write(encodeUpgrade({ tier, nonce: offer.nonce, params: offer.params }));
  }

  /** A client proved this session's nonce on a new channel: switch our writes to it. */
  attachChannel(conn: Connection, leftover: Uint8Array): void {
    if (this.state === 'closed' || this.offer === undefined || this.writesSwitched) {
      conn.destroy();
      return;
    }
    this.stageChannel(conn, leftover);
    this.switchWrites();
    this.writesSwitched = true;
  }

  /** The offer expired before the client attached. */
  offerExpired(): void {
    if (this.offer === undefined || this.writesSwitched) return;
    this.offer.cancel();
    this.offer = undefined;
    this.setPath({ path: this.tier, reason: 'attach failed: the client did not attach in time' });
  }

  protected override onStagedLost(): void {
    if (this.writesSwitched && this.state !== 'closed') {
      // Frames were already written to the channel that died: the session cannot continue intact.
      this.terminate(new FastpathError('UNAVAILABLE', 'the fast-path channel closed during the switch', { details: { reason: 'switch-failed' } }));
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
      const host = { write: (f: Buffer) => this.conn.write(f), succeedStream: (c: ServerCall) => this.finish(c), fail: (c: ServerCall, e: unknown) => this.fail(c, e) };
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
    this.offer?.cancel();
    this.offer = undefined;
    const r = new FastpathError('CANCELLED', `connection closed: ${reason.message}`, { cause: reason, details: { reason: 'connection-closed' } });
    for (const call of [...this.inflight.values()]) this.end(call, r, false);
    if (ProtocolError.is(reason) || reason.details?.reason === 'keepalive-timeout') this.host.reportError(reason, this);
    this.host.onClosed(this, reason);
  }
}
