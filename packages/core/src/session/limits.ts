import { FastpathError } from '../protocol/errors.js';

/**
 * Limits that protect a server from one peer (or many). Each is answered RESOURCE_EXHAUSTED with
 * `details.reason` naming it and `details.limit` its value; none closes more than the connection
 * that crossed it, and most refuse only the one call or subscription (docs/security.md).
 */
export interface ServerLimits {
  /** Connections the server holds at once; one more is refused in the handshake (GOAWAY). */
  maxConnections: number;
  /** Calls (of every kind) running at once on one connection; one more fails, the connection stays. */
  maxConcurrentCalls: number;
  /** Streaming calls (server, client, bidi) running at once on one connection; one more fails. */
  maxStreams: number;
  /** Subscriptions one connection may hold; one more is refused. */
  maxSubscriptions: number;
  /**
   * Bytes written to one connection and not yet taken by the OS (a peer that does not read). At
   * this level new calls, streams, subscriptions and acknowledged publishes are refused; at twice
   * this level, while the peer keeps sending, the connection is closed with GOAWAY.
   */
  maxPendingBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxConnections: 10_000,
  maxConcurrentCalls: 4096,
  maxStreams: 1024,
  maxSubscriptions: 10_000,
  maxPendingBytes: 64 * 1024 * 1024,
});

export function resolveLimits(limits: Partial<ServerLimits> | undefined, maxConcurrentCalls: number | undefined): ServerLimits {
  const out: ServerLimits = { ...DEFAULT_LIMITS, ...(maxConcurrentCalls !== undefined ? { maxConcurrentCalls } : {}) };
  for (const [k, v] of Object.entries(limits ?? {})) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_LIMITS)) throw new TypeError(`unknown limit "${k}" (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    if (typeof v !== 'number' || !(v >= 1)) throw new RangeError(`limits.${k} must be a number >= 1 (Infinity for no limit)`);
    out[k as keyof ServerLimits] = v;
  }
  if (!(out.maxConcurrentCalls >= 1)) throw new RangeError('maxConcurrentCalls must be a number >= 1');
  return out;
}

/** A limit was reached: the RESOURCE_EXHAUSTED answer, with `details.reason` and `details.limit`. */
export function limitError(reason: string, message: string, limit: number, extra?: Record<string, unknown>): FastpathError {
  return new FastpathError('RESOURCE_EXHAUSTED', message, { details: { reason, limit, ...extra } });
}
