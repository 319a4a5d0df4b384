import { EventEmitter } from 'node:events';
import type TypedEmitter from 'typed-emitter';
import { FastpathError } from '../protocol/errors.js';
import { checkPublishSubject, checkSubscribeSubject } from '../protocol/subject.js';
import type { CallRescuer, ClientSession, SubscriptionSink } from '../session/client-session.js';
import type { Metadata } from '../protocol/messages.js';
import type { ClientStream, StreamKind } from '../session/client-stream.js';
import { isExpired, toDeadline, type Deadline } from '../session/deadline.js';
import type { PathInfo } from '../session/upgrade.js';
import type { Tier } from '../transport/types.js';
import type { ClientEvents, ClientOptions } from './client-options.js';
import { openSession } from './connect-once.js';
import { connectToTarget, type ConnectTarget } from './connect-target.js';
import { composeClient, type ClientCallInfo, type ClientInterceptor } from './interceptors.js';
import type { CallOptions, ServiceClient, ServiceDefinition, UnaryServiceClient } from './service.js';
import { buildServiceProxy, type ProxyHost } from './service-proxy.js';
import { SessionKeeper, type KeeperState } from './session-keeper.js';
import { connectionMetrics, type ClientMetrics } from '../observe/metrics.js';
import { channels } from '../observe/diagnostics.js';
import { pumpSource, streamCall, type StreamCall } from './streaming.js';
import { Subscription, type SubscribeOptions } from './subscription.js';

export type { ClientEvents, ClientOptions } from './client-options.js';

/** A call is sent again at most this many times when it has no deadline to bound it. */
const MAX_RETRIES_WITHOUT_DEADLINE = 5;

/** Where a subscription lives on the current connection. */
interface SubEntry {
  session: ClientSession;
  sid: number;
}

/**
 * A connection to a fastpath server. Create one with `connect()`.
 * Calls are multiplexed by request id; thousands can be in flight at once. When the connection
 * drops, the client reconnects (asking the target again, renegotiating the tier), restores its
 * subscriptions, and holds new calls until it is back.
 */
export class Client extends (EventEmitter as new () => TypedEmitter<ClientEvents>) implements ProxyHost {
  private readonly interceptors: ClientInterceptor[];
  private invoke: (call: ClientCallInfo) => Promise<unknown>;
  private readonly proxies = new Map<string, unknown>();
  /** Active subscriptions; the entry is missing while waiting for a connection. */
  private readonly subscriptions = new Map<Subscription<unknown>, SubEntry | undefined>();
  private readonly keeper: SessionKeeper;
  private retries = 0;
  readonly validateResponses: boolean;

  /** @internal use connect() */
  constructor(session: ClientSession, address: string, options: ClientOptions, target: ConnectTarget = address) {
    super();
    this.interceptors = [...(options.interceptors ?? [])];
    this.invoke = this.compose();
    this.validateResponses = options.validateResponses !== false;
    this.keeper = new SessionKeeper(session, address, target, options, {
      path: (info) => this.emit('path', info),
      goaway: (g) => this.emit('goaway', g),
      error: (err) => this.reportError(err),
      disconnect: (reason) => this.emit('disconnect', reason),
      reconnecting: (info) => this.emit('reconnecting', info),
      installed: (s) => this.restoreSubscriptions(s),
      reconnect: (info) => this.emit('reconnect', info),
      closed: (reason) => this.onFinished(reason),
    });
  }

  private get session(): ClientSession {
    return this.keeper.session;
  }

  /** The address of the current connection. */
  get address(): string {
    return this.keeper.address;
  }

  /** 'open', 'reconnecting' (calls wait in a bounded queue) or 'closed' (final). */
  get state(): KeeperState {
    return this.keeper.state;
  }

  /** The tier this connection runs on: 'shm' | 'uds' | 'tcp-fastpath' | 'tcp'. */
  get path(): Tier {
    return this.session.tier;
  }

  /** The tier and, when it is not the fastest, why. */
  get pathInfo(): PathInfo {
    return this.session.pathInfo;
  }

  get closed(): boolean {
    return this.keeper.state === 'closed';
  }

  /** Calls waiting for an answer, or for a connection. */
  get inFlight(): number {
    return this.session.inFlight + this.keeper.queued;
  }

  /**
   * What this client has done on its current connection: the tier and why, calls by outcome and
   * error code, a latency histogram summary (µs), bytes each way; and reconnects and retries.
   */
  metrics(): ClientMetrics {
    return {
      address: this.address,
      state: this.state,
      reconnects: this.keeper.reconnects,
      retries: this.retries,
      connection: connectionMetrics(this.session),
    };
  }

  /** Adds a client interceptor (runs around every call, in the order added). */
  use(interceptor: ClientInterceptor): this {
    this.interceptors.push(interceptor);
    this.invoke = this.compose();
    return this;
  }

  private compose(): (call: ClientCallInfo) => Promise<unknown> {
    return composeClient(this.interceptors, (c) => this.send(c.method, c.request, c.options));
  }

  private send(method: string, request: unknown, options: CallOptions | undefined): Promise<unknown> {
    let deadline: Deadline | undefined;
    try {
      deadline = deadlineOf(options);
    } catch (err) {
      return Promise.reject(err);
    }
    const idempotent = options?.idempotent === true;
    if (this.keeper.state !== 'open') return this.sendAgain(method, request, deadline, options?.metadata, options?.signal, idempotent, undefined, 0);
    // With reconnection on, the session asks a rescuer before failing a call (no extra promise or
    // closure per call on the way to success).
    const rescuer = !this.keeper.reconnectEnabled ? undefined : idempotent ? this.idempotentRescuer : this.rescuer;
    return this.session.call(method, request, deadline, options?.metadata, options?.signal, rescuer);
  }

  private readonly rescuer: CallRescuer = { rescue: (err, m, req, d, md, sig) => this.rescue(err, false, m, req, d, md, sig) };
  private readonly idempotentRescuer: CallRescuer = { rescue: (err, m, req, d, md, sig) => this.rescue(err, true, m, req, d, md, sig) };

  /** A call failed on its connection: send it again after the reconnect, if that is safe. */
  private rescue(err: FastpathError, idempotent: boolean, method: string, request: unknown, deadline: Deadline | undefined, metadata: Metadata | undefined, signal: AbortSignal | undefined): Promise<unknown> | undefined {
    if (!this.mayRetry(err, idempotent, deadline, 0)) return undefined;
    // A microtask later, once the client has noticed the drop and is waiting for the next connection.
    return Promise.resolve().then(() => this.sendAgain(method, request, deadline, metadata, signal, idempotent, err, 0));
  }

  /** Whether a failed call may be sent again on the next connection. */
  private mayRetry(err: FastpathError, idempotent: boolean, deadline: Deadline | undefined, retries: number): boolean {
    if (err.code !== 'UNAVAILABLE' || this.keeper.state === 'closed' || isExpired(deadline)) return false;
    if (deadline === undefined && retries >= MAX_RETRIES_WITHOUT_DEADLINE) return false;
    // Never sent, or refused unseen by a draining server: always safe. Lost in flight: only if idempotent.
    return err.details?.unprocessed === true || (idempotent && err.details?.reason === 'connection-lost');
  }

  /** Waits for a connection and sends the call, again after each drop while that is allowed. */
  private async sendAgain(
    method: string,
    request: unknown,
    deadline: Deadline | undefined,
    metadata: Metadata | undefined,
    signal: AbortSignal | undefined,
    idempotent: boolean,
    failed: FastpathError | undefined,
    retries: number,
  ): Promise<unknown> {
    let last = failed;
    for (;;) {
      if (last) {
        if (!this.mayRetry(last, idempotent, deadline, retries)) throw last;
        retries++;
        this.retries++;
        this.emit('retry', { method, attempt: retries, reason: last });
      }
      const session = await this.keeper.whenOpen(method, deadline, signal);
      try {
        return await session.call(method, request, deadline, metadata, signal);
      } catch (err) {
        last = err as FastpathError;
      }
    }
  }

  private reportError(err: FastpathError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(`fastpath: ${err.code}: ${err.message} (listen to the client's 'error' event to handle this)`, 'FastpathWarning');
  }

  /** The sink a session delivers to: a session's end is not the subscription's end. */
  private sessionSink(sub: Subscription<unknown>): SubscriptionSink {
    const sink = sub.sink;
    return {
      onReady: () => sink.onReady(),
      onRefused: (err) => {
        this.subscriptions.delete(sub);
        sink.onRefused(err);
      },
      onEvent: (subject, payload, bytes) => sink.onEvent(subject, payload, bytes),
      onSessionClosed: () => {},
    };
  }

  private subscribeOn(session: ClientSession, sub: Subscription<unknown>): void {
    const sid = session.subscribe(sub.subject, sub.queue, this.sessionSink(sub));
    this.subscriptions.set(sub, { session, sid });
  }

  /** After a reconnect: every subscription (and queue-group membership) is sent again. */
  private restoreSubscriptions(session: ClientSession): void {
    for (const sub of this.subscriptions.keys()) this.subscribeOn(session, sub);
  }

  private onFinished(reason: FastpathError): void {
    const subs = [...this.subscriptions.keys()];
    this.subscriptions.clear();
    for (const sub of subs) sub.sink.onSessionClosed(reason);
    this.emit('close', reason);
  }

  /**
   * Subscribes to a subject (`*` matches one token, `>` the rest). Iterate the result, or pass
   * `callback`. Throws INVALID_ARGUMENT for a malformed subject; a refusal by the server
   * (PERMISSION_DENIED) rejects `sub.ready` and ends the iteration with that error. The
   * subscription survives reconnects (messages published while disconnected are not delivered).
   */
  subscribe<T = unknown>(subject: string, options: SubscribeOptions<T> = {}): Subscription<T> {
    checkSubscribeSubject(subject);
    return new Subscription<T>(subject, options, {
      subscribe: (sub) => {
        if (this.keeper.state === 'closed') {
          queueMicrotask(() => sub.sink.onSessionClosed(this.keeper.closeReason ?? new FastpathError('UNAVAILABLE', 'the client is closed')));
          return;
        }
        if (this.keeper.state === 'open') this.subscribeOn(this.session, sub);
        else this.subscriptions.set(sub, undefined);
      },
      unsubscribe: (s) => {
        const entry = this.subscriptions.get(s);
        this.subscriptions.delete(s);
        if (entry) entry.session.unsubscribe(entry.sid);
      },
      slowConsumer: (info) => {
        if (channels.slowConsumer.hasSubscribers) channels.slowConsumer.publish({ side: 'client', connection: this.session.connectionId, ...info });
        this.emit('slow-consumer', info);
      },
      error: (err) => this.reportError(err),
    });
  }

  /**
   * Publishes a message through the server to every matching subscriber. Without `ack` it
   * returns at once and never rejects (a refusal, or a closed connection, arrives as an 'error'
   * event); with `ack: true` it resolves when the server has routed it, or rejects with
   * PERMISSION_DENIED / INVALID_ARGUMENT / UNAVAILABLE. An invalid subject throws either way.
   * While reconnecting, publishes wait in the call queue.
   */
  publish(subject: string, message: unknown, options: { ack?: boolean } = {}): Promise<void> {
    checkPublishSubject(subject);
    const ack = options.ack === true;
    const sent =
      this.keeper.state === 'open'
        ? this.session.publish(subject, message, ack)
        : this.keeper.whenOpen(`a publish to ${subject}`, undefined, undefined).then((s) => s.publish(subject, message, ack));
    if (ack) return sent;
    // Fire and forget: never a rejected promise nobody awaits (an unhandled rejection ends the
    // process); a failure to send is reported as an 'error' event instead.
    return sent.catch((err: FastpathError) => this.reportError(err));
  }

  private openStream(method: string, kind: StreamKind, payload: unknown, options: CallOptions | undefined): ClientStream | Promise<ClientStream> {
    const deadline = deadlineOf(options);
    const open = (s: ClientSession): ClientStream => s.openStream(method, kind, payload, deadline, options?.metadata, options?.signal);
    if (this.keeper.state === 'open') return open(this.session);
    return this.keeper.whenOpen(method, deadline, options?.signal).then(open);
  }

  /** Calls a server-streaming method: iterate the result for the server's messages. */
  serverStream<R = unknown>(method: string, request?: unknown, options?: CallOptions, map?: (v: unknown) => R): StreamCall<R> {
    return streamCall(() => this.openStream(method, 'server-stream', request, options), map);
  }

  /** Calls a client-streaming method: sends every message of `source`, resolves with the response. */
  async clientStream<R = unknown>(method: string, source: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions): Promise<R> {
    const st = await this.openStream(method, 'client-stream', null, options);
    void pumpSource(st, source);
    return (await st.response) as R;
  }

  /** Calls a bidirectional-streaming method: sends `source`, iterate the result for the server's messages. */
  bidiStream<R = unknown>(method: string, source: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions, map?: (v: unknown) => R): StreamCall<R> {
    const started = (st: ClientStream): ClientStream => {
      void pumpSource(st, source);
      return st;
    };
    return streamCall(() => {
      const st = this.openStream(method, 'bidi', null, options);
      return st instanceof Promise ? st.then(started) : started(st);
    }, map);
  }

  /**
   * FAILED_PRECONDITION when this client's contract fingerprint for `method` differs from the
   * one the connected server announced in WELCOME; undefined when they match or either has none.
   */
  versionSkew(method: string, mine: string | undefined): FastpathError | undefined {
    const theirs = (this.session.welcome?.fingerprints as Record<string, unknown> | undefined)?.[method];
    if (mine === undefined || typeof theirs !== 'string' || theirs === mine) return undefined;
    return new FastpathError('FAILED_PRECONDITION', `the contract of ${method} differs between client and server (client fingerprint ${mine}, server fingerprint ${theirs}); regenerate the stubs`, {
      details: { reason: 'contract-mismatch', method, clientFingerprint: mine, serverFingerprint: theirs },
    });
  }

  /** Calls a method by its full wire name (`Service.method`). */
  call<R = unknown>(method: string, request?: unknown, options?: CallOptions): Promise<R> {
    if (this.interceptors.length === 0) return this.send(method, request, options) as Promise<R>;
    return this.invoke({ method, request, options: options ?? {} }) as Promise<R>;
  }

  /**
   * A typed proxy for a service. With a ServiceDefinition it has every method (by shape) and
   * topic. With just the service name it can only know unary methods: streams and topics need the
   * definition (codegen writes it), so the name-only proxy's type leaves them out.
   */
  service<S>(def: ServiceDefinition<S>): ServiceClient<S>;
  service<S>(name: string): UnaryServiceClient<S>;
  service<S>(def: ServiceDefinition<S> | string): ServiceClient<S> | UnaryServiceClient<S> {
    if (typeof def !== 'string') return buildServiceProxy(this, def as ServiceDefinition<unknown>) as ServiceClient<S>;
    let proxy = this.proxies.get(def);
    if (!proxy) {
      proxy = buildServiceProxy(this, def);
      this.proxies.set(def, proxy);
    }
    return proxy as UnaryServiceClient<S>;
  }

  /** Closes the connection and stops reconnecting. Pending and waiting calls fail with CANCELLED. */
  close(): Promise<void> {
    this.keeper.finish(new FastpathError('CANCELLED', 'client closed', { details: { reason: 'client-closed' } }));
    return this.session.drained;
  }
}

/** The absolute deadline of a call's options; a malformed one is INVALID_ARGUMENT. */
function deadlineOf(options: CallOptions | undefined): Deadline | undefined {
  try {
    return toDeadline(options?.deadline);
  } catch (err) {
    throw new FastpathError('INVALID_ARGUMENT', (err as Error).message);
  }
}

/**
 * Connects to a server and completes the handshake. `target` is a URL, a list of URLs (tried in
 * turn, or at random with `addressOrder: 'random'`), or a resolver called before every attempt
 * (and again before every reconnect). With `connectRetry: { attempts }` the first connect is
 * retried with exponential backoff and jitter while the server is unavailable.
 *
 *     const client = await connect('tcp://127.0.0.1:7000');
 *     const client2 = await connect(['tcp://10.0.0.5:7000', 'tcp://10.0.0.6:7000'], { connectRetry: { attempts: 5 } });
 */
export async function connect(target: ConnectTarget, options: ClientOptions = {}): Promise<Client> {
  let address = '';
  const session = await connectToTarget(target, options, (url) => {
    address = url;
    return openSession(url, options, () => {});
  });
  return new Client(session, address, options, target);
}
