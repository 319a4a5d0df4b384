import type { PathInfo } from '../session/upgrade.js';
import type { CallCounts, CallStats, LatencySummary } from './call-stats.js';

/** One connection, as one side sees it (`client.metrics()`, `server.metrics()`). */
export interface ConnectionMetrics {
  /** The connection's id on this side (server: ConnectionInfo.id; client: unique in the process). */
  id: number;
  remote: string;
  local: string;
  /** The tier it runs on, and why not a faster one (undefined when it is the fastest). */
  path: string;
  reason: string | undefined;
  /** true on TLS; 'skipped-same-host' when a TLS connection moved to a same-host tier. */
  tls?: boolean | 'skipped-same-host';
  /** Calls this side made (client) or served (server), unary and streams. */
  calls: CallCounts;
  /** Call latency in µs; undefined with `metrics: false`. */
  latencyUs: LatencySummary | undefined;
  /** Bytes received and sent on the connection (all its channels), frame headers included. */
  bytes: { in: number; out: number };
}

export interface ClientMetrics {
  address: string;
  state: 'open' | 'reconnecting' | 'closed';
  /** Successful reconnects so far. */
  reconnects: number;
  /** Calls sent again after a drop (idempotent, or never accepted by the server). */
  retries: number;
  /** The current connection (the last one when reconnecting or closed). */
  connection: ConnectionMetrics;
}

export interface ServerMetrics {
  /** Connections open now. */
  connections: ConnectionMetrics[];
  /** Every connection since start(), closed ones included. */
  totals: { connections: number; calls: CallCounts; bytes: { in: number; out: number } };
}

/** Adds `b` into `a` (for totals). */
export function addCounts(a: CallCounts, b: CallCounts): void {
  a.started += b.started;
  a.ok += b.ok;
  a.failed += b.failed;
  for (const [code, n] of Object.entries(b.errors) as [keyof CallCounts['errors'], number][]) a.errors[code] = (a.errors[code] ?? 0) + n;
}

/** What the metrics of one connection are read from (a client or server session). */
export interface ObservedSession {
  connectionId: number;
  stats: CallStats;
  readonly remote: string;
  readonly local: string;
  readonly firstTier: string;
  readonly pathInfo: PathInfo;
  readonly bytes: { in: number; out: number };
}

/** The per-connection metrics of one session. */
export function connectionMetrics(s: ObservedSession): ConnectionMetrics {
  const { calls, latencyUs } = s.stats.snapshot();
  const info = s.pathInfo;
  return {
    id: s.connectionId,
    remote: s.remote,
    local: s.local,
    path: info.path,
    reason: info.reason,
    ...(info.tls !== undefined ? { tls: info.tls } : {}),
    calls,
    latencyUs,
    bytes: { ...s.bytes },
  };
}

