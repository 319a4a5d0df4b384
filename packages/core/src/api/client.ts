import { EventEmitter } from 'node:events';
import type TypedEmitter from 'typed-emitter';
export type { ClientEvents, ClientOptions } from './client-options.js';
import { FastpathError } from '../protocol/errors.js';
import type { GoAway } from '../protocol/messages.js';
import type { ClientSession } from '../session/client-session.js';
import { toDeadline } from '../session/deadline.js';
import type { PathInfo } from '../session/upgrade.js';
import type { Tier } from '../transport/types.js';
import { composeClient, type ClientCallInfo, type ClientInterceptor } from './interceptors.js';
import { connectToTarget, type ConnectTarget } from './connect-target.js';
import type { ClientEvents, ClientOptions } from './client-options.js';
import { openSession } from './connect-once.js';
import { methodPath, type CallOptions, type MethodOptions, type ServiceClient, type ServiceDefinition, type UnaryServiceClient } from './service.js';
import { runValidator } from './validation.js';
import { checkPublishSubject, checkSubscribeSubject } from '../protocol/subject.js';
import { Subscription, type SubscribeOptions } from './subscription.js';
import { pumpSource, streamCall, type StreamCall } from './streaming.js';
import type { StreamKind } from '../session/client-stream.js';
import type { SubscriptionSink } from '../session/client-session.js';

/**
 * A connection to a fastpath server. Create one with `connect()`.
 * Calls are multiplexed by request id; thousands can be in flight at once.
 */
export class Client extends (EventEmitter as new () => TypedEmitter<ClientEvents>) {
  private readonly interceptors: ClientInterceptor[];
  private invoke: (call: ClientCallInfo) => Promise<unknown>;
  private readonly proxies = new Map<string, unknown>();
  /** Active subscriptions and their id on the current connection. */
  private readonly subscriptions = new Map<Subscription<unknown>, number>();

  /** @internal use connect() */
  constructor(
    private readonly session: ClientSession,
    /** The address this client was asked to connect to. */
    readonly address: string,
    private readonly options: ClientOptions,
  ) {
    super();
    this.interceptors = [...(options.interceptors ?? [])];
    this.invoke = this.compose();
    session.events = {
      onGoAway: (g) => this.emit('goaway', g),
      onClose: (reason) => this.emit('close', reason),
      onPath: (info) => this.emit('path', info),
      onError: (err) => this.reportError(err),
    };
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
    return this.session.state === 'closed';
  }

  /** Calls waiting for an answer. */
  get inFlight(): number {
    return this.session.inFlight;
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
    let deadline: number | undefined;
    try {
      deadline = deadlineOf(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.session.call(method, request, deadline, options?.metadata, options?.signal);
  }

  private reportError(err: FastpathError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(`fastpath: ${err.code}: ${err.message} (listen to the client's 'error' event to handle this)`, 'FastpathWarning');
  }

  /**
   * Subscribes to a subject (`*` matches one token, `>` the rest). Iterate the result, or pass
   * `callback`. Throws INVALID_ARGUMENT for a malformed subject; a refusal by the server
   * (PERMISSION_DENIED) rejects `sub.ready` and ends the iteration with that error.
   */
  subscribe<T = unknown>(subject: string, options: SubscribeOptions<T> = {}): Subscription<T> {
    checkSubscribeSubject(subject);
    return new Subscription<T>(subject, options, {
      subscribe: (sub, sink: SubscriptionSink) => {
        const sid = this.session.subscribe(subject, options.queue, {
          ...sink,
          onRefused: (err) => {
            this.subscriptions.delete(sub);
            sink.onRefused(err);
          },
        });
        this.subscriptions.set(sub, sid);
      },
      unsubscribe: (s) => {
        const sid = this.subscriptions.get(s);
        this.subscriptions.delete(s);
        if (sid !== undefined) this.session.unsubscribe(sid);
      },
      slowConsumer: (info) => this.emit('slow-consumer', info),
      error: (err) => this.reportError(err),
    });
  }

  /**
   * Publishes a message through the server to every matching subscriber. Without `ack` it
   * returns at once and never rejects (a refusal, or a closed connection, arrives as an 'error'
   * event); with `ack: true` it resolves when the server has routed it, or rejects with
   * PERMISSION_DENIED / INVALID_ARGUMENT / UNAVAILABLE. An invalid subject throws either way.
   */
  publish(subject: string, message: unknown, options: { ack?: boolean } = {}): Promise<void> {
    checkPublishSubject(subject);
    const sent = this.session.publish(subject, message, options.ack === true);
    if (options.ack === true) return sent;
    // Fire and forget: never a rejected promise nobody awaits (an unhandled rejection ends the
    // process); a failure to send is reported as an 'error' event instead.
    return sent.catch((err: FastpathError) => this.reportError(err));
  }

  private openStream(method: string, kind: StreamKind, payload: unknown, options: CallOptions | undefined) {
    return this.session.openStream(method, kind, payload, deadlineOf(options), options?.metadata, options?.signal);
  }

  /** Calls a server-streaming method: iterate the result for the server's messages. */
  serverStream<R = unknown>(method: string, request?: unknown, options?: CallOptions, map?: (v: unknown) => R): StreamCall<R> {
    return streamCall(() => this.openStream(method, 'server-stream', request, options), map);
  }

  /** Calls a client-streaming method: sends every message of `source`, resolves with the response. */
  async clientStream<R = unknown>(method: string, source: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions): Promise<R> {
    const st = this.openStream(method, 'client-stream', null, options);
    void pumpSource(st, source);
    return (await st.response) as R;
  }

  /** Calls a bidirectional-streaming method: sends `source`, iterate the result for the server's messages. */
  bidiStream<R = unknown>(method: string, source: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions, map?: (v: unknown) => R): StreamCall<R> {
    return streamCall(() => {
      const st = this.openStream(method, 'bidi', null, options);
      void pumpSource(st, source);
      return st;
    }, map);
  }

  /**
   * FAILED_PRECONDITION when this client's contract fingerprint for `method` differs from the
   * one the server announced in WELCOME; undefined when they match or either side has none.
   */
  private versionSkew(method: string, mine: string | undefined): FastpathError | undefined {
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
    const name = typeof def === 'string' ? def : def.name;
    const methods = (typeof def === 'string' ? {} : def.methods) as Record<string, MethodOptions | undefined>;
    const cached = this.proxies.get(name);
    if (cached && typeof def === 'string') return cached as ServiceClient<S>;
    const fns = new Map<string, (req: unknown, opts?: CallOptions) => unknown>();
    const topics = new Set<string>(typeof def === 'string' ? [] : (def.topics ?? []));
    const validate = this.options.validateResponses !== false;
    const proxy = new Proxy(Object.create(null) as object, {
      get: (_t, prop) => {
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        let fn = fns.get(prop);
        if (!fn) {
          const wire = methodPath(name, prop);
          const opts = methods[prop];
          const responseValidator = validate ? opts?.response : undefined;
          const check = responseValidator
            ? (res: unknown) => {
                try {
                  const v = runValidator(responseValidator, res, `invalid response from ${wire}`);
                  if (v instanceof Promise) throw new FastpathError('INTERNAL', 'response validators must be synchronous');
                  return v;
                } catch (err) {
                  const e = err as FastpathError;
                  throw new FastpathError('INTERNAL', e.message, { details: { ...e.details, reason: 'invalid-response' } });
                }
              }
            : undefined;
          const kind = opts?.kind ?? (topics.has(prop) ? 'topic' : 'unary');
          const skew = this.versionSkew(wire, opts?.fingerprint);
          if (skew) {
            const fail = () => {
              throw skew;
            };
            fn = kind === 'server-stream' || kind === 'bidi' ? ((() => streamCall(fail)) as never) : () => Promise.reject(skew);
            fns.set(prop, fn);
            return fn;
          }
          if (kind === 'topic') {
            const topic = {
              subscribe: (o?: SubscribeOptions<unknown>) => this.subscribe(wire, o),
              publish: (message: unknown, o?: { ack?: boolean }) => this.publish(wire, message, o),
            };
            fns.set(prop, topic as never);
            return topic;
          }
          fn =
            kind === 'server-stream'
              ? (req, o) => this.serverStream(wire, req, o, check) as never
              : kind === 'client-stream'
                ? (src, o) => this.clientStream(wire, src as Iterable<unknown>, o).then(check ?? ((v) => v))
                : kind === 'bidi'
                  ? (src, o) => this.bidiStream(wire, src as Iterable<unknown>, o, check) as never
                  : check
                    ? (req, o) => this.call(wire, req, o).then(check)
                    : (req, o) => this.call(wire, req, o);
          fns.set(prop, fn);
        }
        return fn;
      },
    });
    if (typeof def === 'string') this.proxies.set(name, proxy);
    return proxy as ServiceClient<S>;
  }

  /** Closes the connection. Pending calls fail with CANCELLED. */
  close(): Promise<void> {
    this.session.close(new FastpathError('CANCELLED', 'client closed', { details: { reason: 'client-closed' } }));
    return this.session.drained;
  }
}

/** The absolute deadline of a call's options; a malformed one is INVALID_ARGUMENT. */
function deadlineOf(options: CallOptions | undefined): number | undefined {
  try {
    return toDeadline(options?.deadline);
  } catch (err) {
    throw new FastpathError('INVALID_ARGUMENT', (err as Error).message);
  }
}

/**
 * Connects to a server and completes the handshake. `target` is a URL, a list of URLs (tried in
 * turn, or at random with `addressOrder: 'random'`), or a resolver called before every attempt.
 * With `connectRetry: { attempts }` the first connect is retried with exponential backoff and
 * jitter while the server is unavailable.
 *
 *     const client = await connect('tcp://127.0.0.1:7000');
 *     const client2 = await connect(['tcp://10.0.0.5:7000', 'tcp://10.0.0.6:7000'], { connectRetry: { attempts: 5 } });
 */
export async function connect(target: ConnectTarget, options: ClientOptions = {}): Promise<Client> {
  let client: Client | undefined;
  await connectToTarget(target, options, (url) => openSession(url, options, (session) => (client = new Client(session, url, options))));
  return client!;
}

