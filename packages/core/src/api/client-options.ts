import type { FastpathError } from '../protocol/errors.js';
import type { GoAway } from '../protocol/messages.js';
import type { PathInfo } from '../session/upgrade.js';
import type { ClientInterceptor } from './interceptors.js';
import type { TargetOptions } from './connect-target.js';
import type { CommonOptions, FastPathOptions } from './options.js';

export interface ClientOptions extends CommonOptions, FastPathOptions, TargetOptions {
  /** Give up connecting after this many ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Connection-level metadata sent in HELLO (the server sees it as `ctx.peer.meta`). */
  metadata?: Record<string, string>;
  interceptors?: readonly ClientInterceptor[];
  /** Check responses with the service definition's `response` validators (default true). */
  validateResponses?: boolean;
  signal?: AbortSignal;
  /** Receive this connection's own publishes on its matching subscriptions (default true). */
  echo?: boolean;
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
  /** A connection-level error that belongs to no call: a refused fire-and-forget publish, an invalid event. */
  error: (err: FastpathError) => void;
  /** A subscription's client-side queue overflowed and its oldest messages were dropped. */
  'slow-consumer': (info: { subject: string; dropped: number; totalDropped: number }) => void;
};

