// The contract of the benchmark's validation section (`npm run gen` writes
// ../generated/bench-validation.ts). Both methods echo their request. `stamp` carries the
// ping-pong payload (send time and sequence number), so the round trip is checked byte for byte.

/** About 64 bytes as MessagePack: a market tick. */
export interface SmallMessage {
  stamp: Uint8Array;
  symbol: string;
  price: number;
  size: number;
  side: 'buy' | 'sell';
}

export interface Money {
  cents: number;
  currency: 'EUR' | 'USD';
}

export interface Line {
  sku: string;
  quantity: number;
  price: Money;
}

/** About 1 KB as MessagePack: an order with a dozen lines. */
export interface LargeMessage {
  stamp: Uint8Array;
  id: string;
  customer: { name: string; email: string; vip: boolean };
  lines: Line[];
  tags: string[];
  note?: string;
}

export interface BenchValidation {
  small(msg: SmallMessage): SmallMessage;
  large(msg: LargeMessage): LargeMessage;
}
