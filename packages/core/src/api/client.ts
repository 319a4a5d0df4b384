import { EventEmitter } from 'node:events';
import type TypedEmitter from 'typed-emitter';
import { FastpathError } from '../protocol/errors.js';
import type { GoAway } from '../protocol/messages.js';
import { ClientSession } from '../session/client-session.js';
import { toDeadline } from '../session/deadline.js';
import { parseAddress } from '../transport/address.js';
import { getTransport } from '../transport/registry.js';
import type { Tier } from '../transport/types.js';
import { composeClient, type ClientCallInfo, type ClientInterceptor } from './interceptors.js';
import { DEFAULTS, resolveCommon, type CommonOptions } from './options.js';
import { methodPath, type CallOptions, type MethodOptions, type ServiceClient, type ServiceDefinition } from './service.js';
import { runValidator } from './validation.js';

export interface ClientOptions extends CommonOptions {
  /** Give up connecting after this many ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Connection-level metadata sent in HELLO (the server sees it as `ctx.peer.meta`). */
  metadata?: Record<string, string>;
  interceptors?: readonly ClientInterceptor[];
  /** Check responses with the service definition's `response` validators (default true). */
  validateResponses?: boolean;
  signal?: AbortSignal;
}

export type ClientEvents = {
  /** The connection ended. `reason.code` is CANCELLED after close(), UNAVAILABLE otherwise. */
  close: (reason: FastpathError) => void;
  /** The server is draining: in-flight calls finish, new calls fail with UNAVAILABLE. */
  goaway: (info: GoAway) => void;
};

/**
 * A connection to a fastpath server. Create one with `connect()`.
 * Calls are multiplexed by request id; thousands can be in flight at once.
 */
export class Client extends (EventEmitter as new () => TypedEmitter<ClientEvents>) {
  private readonly interceptors: ClientInterceptor[];
  private invoke: (call: ClientCallInfo) => Promise<unknown>;
  private readonly proxies = new Map<string, unknown>();
  private closePromise: Promise<void> | undefined;

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
    };
  }

  /** The tier this connection runs on. */
  get path(): Tier {
    return this.session.conn.tier;
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
    if (this.closePromise) return this.closePromise;
    this.closePromise = new Promise<void>((resolve) => {
      if (this.session.state === 'closed') {
        resolve();
        return;
      }
      const conn = this.session.conn;
      const prev = conn.onClose;
      conn.onClose = (err) => {
        prev?.(err);
        resolve();
      };
      this.session.close(new FastpathError('CANCELLED', 'client closed', { details: { reason: 'client-closed' } }));
      if (conn.closed) resolve();
    });
    return this.closePromise;
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
  const conn = await transport.connect(address, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
  const session = new ClientSession(conn, {
    maxFrameBytes: common.maxFrameBytes,
    keepalive: { intervalMs: common.keepaliveMs, timeoutMs: common.keepaliveTimeoutMs },
    handshakeTimeoutMs: common.handshakeTimeoutMs,
    ...(options.metadata ? { helloMeta: options.metadata } : {}),
  });
  await session.ready;
  return new Client(session, url, options);
}
