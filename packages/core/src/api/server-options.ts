// The Server's options, events and the per-connection view it reports (the Server is in server.ts).
import type { FastpathError } from '../protocol/errors.js';
import type { PathInfo } from '../session/upgrade.js';
import type { QueueLimits } from '../session/broker.js';
import type { PubSubAuth, SlowConsumerInfo } from '../session/server-subscriptions.js';
import type { Tier, TlsServerOptions } from '../transport/types.js';
import type { ServerInterceptor } from './interceptors.js';
import type { CommonOptions, FastPathOptions } from './options.js';
import type { CallAuthorizer } from './auth.js';
import type { AuthContext, ServerAuthOptions } from '../session/auth-verify.js';
import type { ServerLimits } from '../session/limits.js';
import type { PeerInfo } from '../session/server-call.js';

export interface ServerOptions extends CommonOptions, FastPathOptions {
  /** Address(es) to listen on: `tcp://host:port` (port 0 picks one), `tcp://[::1]:port`, `tls://host:port` (needs `tls`), `unix:/path`. */
  listen?: string | readonly string[];
  /** Include handler stack traces in INTERNAL errors sent to clients (default false). */
  exposeStack?: boolean;
  /** Calls one connection may have running at once; more are answered RESOURCE_EXHAUSTED (same as `limits.maxConcurrentCalls`). */
  maxConcurrentCalls?: number;
  /** Limits that protect the server (docs/security.md); each has a default. */
  limits?: Partial<ServerLimits>;
  /** Who may connect: tokens, HMAC keys and/or a verify hook (docs/security.md). */
  auth?: ServerAuthOptions<PeerInfo>;
  /** Runs before every call (after the interceptors, before validation and the handler); false answers PERMISSION_DENIED. */
  authorizeCall?: CallAuthorizer;
  /** Permissions of unix socket files (default 0o600). */
  socketMode?: number;
  /**
   * Certificates and TLS settings for tls:// addresses (node's tls.createServer options: `cert`
   * and `key`, `ca` and `requestCert` for mutual TLS, `SNICallback`), plus `sni`: a map of server
   * name to certificate. See docs/tls.md.
   */
  tls?: TlsServerOptions;
  interceptors?: readonly ServerInterceptor[];
  /** Who may subscribe to and publish on which subjects (PERMISSION_DENIED otherwise). */
  authorize?: PubSubAuth;
  /** Bounds of each subscription's queue, and what happens when it overflows. */
  subscriptionQueue?: Partial<QueueLimits>;
  /** Bytes queued on a connection above which events wait in their subscription's queue (default 1 MiB). */
  highWaterBytes?: number;
  /** Record call latency histograms for `server.metrics()` (default true; counters are always kept). */
  metrics?: boolean;
}

/** What the server knows about one connection. */
export interface ConnectionInfo {
  readonly id: number;
  readonly remote: string;
  readonly path: Tier;
  /** Why the connection is not on a faster tier (undefined when it is on the best one allowed). */
  readonly reason: string | undefined;
  readonly agent: string;
  readonly meta: Readonly<Record<string, string>>;
  /** Who the client authenticated as. */
  readonly auth: AuthContext;
  readonly inFlight: number;
  /** Subscriptions this connection holds. */
  readonly subscriptions: number;
  /** Bytes of events waiting in this connection's subscription queues (bounded by subscriptionQueue). */
  readonly queuedBytes: number;
  /** Bytes written to the connection and not yet taken by the OS. */
  readonly pendingBytes: number;
}

export type ServerEvents = {
  listening: (addresses: string[]) => void;
  connection: (info: ConnectionInfo) => void;
  /** A connection's tier was decided: after an upgrade, or when it stays where it is (with the reason). */
  path: (info: PathInfo, connection: ConnectionInfo) => void;
  disconnect: (info: ConnectionInfo, reason: FastpathError) => void;
  /** A subscription's queue overflowed (drop-oldest: messages were dropped; disconnect: the connection is closed). */
  'slow-consumer': (info: SlowConsumerInfo, connection: ConnectionInfo) => void;
  /** A peer misbehaved (protocol error, keepalive timeout). Never thrown: listen to observe. */
  error: (err: FastpathError, info: ConnectionInfo | undefined) => void;
  close: () => void;
};

export interface CloseOptions {
  /** How long in-flight calls may run after GOAWAY before they are failed (default 5000 ms). */
  graceMs?: number;
}
