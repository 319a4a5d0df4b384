import type { MethodInvoker, RegisteredMethod } from '../session/server-session.js';
import type { MethodKind } from '../session/server-stream.js';
import { authorized, type CallAuthorizer, type ServerMethodOptions } from './auth.js';
import { composeServer, type ServerInterceptor } from './interceptors.js';
import type { CallContext } from './service.js';
import { runValidator } from './validation.js';

/** A handler as registered: `(request, ctx) => result`. */
export type Handler = (request: any, ctx: CallContext) => unknown;

/** A method as `handle()` / `addService()` registered it. */
export interface Registered {
  handler: Handler;
  options: ServerMethodOptions;
  /** The service's authorizer (addService options). */
  serviceAuthorize?: CallAuthorizer;
}

function isAsyncGeneratorFunction(fn: unknown): boolean {
  return typeof fn === 'function' && fn.constructor?.name === 'AsyncGeneratorFunction';
}

/**
 * Turns a registered method into what the session runs: interceptors, then authorization
 * (server-wide, the service's, the method's), then the request validator, then the handler.
 * Authorization runs inside the interceptors, so they see a refusal as next() rejecting, and
 * before validation, so a refused request is never looked at.
 */
export function compileMethod(method: string, reg: Registered, interceptors: readonly ServerInterceptor[], authorizeCall: CallAuthorizer | undefined): RegisteredMethod {
  const { handler, options, serviceAuthorize } = reg;
  const kind: MethodKind = options.kind ?? (isAsyncGeneratorFunction(handler) ? 'server-stream' : 'unary');
  const requestValidator = options.request;
  const takesStream = kind === 'client-stream' || kind === 'bidi';
  // Unary and server-stream requests are one message, checked before the handler runs; streamed
  // requests are checked one by one as the handler reads them.
  const validated: (req: unknown, ctx: CallContext) => unknown =
    requestValidator && !takesStream
      ? (req, ctx) => {
          const v = runValidator(requestValidator, req, `invalid request for ${method}`);
          return v instanceof Promise ? v.then((value) => handler(value, ctx)) : handler(v, ctx);
        }
      : handler;
  const checks = [authorizeCall, serviceAuthorize, options.authorize].filter((c): c is CallAuthorizer => typeof c === 'function');
  return {
    kind,
    invoke: composeServer(interceptors, authorized(checks, validated)) as MethodInvoker,
    ...(requestValidator && takesStream ? { validateMessage: (msg: unknown) => runValidator(requestValidator, msg, `invalid message for ${method}`) } : {}),
  };
}
