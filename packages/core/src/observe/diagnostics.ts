import diagnosticsChannel from 'node:diagnostics_channel';
import type { Code } from '../protocol/codes.js';

/**
 * fastpath's `node:diagnostics_channel` channels (the undici pattern). Subscribing costs the
 * publisher nothing until someone listens: every publish is guarded by `hasSubscribers`.
 *
 *     import diagnostics_channel from 'node:diagnostics_channel';
 *     diagnostics_channel.subscribe('fastpath:call:end', (m) => console.log(m));
 */
export const channels = {
  /** A connection finished its handshake. */
  connect: diagnosticsChannel.channel('fastpath:connect'),
  /** A connection moved to a faster tier (shm, uds, tcp-fastpath). */
  upgrade: diagnosticsChannel.channel('fastpath:upgrade'),
  /** A connection stays on a slower tier than this host could give it; `reason` says why. */
  fallback: diagnosticsChannel.channel('fastpath:fallback'),
  /** A connection ended. */
  disconnect: diagnosticsChannel.channel('fastpath:disconnect'),
  /** A call (unary or stream) started. */
  callStart: diagnosticsChannel.channel('fastpath:call:start'),
  /** A call ended: `code` is 'OK' or the error's code. */
  callEnd: diagnosticsChannel.channel('fastpath:call:end'),
  /** A subscriber could not keep up: messages dropped, or its connection closed. */
  slowConsumer: diagnosticsChannel.channel('fastpath:slow-consumer'),
} as const;

export type Side = 'client' | 'server';

export interface ConnectMessage {
  side: Side;
  /** The connection's id on that side (server: ConnectionInfo.id; client: a per-process counter). */
  connection: number;
  remote: string;
  local: string;
  tier: string;
}

export interface PathMessage {
  side: Side;
  connection: number;
  path: string;
  reason: string | undefined;
}

export interface DisconnectMessage {
  side: Side;
  connection: number;
  code: Code;
  reason: string;
}

export interface CallStartMessage {
  side: Side;
  connection: number;
  method: string;
  id: number;
}

export interface CallEndMessage extends CallStartMessage {
  code: Code | 'OK';
  /** Wall time from start to end, in µs (undefined when the metrics option is off). */
  durationUs: number | undefined;
}

let nextClientConnection = 1;
/** Ids for client-side connections, unique in this process. */
export function clientConnectionId(): number {
  return nextClientConnection++;
}

/** Publishes the path decision: 'upgrade' when it left the connection's first tier, else 'fallback' with the reason. */
export function publishPath(side: Side, connection: number, firstTier: string, path: string, reason: string | undefined): void {
  if (path !== firstTier) {
    if (channels.upgrade.hasSubscribers) channels.upgrade.publish({ side, connection, path, reason } satisfies PathMessage);
  } else if (reason !== undefined && channels.fallback.hasSubscribers) {
    channels.fallback.publish({ side, connection, path, reason } satisfies PathMessage);
  }
}
