import { EventEmitter } from 'node:events';
import type TypedEmitter from 'typed-emitter';
import { FastpathError } from '../protocol/errors.js';
import type { GoAway } from '../protocol/messages.js';
import { ClientSession } from '../session/client-session.js';
import { toDeadline } from '../session/deadline.js';
import type { PathInfo } from '../session/upgrade.js';
import { currentUid, hostIdentity } from '../transport/host-identity.js';
import { parseAddress } from '../transport/address.js';
import { getTransport } from '../transport/registry.js';
import type { Tier } from '../transport/types.js';
import { composeClient, type ClientCallInfo, type ClientInterceptor } from './interceptors.js';
import { localTiers, tierOptions } from './fast-path.js';
import { DEFAULTS, resolveCommon, type CommonOptions, type FastPathOptions } from './options.js';
import { methodPath, type CallOptions, type MethodOptions, type ServiceClient, type ServiceDefinition } from './service.js';
import { runValidator } from './validation.js';

export interface ClientOptions extends CommonOptions, FastPathOptions {
  /** Give up connecting after this many ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Connection-level metadata sent in HELLO (the server sees it as `ctx.peer.meta`). */
  metadata?: Record<string, string>;
  interceptors?: readonly ClientInterceptor[];
  /** Check responses with the service definition's `response` validators (default true). */
  validateResponses?: boolean;
  signal?: AbortSignal;
  /** Resolve connect() only after the fast-path negotiation has finished (default true). */
  waitForFastPath?: boolean;
}

export type ClientEvents = {
  /** The connection ended. `reason.code` is CANCELLED after close(), UNAVAILABLE otherwise. */
  close: (reason: FastpathError) => void;
  /** The server is draining: in-flight calls finish, new calls fail with UNAVAILABLE. */
  goaway: (info: GoAway) => void;
  /** The connection's tier was decided: after an upgrade, or when it stays (with the reason). */
  path: (info: PathInfo) => void;
};

/**
 * A connection to a fastpath server. Create one with `connect()`.
 * Calls are multiplexed by request id; thousands can be in flight at once.
 */
export class Client extends (EventEmitter as new () => TypedEmitter<ClientEvents>) {
  private readonly interceptors: ClientInterceptor[];
  private invoke: (call: ClientCallInfo) => Promise<unknown>;
  private readonly proxies = new Map<string, unknown>();

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
      deadline = options?.deadline === undefined ? undefined : toDeadline(options.deadline);
    } catch (err) {
      return Promise.reject(new FastpathError('INVALID_ARGUMENT', (err as Error).message));
    }
    return this.session.call(method, request, deadline, options?.metadata, options?.signal);
  }

  /** Calls a method by its full wire name (`Service.method`). */
  call<R = unknown>(method: string, request?: unknown, options?: CallOptions): Promise<R> {
    if (this.interceptors.length === 0) return this.send(method, request, options) as Promise<R>;
    return this.invoke({ method, request, options: options ?? {} }) as Promise<R>;
  }

  /** A typed proxy for a service. `def` is a ServiceDefinition or just the service name. */
  service<S>(def: ServiceDefinition<S> | string): ServiceClient<S> {
    const name = typeof def === 'string' ? def : def.name;
    const methods = (typeof def === 'string' ? {} : def.methods) as Record<string, MethodOptions | undefined>;
    const cached = this.proxies.get(name);
    if (cached && typeof def === 'string') return cached as ServiceClient<S>;
    const fns = new Map<string, (req: unknown, opts?: CallOptions) => Promise<unknown>>();
    const validate = this.options.validateResponses !== false;
    const proxy = new Proxy(Object.create(null) as object, {
      get: (_t, prop) => {
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        let fn = fns.get(prop);
        if (!fn) {
          const wire = methodPath(name, prop);
          const responseValidator = validate ? methods[prop]?.response : undefined;
          fn = responseValidator
            ? (req, opts) =>
                this.call(wire, req, opts).then((res) => {
                  try {
                    return runValidator(responseValidator, res, `invalid response from ${wire}`);
                  } catch (err) {
                    const e = err as FastpathError;
                    throw new FastpathError('INTERNAL', e.message, { details: { ...e.details, reason: 'invalid-response' } });
                  }
                })
            : (req, opts) => this.call(wire, req, opts);
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

/**
 * Connects to a server and completes the handshake.
 *
 *     const client = await connect('tcp://127.0.0.1:7000');
 */
export async function connect(url: string, options: ClientOptions = {}): Promise<Client> {
  const common = resolveCommon(options);
  const address = parseAddress(url);
  const transport = getTransport(address.scheme);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const mode = options.fastPath ?? 'auto';
  const local = mode === 'off' ? undefined : await localTiers(options);
  const conn = await transport.connect(address, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
  const session = new ClientSession(conn, {
    maxFrameBytes: common.maxFrameBytes,
    keepalive: { intervalMs: common.keepaliveMs, timeoutMs: common.keepaliveTimeoutMs },
    handshakeTimeoutMs: common.handshakeTimeoutMs,
    ...(options.metadata ? { helloMeta: options.metadata } : {}),
    fastPath: {
      mode,
      host: hostIdentity().id,
      uid: currentUid(),
      tiers: local?.usable.map((t) => t.tier) ?? [],
      unavailable: local?.unavailable ?? {},
      tierOptions: tierOptions(options),
      upgradeTimeoutMs: options.upgradeTimeoutMs ?? DEFAULTS.upgradeTimeoutMs,
    },
  });
  const client = new Client(session, url, options);
  await session.ready;
  if (options.waitForFastPath !== false) {
    await session.pathSettled;
    if (session.state === 'closed') throw session.closeReason ?? new FastpathError('UNAVAILABLE', 'connection closed during the fast-path negotiation');
  }
  return client;
}
