import { FastpathError } from '../protocol/errors.js';
import type { AuthContext } from '../session/auth-verify.js';
import type { CallContext, CallOptions } from './service.js';

/** A client call as interceptors see it. Interceptors may change `request` and `options`. */
export interface ClientCallInfo {
  readonly method: string;
  request: unknown;
  options: CallOptions;
}

/** Client middleware: wraps every outgoing call. Call `next(call)` to proceed. */
export type ClientInterceptor = (call: ClientCallInfo, next: (call: ClientCallInfo) => Promise<unknown>) => Promise<unknown>;

/** A server call as interceptors see it. Interceptors may replace `request`. */
export interface ServerCallInfo {
  readonly method: string;
  readonly ctx: CallContext;
  /** Who the client authenticated as (the same as `ctx.auth`). */
  readonly auth: AuthContext;
  request: unknown;
}

/** Server middleware: wraps every handler. Throw a FastpathError to refuse a call. */
export type ServerInterceptor = (call: ServerCallInfo, next: () => Promise<unknown>) => Promise<unknown> | unknown;

function settle(fn: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

export function composeServer(interceptors: readonly ServerInterceptor[], final: (request: unknown, ctx: CallContext) => unknown): (request: unknown, ctx: CallContext) => unknown {
  if (interceptors.length === 0) return final;
  return (request, ctx) => {
    const info: ServerCallInfo = { method: ctx.method, ctx, auth: ctx.auth, request };
    const run = (i: number): Promise<unknown> => {
      if (i === interceptors.length) return settle(() => final(info.request, ctx));
      let called = false;
      return settle(() =>
        interceptors[i]!(info, () => {
          if (called) return Promise.reject(new FastpathError('INTERNAL', 'an interceptor called next() twice'));
          called = true;
          return run(i + 1);
        }),
      );
    };
    return run(0);
  };
}

export function composeClient(interceptors: readonly ClientInterceptor[], final: (call: ClientCallInfo) => Promise<unknown>): (call: ClientCallInfo) => Promise<unknown> {
  if (interceptors.length === 0) return final;
  const run = (i: number, call: ClientCallInfo): Promise<unknown> => {
    if (i === interceptors.length) return final(call);
    return settle(() => interceptors[i]!(call, (next) => run(i + 1, next ?? call)));
  };
  return (call) => run(0, call);
}
