import { FastpathError } from '../protocol/errors.js';
import type { CallContext, MethodOptions } from './service.js';

export type { AuthContext, AuthMethod, AuthVerdict, Credentials, ServerAuthOptions } from '../session/auth-verify.js';
export type { ClientAuth } from '../protocol/auth.js';

/**
 * Decides whether a call may run: true allows it, false refuses it with PERMISSION_DENIED, and a
 * thrown FastpathError refuses it with that error (e.g. UNAUTHENTICATED). Sync or async. It sees
 * the call's context: `ctx.method`, `ctx.auth` (who the client is), `ctx.metadata`, `ctx.peer`.
 */
export type CallAuthorizer = (ctx: CallContext) => boolean | Promise<boolean>;

/** Server-side options of one method: the contract's options plus its own authorization. */
export interface ServerMethodOptions extends MethodOptions {
  authorize?: CallAuthorizer;
}

/** Options of `server.addService(def, impl, options)`. */
export interface AddServiceOptions {
  /** Runs for every method of the service, after the server's `authorizeCall`. */
  authorize?: CallAuthorizer;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function denied(method: string): FastpathError {
  return new FastpathError('PERMISSION_DENIED', `not allowed to call ${method}`, { details: { reason: 'call-denied', method } });
}

/**
 * Runs `checks` in order before `final`; the first that does not answer true refuses the call.
 * Synchronous checks keep a synchronous handler synchronous (no promise is created).
 */
export function authorized(checks: readonly CallAuthorizer[], final: (request: unknown, ctx: CallContext) => unknown): (request: unknown, ctx: CallContext) => unknown {
  if (checks.length === 0) return final;
  return (request, ctx) => {
    const from = (i: number): unknown => {
      for (; i < checks.length; i++) {
        const verdict = checks[i]!(ctx);
        if (isThenable(verdict)) {
          const next = i + 1;
          return Promise.resolve(verdict).then((ok) => {
            if (ok !== true) throw denied(ctx.method);
            return from(next);
          });
        }
        if (verdict !== true) throw denied(ctx.method);
      }
      return final(request, ctx);
    };
    return from(0);
  };
}
