import type { Metadata } from '../protocol/messages.js';
import type { ServerCall } from '../session/server-call.js';
import type { Validator } from './validation.js';

/** Options for one call. */
export interface CallOptions {
  /** A number is a budget in ms from now; a Date is an absolute instant. */
  deadline?: number | Date;
  /** Aborting sends CANCEL; the call rejects with CANCELLED and the server's handler signal aborts. */
  signal?: AbortSignal;
  /** Per-call metadata, available to server handlers and interceptors as `ctx.metadata`. */
  metadata?: Metadata;
}

/** What a handler receives beside the request: method, metadata, deadline, abort signal, peer. */
export type CallContext = Pick<ServerCall, 'method' | 'metadata' | 'deadline' | 'signal' | 'peer' | 'remainingMs' | 'aborted'>;

// biome-ignore lint: any is needed to match every function type
type AnyFn = (...args: any[]) => any;

/** The names of a contract's methods (its function-typed members). */
export type MethodKeys<S> = { [K in keyof S]: S[K] extends AnyFn ? K : never }[keyof S] & string;

/** The request type of a contract method: its one parameter, or undefined when it takes none. */
export type RequestOf<F> = F extends AnyFn ? (Parameters<F> extends [] ? undefined : Parameters<F>[0]) : never;
/** The response type of a contract method. */
export type ResponseOf<F> = F extends AnyFn ? Awaited<ReturnType<F>> : never;

type ClientArgs<F> = Parameters<Extract<F, AnyFn>> extends [] ? [request?: undefined, options?: CallOptions] : [request: RequestOf<F>, options?: CallOptions];

/** The typed client proxy for a contract `S`. */
export type ServiceClient<S> = {
  readonly [K in MethodKeys<S>]: (...args: ClientArgs<S[K]>) => Promise<ResponseOf<S[K]>>;
};

/** The handlers a server provides for a contract `S`. */
export type ServiceHandlers<S> = {
  [K in MethodKeys<S>]: (request: RequestOf<S[K]>, ctx: CallContext) => ResponseOf<S[K]> | Promise<ResponseOf<S[K]>>;
};

export interface MethodOptions<Req = unknown, Res = unknown> {
  /** Checked on the server before the handler runs; a failure answers INVALID_ARGUMENT. */
  request?: Validator<Req>;
  /** Checked on the client when the response arrives; a failure rejects with INTERNAL. */
  response?: Validator<Res>;
  /** Safe to retry (used by reconnection). */
  idempotent?: boolean;
}

/**
 * A runtime description of a service: its wire name and per-method options. Generated code
 * (codegen) produces these; hand-written code can use `defineService`.
 */
export interface ServiceDefinition<S = unknown> {
  readonly name: string;
  readonly methods: { readonly [K in MethodKeys<S>]?: MethodOptions<RequestOf<S[K]>, ResponseOf<S[K]>> };
  /** Type-only marker carrying the contract. */
  readonly __contract?: S;
}

export function defineService<S>(name: string, methods: ServiceDefinition<S>['methods'] = {} as ServiceDefinition<S>['methods']): ServiceDefinition<S> {
  if (!/^[A-Za-z_][\w.]*$/.test(name)) throw new TypeError(`invalid service name "${name}"`);
  return Object.freeze({ name, methods: Object.freeze({ ...methods }) });
}

/** The name a method travels under on the wire: `Service.method`. */
export function methodPath(service: string, method: string): string {
  return `${service}.${method}`;
}
