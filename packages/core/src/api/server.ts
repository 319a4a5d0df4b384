import { EventEmitter } from 'node:events';
import type TypedEmitter from 'typed-emitter';
import { FastpathError } from '../protocol/errors.js';
import type { RegisteredMethod, ServerSessionHost } from '../session/server-session.js';
import { ServerSession } from '../session/server-session.js';
import { AttachRouter, decideOffer, newNonce } from '../session/upgrade.js';
import { Broker, DEFAULT_QUEUE_LIMITS } from '../session/broker.js';
import { checkPublishSubject } from '../protocol/subject.js';
import { parseAddress } from '../transport/address.js';
import { currentUid, hostIdentity } from '../transport/host-identity.js';
import { getTransport } from '../transport/registry.js';
import type { Connection, Listener, Tier } from '../transport/types.js';
import type { TierServer } from '../transport/upgrade-tier.js';
import { localTiers, tierOptions } from './fast-path.js';
import type { ServerInterceptor } from './interceptors.js';
import { DEFAULTS, resolveCommon, type CommonOptions } from './options.js';
import { methodPath, type MethodOptions, type ServiceDefinition, type ServiceHandlers } from './service.js';
import type { AddServiceOptions, CallAuthorizer, ServerMethodOptions } from './auth.js';
import { compileMethod, type Handler, type Registered } from './compile-method.js';
import { ANONYMOUS, AuthVerifier } from '../session/auth-verify.js';
import type { CloseOptions, ConnectionInfo, ServerEvents, ServerOptions } from './server-options.js';
import { limitError, resolveLimits, type ServerLimits } from '../session/limits.js';
import type { PeerInfo } from '../session/server-call.js';
import type { ServerMetrics } from '../observe/metrics.js';
import { ServerObserver } from '../observe/server-observer.js';

export type { ServerOptions, ConnectionInfo, ServerEvents, CloseOptions } from './server-options.js';
export type { Handler } from './compile-method.js';

let nextConnectionId = 1;

/**
 * An RPC server. Register methods with `addService` or `handle`, then `start()`.
 *
 *     const server = new Server({ listen: 'tcp://127.0.0.1:0' });
 *     server.addService<Greeter>('Greeter', { hello: ({ name }) => ({ greeting: `hi ${name}` }) });
 *     await server.start();
 */
export class Server extends (EventEmitter as new () => TypedEmitter<ServerEvents>) {
  private readonly methods = new Map<string, Registered>();
  private compiled = new Map<string, RegisteredMethod>();
  private readonly interceptors: ServerInterceptor[];
  private readonly listenerHandles: Listener[] = [];
  private readonly sessions = new Map<ServerSession, number>();
  private readonly common: Required<CommonOptions>;
  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | undefined;
  private readonly host: ServerSessionHost;
  private readonly tierServers = new Map<Tier, TierServer>();
  /** Each fast tier this server knows of: undefined when it can offer it, else why not. */
  private readonly tierStatus = new Map<Tier, string | undefined>();
  private readonly router: AttachRouter;
  private readonly broker = new Broker();
  private readonly limits: ServerLimits;
  private readonly verifier: AuthVerifier<PeerInfo> | undefined;
  /** Connections that completed the handshake (maxConnections counts these). */
  private openCount = 0;
  private readonly observer: ServerObserver;

  constructor(private readonly options: ServerOptions = {}) {
    super();
    this.common = resolveCommon(options);
    this.limits = resolveLimits(options.limits, options.maxConcurrentCalls);
    this.verifier = options.auth ? new AuthVerifier(options.auth) : undefined;
    this.observer = new ServerObserver(options.metrics !== false);
    this.interceptors = [...(options.interceptors ?? [])];
    this.host = {
      lookup: (method) => this.lookup(method),
      pubsub: {
        broker: this.broker,
        auth: options.authorize ?? {},
        limits: { ...DEFAULT_QUEUE_LIMITS, ...options.subscriptionQueue },
        highWaterBytes: options.highWaterBytes ?? 1024 * 1024,
        onSlowConsumer: (info, session) => {
          this.observer.slowConsumer(session, info);
          this.emit('slow-consumer', info, this.info(session));
        },
      },
      // The handshake hooks are typed with the session's base class; this server only creates ServerSessions.
      reportError: (err, session) => {
        if (this.listenerCount('error') > 0) this.emit('error', err, this.info(session as ServerSession));
      },
      onOpen: (session) => {
        this.openCount++;
        this.observer.opened(session as ServerSession);
        this.emit('connection', this.info(session as ServerSession));
      },
      authenticate: (auth, peer, binding) => (this.verifier ? this.verifier.verify(auth, peer, binding) : ANONYMOUS),
      admit: () => {
        const max = this.limits.maxConnections;
        if (this.openCount < max) return undefined;
        return limitError('max-connections', `the server is at its connection limit (${max}); try again later`, max);
      },
      onClosed: (session, reason) => {
        const wasOpen = session.hello !== undefined;
        if (wasOpen) this.openCount--;
        if (wasOpen) this.observer.closed(session, reason);
        this.sessions.delete(session);
        if (wasOpen) this.emit('disconnect', this.info(session, true), reason);
        this.drainWaiters();
      },
      fastPathMode: () => this.options.fastPath ?? 'auto',
      decideOffer: (fastPath, current, secure) =>
        decideOffer(fastPath, { mode: this.options.fastPath ?? 'auto', host: hostIdentity().id, uid: currentUid(), tiers: this.tierStatus, tlsLocal: this.options.tlsLocal ?? 'skip' }, current, secure),
      prepareOffer: async (tier, session) => {
        const ts = this.tierServers.get(tier);
        if (!ts) throw new Error(`tier ${tier} is not listening`);
        const o = await ts.offer();
        const nonce = newNonce();
        this.router.expect(
          nonce,
          this.options.upgradeTimeoutMs ?? DEFAULTS.upgradeTimeoutMs,
          (conn, leftover) => session.attachChannel(conn, leftover),
          () => session.offerExpired(),
        );
        return {
          nonce,
          params: o.params,
          cancel: () => {
            this.router.cancel(nonce);
            o.cancel();
          },
        };
      },
      fingerprints: () => {
        const out: Record<string, string> = {};
        for (const [name, reg] of this.methods) if (reg.options.fingerprint) out[name] = reg.options.fingerprint;
        return out;
      },
      onPath: (session, info) => {
        this.observer.path(session as ServerSession, info);
        this.emit('path', info, this.info(session as ServerSession));
      },
    };
    this.router = new AttachRouter((err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err, undefined);
    });
  }

  /** Starts the fast-tier listeners clients can be upgraded to. Failures only remove a tier. */
  private async startFastPath(): Promise<void> {
    if ((this.options.fastPath ?? 'auto') === 'off') return;
    const local = await localTiers(this.options);
    for (const [tier, why] of Object.entries(local.unavailable)) this.tierStatus.set(tier as Tier, why);
    const opts = tierOptions(this.options);
    for (const { tier, impl } of local.usable) {
      try {
        this.tierServers.set(tier, await impl.listen((conn) => this.router.route(conn), opts[tier] ?? {}));
        this.tierStatus.set(tier, undefined);
      } catch (err) {
        this.tierStatus.set(tier, `could not start: ${(err as Error).message}`);
      }
    }
  }

  /** Fast tiers this server offers, and why the others are not offered. */
  fastPathStatus(): Record<string, string | undefined> {
    return Object.fromEntries(this.tierStatus);
  }

  /**
   * Registers every method of a service. `def` is a ServiceDefinition or just the service name;
   * `options.authorize` runs before each of its methods.
   */
  addService<S>(def: ServiceDefinition<S> | string, impl: ServiceHandlers<S>, options: AddServiceOptions = {}): this {
    const name = typeof def === 'string' ? def : def.name;
    const methodOptions = (typeof def === 'string' ? {} : def.methods) as Record<string, MethodOptions | undefined>;
    const keys = new Set<string>();
    for (let o: object | null = impl as object; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const k of Object.getOwnPropertyNames(o)) if (k !== 'constructor' && typeof (impl as Record<string, unknown>)[k] === 'function') keys.add(k);
    }
    for (const k of keys) {
      const fn = (impl as Record<string, Handler>)[k]!;
      this.register(methodPath(name, k), fn.bind(impl), methodOptions[k] ?? {}, options.authorize);
    }
    return this;
  }

  /** Registers one method under its full wire name, e.g. `Greeter.hello`; `options.authorize` runs before it. */
  handle(method: string, handler: Handler, options: ServerMethodOptions = {}): this {
    return this.register(method, handler, options, undefined);
  }

  private register(method: string, handler: Handler, options: ServerMethodOptions, serviceAuthorize: CallAuthorizer | undefined): this {
    if (typeof handler !== 'function') throw new TypeError(`handler for ${method} must be a function`);
    this.methods.set(method, { handler, options, ...(serviceAuthorize ? { serviceAuthorize } : {}) });
    this.compiled.delete(method);
    return this;
  }

  /**
   * Publishes a message to every subscriber whose subject pattern matches (one member per queue
   * group). Returns how many subscriptions it was handed to. Throws INVALID_ARGUMENT for a
   * subject with wildcards or empty tokens.
   */
  publish(subject: string, message: unknown): number {
    checkPublishSubject(subject);
    return this.broker.publish(subject, message);
  }

  /** Subscriptions currently registered, across all connections. */
  get subscriptionCount(): number {
    return this.broker.subscriptions;
  }

  /** Adds a server interceptor (runs for calls to every method, in the order added). */
  use(interceptor: ServerInterceptor): this {
    this.interceptors.push(interceptor);
    this.compiled = new Map();
    return this;
  }

  private lookup(method: string): RegisteredMethod | undefined {
    let m = this.compiled.get(method);
    if (m) return m;
    const reg = this.methods.get(method);
    if (!reg) return undefined;
    m = compileMethod(method, reg, this.interceptors, this.options.authorizeCall);
    this.compiled.set(method, m);
    return m;
  }

  /** Starts listening on every address in `options.listen`. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new FastpathError('FAILED_PRECONDITION', `server cannot start: it is ${this.state}`);
    this.state = 'listening';
    const listen = this.options.listen === undefined ? [] : typeof this.options.listen === 'string' ? [this.options.listen] : this.options.listen;
    try {
      await this.startFastPath();
      for (const url of listen) await this.listen(url);
    } catch (err) {
      await Promise.all(this.listenerHandles.map((l) => l.close()));
      this.listenerHandles.length = 0;
      this.state = 'new';
      throw err;
    }
    this.emit('listening', this.addresses);
  }

  /** Adds a listening address. Returns the bound address (with the real port for port 0). */
  async listen(url: string): Promise<string> {
    if (this.state === 'closing' || this.state === 'closed') throw new FastpathError('FAILED_PRECONDITION', 'server is closed');
    this.state = 'listening';
    const address = parseAddress(url);
    const listener = await getTransport(address.scheme).listen(address, (conn) => this.accept(conn), {
      socketMode: this.options.socketMode ?? 0o600,
      ...(this.options.tls ? { tls: this.options.tls } : {}),
      // A failed TLS handshake never becomes a connection: it is reported here, and serving goes on.
      onError: (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err, undefined);
      },
    });
    this.listenerHandles.push(listener);
    return listener.address;
  }

  /** Bound addresses, in the order they were added. */
  get addresses(): string[] {
    return this.listenerHandles.map((l) => l.address);
  }

  /** The first bound address. */
  get address(): string {
    const a = this.listenerHandles[0]?.address;
    if (a === undefined) throw new FastpathError('FAILED_PRECONDITION', 'server is not listening');
    return a;
  }

  /** Serves an already-established connection (used by transports and tests). */
  accept(conn: Connection): void {
    if (this.state !== 'listening') {
      conn.destroy();
      return;
    }
    // Connections still in the handshake are refused at HELLO when the server is full (so the
    // client learns why); beyond another maxConnections of those, sockets are closed at once.
    if (this.sessions.size >= 2 * this.limits.maxConnections) {
      conn.destroy();
      return;
    }
    const c = this.common;
    const session = new ServerSession(conn, this.host, {
      maxFrameBytes: c.maxFrameBytes,
      keepalive: { intervalMs: c.keepaliveMs, timeoutMs: c.keepaliveTimeoutMs },
      handshakeTimeoutMs: c.handshakeTimeoutMs,
      exposeStack: this.options.exposeStack ?? false,
      limits: this.limits,
    });
    const id = nextConnectionId++;
    this.observer.created(session, id);
    this.sessions.set(session, id);
  }

  /**
   * Per open connection: tier and why, calls by outcome and error code, a latency histogram
   * summary (µs), bytes each way; and totals since start(), closed connections included.
   */
  metrics(): ServerMetrics {
    return this.observer.metrics([...this.sessions.keys()].filter((s) => s.hello !== undefined));
  }

  /** The connections that completed the handshake. */
  connections(): ConnectionInfo[] {
    return [...this.sessions.keys()].filter((s) => s.hello !== undefined).map((s) => this.info(s));
  }

  private info(session: ServerSession, closed = false): ConnectionInfo {
    return {
      id: this.sessions.get(session) ?? 0,
      remote: session.peer.remote,
      path: session.pathInfo.path,
      reason: session.pathInfo.reason,
      agent: session.peer.agent,
      meta: session.peer.meta,
      auth: session.peer.auth,
      inFlight: closed ? 0 : session.inFlight,
      subscriptions: closed ? 0 : session.subscriptionCount,
      queuedBytes: closed ? 0 : session.queuedEventBytes,
      pendingBytes: closed ? 0 : session.writePending,
    };
  }

  private waiters: Array<() => void> = [];
  private drainWaiters(): void {
    if (this.sessions.size === 0) for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Graceful shutdown: stop accepting, send GOAWAY to every connection, let in-flight calls finish
   * within `graceMs`, then fail what is left with UNAVAILABLE and close.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing) return this.closing;
    this.state = 'closing';
    const graceMs = options.graceMs ?? DEFAULTS.closeGraceMs;
    this.closing = (async () => {
      const stopListening = Promise.all(this.listenerHandles.map((l) => l.close()));
      for (const s of this.sessions.keys()) s.drain();
      if (this.sessions.size > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            const err = new FastpathError('UNAVAILABLE', `server shut down before the call finished (grace ${graceMs} ms)`, { details: { reason: 'shutdown' } });
            for (const s of [...this.sessions.keys()]) s.abortAll(err);
            resolve();
          }, graceMs);
          this.waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      await stopListening;
      await Promise.all([...this.tierServers.values()].map((t) => t.close()));
      this.tierServers.clear();
      this.state = 'closed';
      this.emit('close');
    })();
    return this.closing;
  }
}
