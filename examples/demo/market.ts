// The demo's contract, in plain TypeScript. `npm run gen` turns it into generated/market.ts:
// validators, a typed MarketClient, the MarketHandlers interface and registerMarket().
import type { Stream, Topic } from '@fastpath/core';

export type Side = 'buy' | 'sell';

export interface Quote {
  symbol: string;
  /** In cents, so the demo prints exact numbers. */
  priceCents: number;
  /** A 64-bit counter: bigint crosses the wire as a MessagePack int64. */
  seq: bigint;
}

export interface Tick {
  symbol: string;
  priceCents: number;
  /** Publish order, so subscribers can check they got every tick in order. */
  n: number;
}

/** Who the server sees on each connection, and the tier each one took. */
export interface ConnectionView {
  id: number;
  /** The `role` the connection gave in its metadata. */
  role: string;
  path: string;
  /** Why it is not on a faster tier (absent when it is on the best one allowed). */
  reason?: string;
}

export interface Market {
  /** A unary call. */
  quote(req: { symbol: string }): Quote;
  /** A unary call with a literal union in the request. */
  order(req: { symbol: string; side: Side; quantity: number }): { orderId: bigint; filledCents: number };
  /** A server stream: `points` past prices, oldest first. */
  history(req: { symbol: string; points: number }): Stream<{ symbol: string; priceCents: number }>;
  /** The connections as the server sees them. */
  connections(): { pid: number; connections: ConnectionView[] };
  /** Returns its bytes: the latency table's echo. */
  echo(payload: Uint8Array): Uint8Array;
  /** Price ticks: published by the client, fanned out by the server to every subscriber. */
  ticks: Topic<Tick>;
}

export const SYMBOLS = ['ACME', 'GLOBEX', 'INITECH'] as const;
