import { FastpathError } from '../protocol/errors.js';
import { methodPath, type CallOptions, type MethodOptions, type ServiceDefinition } from './service.js';
import type { SubscribeOptions, Subscription } from './subscription.js';
import { streamCall, type StreamCall } from './streaming.js';
import { runValidator } from './validation.js';

/** What a typed proxy needs from its Client. */
export interface ProxyHost {
  readonly validateResponses: boolean;
  call(method: string, request: unknown, options?: CallOptions): Promise<unknown>;
  serverStream<R>(method: string, request: unknown, options: CallOptions | undefined, map?: (v: unknown) => R): StreamCall<R>;
  clientStream(method: string, source: Iterable<unknown> | AsyncIterable<unknown>, options?: CallOptions): Promise<unknown>;
  bidiStream<R>(method: string, source: Iterable<unknown> | AsyncIterable<unknown>, options: CallOptions | undefined, map?: (v: unknown) => R): StreamCall<R>;
  subscribe(subject: string, options?: SubscribeOptions<unknown>): Subscription<unknown>;
  publish(subject: string, message: unknown, options?: { ack?: boolean }): Promise<void>;
  /** FAILED_PRECONDITION when the connected server's fingerprint for `method` differs from `mine`. */
  versionSkew(method: string, mine: string | undefined): FastpathError | undefined;
}

/** A response validator turned into a check that fails the call with INTERNAL 'invalid-response'. */
function responseCheck(wire: string, validator: MethodOptions['response']): ((res: unknown) => unknown) | undefined {
  if (!validator) return undefined;
  return (res) => {
    try {
      const v = runValidator(validator, res, `invalid response from ${wire}`);
      if (v instanceof Promise) throw new FastpathError('INTERNAL', 'response validators must be synchronous');
      return v;
    } catch (err) {
      const e = err as FastpathError;
      throw new FastpathError('INTERNAL', e.message, { details: { ...e.details, reason: 'invalid-response' } });
    }
  };
}

/**
 * Builds a typed proxy over `host` for a service: each property is a method (by its kind in the
 * definition) or a topic. The contract check against the server's fingerprints runs per call,
 * so it follows the client to whichever server it is connected to now.
 */
export function buildServiceProxy(host: ProxyHost, def: ServiceDefinition<unknown> | string): object {
  const name = typeof def === 'string' ? def : def.name;
  const methods = (typeof def === 'string' ? {} : def.methods) as Record<string, MethodOptions | undefined>;
  const topics = new Set<string>(typeof def === 'string' ? [] : (def.topics ?? []));
  const fns = new Map<string, unknown>();
  const make = (prop: string): unknown => {
    const wire = methodPath(name, prop);
    const opts = methods[prop];
    const check = host.validateResponses ? responseCheck(wire, opts?.response) : undefined;
    const kind = opts?.kind ?? (topics.has(prop) ? 'topic' : 'unary');
    const fp = opts?.fingerprint;
    if (kind === 'topic') {
      return {
        subscribe: (o?: SubscribeOptions<unknown>) => host.subscribe(wire, o),
        publish: (message: unknown, o?: { ack?: boolean }) => host.publish(wire, message, o),
      };
    }
    const skew = (): FastpathError | undefined => (fp === undefined ? undefined : host.versionSkew(wire, fp));
    const streamOrSkew = <R>(open: () => StreamCall<R>): StreamCall<R> => {
      const s = skew();
      return s ? streamCall<R>(() => { throw s; }) : open();
    };
    const withIdem = (o: CallOptions | undefined): CallOptions | undefined => (opts?.idempotent && o?.idempotent === undefined ? { ...o, idempotent: true } : o);
    switch (kind) {
      case 'server-stream':
        return (req: unknown, o?: CallOptions) => streamOrSkew(() => host.serverStream(wire, req, o, check));
      case 'bidi':
        return (src: Iterable<unknown>, o?: CallOptions) => streamOrSkew(() => host.bidiStream(wire, src, o, check));
      case 'client-stream':
        return (src: Iterable<unknown>, o?: CallOptions) => {
          const s = skew();
          if (s) return Promise.reject(s);
          const p = host.clientStream(wire, src, o);
          return check ? p.then(check) : p;
        };
      default:
        return (req: unknown, o?: CallOptions) => {
          const s = skew();
          if (s) return Promise.reject(s);
          const p = host.call(wire, req, withIdem(o));
          return check ? p.then(check) : p;
        };
    }
  };
  return new Proxy(Object.create(null) as object, {
    get: (_t, prop) => {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let fn = fns.get(prop);
      if (fn === undefined) {
        fn = make(prop);
        fns.set(prop, fn);
      }
      return fn;
    },
  });
}
