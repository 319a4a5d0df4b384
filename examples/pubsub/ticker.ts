// What travels on the wire, shared by every process of the example. Only types cross the wire.
// `npm run gen` turns the Ticker contract into generated/ticker.ts, whose validator checks every
// tick a subscriber receives.
import type { Topic } from '@fastpath/core';

/** One price tick, published on subject `ticks.<symbol>`. */
export interface Tick {
  symbol: string;
  /** Increases by one with every tick the server publishes, across symbols. */
  seq: number;
  price: number;
}

export const SYMBOLS = ['ACME', 'GLOBEX', 'INITECH'] as const;

/** The subject a tick for `symbol` is published on. */
export const tickSubject = (symbol: string): string => `ticks.${symbol}`;

/** The contract: ticks are published per symbol, on `ticks.<symbol>`. */
export interface Ticker {
  ticks: Topic<Tick>;
}
