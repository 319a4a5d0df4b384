import type { Metadata } from '../protocol/messages.js';
import type { ServerCall } from '../session/server-call.js';
import type { Validator } from './validation.js';
import type { StreamCall } from './streaming.js';
import type { SubscribeOptions, Subscription } from './subscription.js';

/** Options for one call. */
export interface CallOptions {
  /** A number is a budget in ms from now; a Date is an absolute instant. */
  deadline?: number | Date;
  /** Aborting sends CANCEL; the call rejects with CANCELLED and the server's handler signal aborts. */
  signal?: AbortSignal;
  /** Per-call metadata, available to server handlers and interceptors as `ctx.metadata`. */
  metadata?: Metadata;
  /**
   * The call may safely run twice: if the connection drops while it is in flight, the client sends
   * it again on the next connection (within its deadline) instead of failing it with UNAVAILABLE.
   * Typed proxies take this from the method's definition (`idempotent: true`).
   */
  idempotent?: boolean;
}

/** What a handler receives beside the request: method, metadata, deadline, abort signal, peer, and who the client authenticated as. */
export type CallContext = Pick<ServerCall, 'method' | 'metadata' | 'deadline' | 'signal' | 'peer' | 'remainingMs' | 'aborted' | 'auth'>;

// biome-ignore lint: any is needed to match every function type
type AnyFn = (...args: any[]) => any;

/**
 * Marks a stream of messages in a contract: `countdown(req: { from: number }): Stream<{ n: number }>`
 * is a server stream; a `Stream<T>` parameter makes a client stream; both make a bidi stream.
 */
export interface Stream<T> extends AsyncIterable<T> {
  readonly __stream?: T;
}

/** Marks a pub-sub topic in a contract: `ticks: Topic<{ seq: number }>` (subject `Service.ticks`). */
export interface Topic<T> {
  readonly __topic?: T;
}

/** The client side of a Topic<T>. */
export interface TopicClient<T> {
  subscribe(options?: SubscribeOptions<T>): Subscription<T>;
  publish(message: T, options?: { ack?: boolean }): Promise<void>;
}

/** The names of a contract's methods (its function-typed members). */
export type MethodKeys<S> = { [K in keyof S]: S[K] extends AnyFn ? K : never }[keyof S] & string;

/** The request type of a contract method: its one parameter, or undefined when it takes none. */
export type RequestOf<F> = F extends AnyFn ? (Parameters<F> extends [] ? undefined : Parameters<F>[0]) : never;
/** The response type of a contract method. */
export type ResponseOf<F> = F extends AnyFn ? Awaited<ReturnType<F>> : never;

type ClientArgs<F> = Parameters<Extract<F, AnyFn>> extends [] ? [request?: undefined, options?: CallOptions] : [request: RequestOf<F>, options?: CallOptions];

type StreamItem<X> = X extends Stream<infer T> ? T : never;
type IsStream<X> = [X] extends [Stream<unknown>] ? true : false;

/** The client signature of one contract method, by its shape. */
type ClientMethod<F> = IsStream<RequestOf<F>> extends true
  ? IsStream<ReturnType<Extract<F, AnyFn>>> extends true
    ? (source: AsyncIterable<StreamItem<RequestOf<F>>> | Iterable<StreamItem<RequestOf<F>>>, options?: CallOptions) => StreamCall<StreamItem<ReturnType<Extract<F, AnyFn>>>>
    : (source: AsyncIterable<StreamItem<RequestOf<F>>> | Iterable<StreamItem<RequestOf<F>>>, options?: CallOptions) => Promise<ResponseOf<F>>
  : IsStream<ReturnType<Extract<F, AnyFn>>> extends true
    ? (...args: ClientArgs<F>) => StreamCall<StreamItem<ReturnType<Extract<F, AnyFn>>>>
    : (...args: ClientArgs<F>) => Promise<ResponseOf<F>>;

/** The names of a contract's topics. */
export type TopicKeys<S> = { [K in keyof S]: S[K] extends Topic<unknown> ? (S[K] extends AnyFn ? never : K) : never }[keyof S] & string;

/** The typed client proxy for a contract `S`: methods by shape, and topics. */
export type ServiceClient<S> = {
  readonly [K in MethodKeys<S>]: ClientMethod<S[K]>;
} & {
  readonly [K in TopicKeys<S>]: S[K] extends Topic<infer T> ? TopicClient<T> : never;
};

type IsStreamMethod<F> = IsStream<RequestOf<F>> extends true ? true : IsStream<ReturnType<Extract<F, AnyFn>>> extends true ? true : false;

/** The proxy `client.service<S>('Name')` returns: unary methods only (streams and topics need a definition). */
export type UnaryServiceClient<S> = {
  readonly [K in MethodKeys<S> as IsStreamMethod<S[K]> extends true ? never : K]: ClientMethod<S[K]>;
};

/** The server signature of one contract method, by its shape. */
type HandlerMethod<F> = IsStream<RequestOf<F>> extends true
  ? IsStream<ReturnType<Extract<F, AnyFn>>> extends true
    ? (requests: AsyncIterable<StreamItem<RequestOf<F>>>, ctx: CallContext) => AsyncIterable<StreamItem<ReturnType<Extract<F, AnyFn>>>>
    : (requests: AsyncIterable<StreamItem<RequestOf<F>>>, ctx: CallContext) => ResponseOf<F> | Promise<ResponseOf<F>>
  : IsStream<ReturnType<Extract<F, AnyFn>>> extends true
    ? (request: RequestOf<F>, ctx: CallContext) => AsyncIterable<StreamItem<ReturnType<Extract<F, AnyFn>>>> | Iterable<StreamItem<ReturnType<Extract<F, AnyFn>>>>
    : (request: RequestOf<F>, ctx: CallContext) => ResponseOf<F> | Promise<ResponseOf<F>>;

/** The handlers a server provides for a contract `S`. */
export type ServiceHandlers<S> = {
  [K in MethodKeys<S>]: HandlerMethod<S[K]>;
};

export interface MethodOptions<Req = unknown, Res = unknown> {
  /** The call's shape (default 'unary'; a handler that is an async generator function is 'server-stream'). */
  kind?: 'unary' | 'server-stream' | 'client-stream' | 'bidi';
  /** Checked on the server before the handler sees it (each message, for streamed requests); a failure answers INVALID_ARGUMENT. */
  request?: Validator<Req>;
  /** Checked on the client when the response arrives; a failure rejects with INTERNAL. */
  response?: Validator<Res>;
  /** Safe to retry (used by reconnection). */
  idempotent?: boolean;
  /**
   * The contract's fingerprint for this method (codegen writes it). The server announces its
   * fingerprints in WELCOME; a client whose fingerprint differs fails the call with
   * FAILED_PRECONDITION instead of sending data the server would misread.
   */
  fingerprint?: string;
  /** A stable numeric id for the method (codegen writes it; reserved for id-based dispatch). */
  id?: number;
}

/**
 * A runtime description of a service: its wire name and per-method options. Generated code
 * (codegen) produces these; hand-written code can use `defineService`.
 */
export interface ServiceDefinition<S = unknown> {
  readonly name: string;
  readonly methods: { readonly [K in MethodKeys<S>]?: MethodOptions<RequestOf<S[K]>, ResponseOf<S[K]>> };
  /** The contract's topics (subject `Service.topic`). */
  readonly topics?: readonly TopicKeys<S>[];
  /** Type-only marker carrying the contract. */
  readonly __contract?: S;
}

export function defineService<S>(
  name: string,
  methods: ServiceDefinition<S>['methods'] = {} as ServiceDefinition<S>['methods'],
  topics: readonly TopicKeys<S>[] = [],
): ServiceDefinition<S> {
  if (!/^[A-Za-z_][\w.]*$/.test(name)) throw new TypeError(`invalid service name "${name}"`);
  return Object.freeze({ name, methods: Object.freeze({ ...methods }), topics: Object.freeze([...topics]) });
}

/** The name a method travels under on the wire: `Service.method`. */
export function methodPath(service: string, method: string): string {
  return `${service}.${method}`;
}
