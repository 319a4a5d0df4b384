// The contract, in plain TypeScript. `npm run gen` turns it into generated/shop.ts: validators,
// method ids and fingerprints, a typed client class and a handler interface with registerShop().
import type { Stream, Topic } from '@fastpath/core';

export type Currency = 'EUR' | 'USD';

export interface Money {
  cents: number;
  currency: Currency;
}

export interface OrderLine {
  sku: string;
  quantity: number;
  price: Money;
}

export type Payment = { kind: 'card'; last4: string } | { kind: 'invoice'; dueDays: number };

export interface Order {
  id: string;
  lines: OrderLine[];
  payment: Payment;
  note?: string;
  placedAt: Date;
}

export enum OrderStatus {
  Accepted = 'accepted',
  Packed = 'packed',
  Shipped = 'shipped',
}

export interface Receipt {
  orderId: string;
  total: Money;
  status: OrderStatus;
}

export interface Shop {
  /** Places an order. The server validates it before the handler runs. */
  placeOrder(order: Order): Receipt;
  /** The status updates of an order, as a server stream. */
  track(req: { orderId: string }): Stream<{ orderId: string; status: OrderStatus; at: Date }>;
  /** Stock deltas, as a client stream; answered with a summary. */
  restock(deltas: Stream<{ sku: string; delta: number }>): { skus: number; units: number };
  /** A bidirectional stream: each offer gets a counter-offer. */
  haggle(offers: Stream<Money>): Stream<{ counter: Money; final: boolean }>;
  /**
   * Totals so far.
   * @idempotent
   */
  stats(): { orders: number; revenue: Record<string, number> };
  /** Price changes, published by the server when stock arrives. */
  priceChanges: Topic<{ sku: string; price: Money }>;
}
