import type { FastpathError } from '../protocol/errors.js';
import type { PathInfo } from '../session/upgrade.js';
import { CallStats, type CallCounts } from './call-stats.js';
import { channels, publishPath, type ConnectMessage, type DisconnectMessage } from './diagnostics.js';
import { addCounts, connectionMetrics, type ObservedSession, type ServerMetrics } from './metrics.js';

/**
 * The server's metrics and diagnostics-channel reports: it equips each new session with its
 * counters, reports connects, path decisions and disconnects, and keeps totals over closed
 * connections.
 */
export class ServerObserver {
  private readonly totals = { connections: 0, calls: { started: 0, ok: 0, failed: 0, errors: {} } as CallCounts, bytes: { in: 0, out: 0 } };

  constructor(private readonly latency: boolean) {}

  /** A session was created for a new connection. */
  created(session: ObservedSession, id: number): void {
    session.connectionId = id;
    session.stats = new CallStats(this.latency);
  }

  /** The handshake finished. */
  opened(session: ObservedSession): void {
    this.totals.connections++;
    if (channels.connect.hasSubscribers) {
      channels.connect.publish({ side: 'server', connection: session.connectionId, remote: session.remote, local: session.local, tier: session.firstTier } satisfies ConnectMessage);
    }
  }

  path(session: ObservedSession, info: PathInfo): void {
    publishPath('server', session.connectionId, session.firstTier, info.path, info.reason);
  }

  closed(session: ObservedSession, reason: FastpathError): void {
    addCounts(this.totals.calls, session.stats.counts);
    this.totals.bytes.in += session.bytes.in;
    this.totals.bytes.out += session.bytes.out;
    if (channels.disconnect.hasSubscribers) {
      channels.disconnect.publish({ side: 'server', connection: session.connectionId, code: reason.code, reason: reason.message } satisfies DisconnectMessage);
    }
  }

  slowConsumer(session: ObservedSession, info: object): void {
    if (channels.slowConsumer.hasSubscribers) channels.slowConsumer.publish({ side: 'server', connection: session.connectionId, ...info });
  }

  /** Open connections, and totals over every connection since the server started. */
  metrics(open: readonly ObservedSession[]): ServerMetrics {
    const calls: CallCounts = { started: 0, ok: 0, failed: 0, errors: {} };
    addCounts(calls, this.totals.calls);
    const bytes = { ...this.totals.bytes };
    const connections = open.map(connectionMetrics);
    for (const c of connections) {
      addCounts(calls, c.calls);
      bytes.in += c.bytes.in;
      bytes.out += c.bytes.out;
    }
    return { connections, totals: { connections: this.totals.connections, calls, bytes } };
  }
}
