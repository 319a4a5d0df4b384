import type { FastpathError } from '../protocol/errors.js';
import type { GoAway } from '../protocol/messages.js';
import type { PathInfo } from '../session/upgrade.js';
import type { ClientInterceptor } from './interceptors.js';
import type { TargetOptions } from './connect-target.js';
import type { CommonOptions, FastPathOptions } from './options.js';
import type { ClientAuth } from '../protocol/auth.js';
import type { BackoffOptions } from '../session/backoff.js';
import type { TlsClientOptions } from '../transport/types.js';

export interface ClientOptions extends CommonOptions, FastPathOptions, TargetOptions {
  /** Give up connecting after this many ms (default 10 000). */
  connectTimeoutMs?: number;
  /**
   * TLS settings for tls:// addresses (node's tls.connect options: `ca`, `cert`/`key` for mutual
   * TLS, `servername`, `rejectUnauthorized` (default true)...). Ignored for tcp:// and unix:.
   * See docs/tls.md.
   */
  tls?: TlsClientOptions;
  /** Connection-level metadata sent in HELLO (the server sees it as `ctx.peer.meta`). */
  metadata?: Record<string, string>;
  /**
   * Credentials sent in HELLO: a bearer token, or an HMAC key whose secret never travels (a fresh
   * proof for every connection). A refusal rejects connect() with UNAUTHENTICATED (docs/security.md).
   */
  auth?: ClientAuth;
  interceptors?: readonly ClientInterceptor[];
  /** Check responses with the service definition's `response` validators (default true). */
  validateResponses?: boolean;
  signal?: AbortSignal;
  /** Receive this connection's own publishes on its matching subscriptions (default true). */
  echo?: boolean;
  /** Resolve connect() only after the fast-path negotiation has finished (default true). */
  waitForFastPath?: boolean;
  /**
   * Reconnect when the connection drops or the server sends GOAWAY (default true). Each attempt
   * asks the target again (a resolver is called again) and renegotiates the tier.
   */
  reconnect?: boolean;
  /** Give up reconnecting after this many attempts in a row (default Infinity). */
  maxReconnectAttempts?: number;
  /** The delay between reconnect attempts (default: 100 ms doubling to 5 s, +/-20 % jitter). */
  reconnectBackoff?: BackoffOptions;
  /** New calls and publishes made while reconnecting wait here until sent. */
  reconnectQueue?: ReconnectQueueOptions;
  /** Record call latency histograms for `client.metrics()` (default true; counters are always kept). */
  metrics?: boolean;
}

export interface ReconnectQueueOptions {
  /** Calls waiting at most; one more fails at once with UNAVAILABLE 'reconnect-queue-full' (default 1024). */
  maxCalls?: number;
  /** A call with no earlier deadline waits at most this long, then fails with UNAVAILABLE 'reconnect-wait-timeout' (default 30 000). */
  maxWaitMs?: number;
}

export interface ReconnectingInfo {
  /** 1 for the first attempt after a drop; reset after every successful reconnect. */
  attempt: number;
  /** How long the client waits before this attempt. */
  delayMs: number;
  /** Why the connection ended (the first attempt) or why the previous attempt failed. */
  reason: FastpathError;
}

export interface ReconnectInfo {
  attempt: number;
  /** The address it reconnected to. */
  address: string;
  /** The tier the new connection runs on, and why. */
  path: PathInfo;
}

export interface RetryInfo {
  method: string;
  /** 1 for the first retry of this call. */
  attempt: number;
  /** Why the previous attempt failed (UNAVAILABLE). */
  reason: FastpathError;
}

export type ClientEvents = {
  /**
   * The client is finished: after close() (`reason.code` CANCELLED), or when the connection ended
   * and it will not reconnect (reconnect off, attempts used up, or a final error such as
   * UNAUTHENTICATED).
   */
  close: (reason: FastpathError) => void;
  /** The connection ended (or the server sent GOAWAY) and the client is about to reconnect. */
  disconnect: (reason: FastpathError) => void;
  /** A reconnect attempt is scheduled (the client's state is 'reconnecting'). */
  reconnecting: (info: ReconnectingInfo) => void;
  /** A new connection is up; subscriptions are being restored and queued calls sent. */
  reconnect: (info: ReconnectInfo) => void;
  /** An idempotent call (or one the server never accepted) is being sent again after a drop. */
  retry: (info: RetryInfo) => void;
  /** The server is draining: in-flight calls finish there; new calls go to the next connection. */
  goaway: (info: GoAway) => void;
  /** A connection's tier was decided, after every connect and reconnect (with the reason when it is not the fastest). */
  path: (info: PathInfo) => void;
  /** A connection-level error that belongs to no call: a refused fire-and-forget publish, an invalid event. */
  error: (err: FastpathError) => void;
  /** A subscription's client-side queue overflowed and its oldest messages were dropped. */
  'slow-consumer': (info: { subject: string; dropped: number; totalDropped: number }) => void;
};

