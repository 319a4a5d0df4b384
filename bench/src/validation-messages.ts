/**
 * The messages of the validation section: a ~64-byte one and a ~1 KB one, shaped by
 * contracts/validation.ts. `stamp` carries the ping-pong payload (send time and sequence number,
 * 12 bytes), so a round trip is checked byte for byte as in the other sections.
 */
import { encode } from '@fastpath/core';
import type { LargeMessage, Line, SmallMessage } from './contracts/validation.js';
import { makePayload, MIN_PAYLOAD_BYTES } from './payload.js';

/**
 * The service the echo peer serves without validators: the same methods as BenchValidation, on
 * paths of the same length, so that on and off send frames of the same size.
 */
export const UNVALIDATED_SERVICE = 'BenchNoValidate';

export type MessageSize = 'small' | 'large';
export const MESSAGE_SIZES: readonly MessageSize[] = ['small', 'large'];

/** Bytes of `stamp`: the hrtime stamp and the sequence number, nothing else. */
export const STAMP_PAYLOAD_BYTES = MIN_PAYLOAD_BYTES;

export function smallMessage(stamp: Uint8Array = makePayload(STAMP_PAYLOAD_BYTES)): SmallMessage {
  return { stamp, symbol: 'ACME.PA', price: 101.25, size: 300, side: 'buy' };
}

export function largeMessage(stamp: Uint8Array = makePayload(STAMP_PAYLOAD_BYTES)): LargeMessage {
  const lines: Line[] = [];
  for (let i = 0; i < 14; i++) lines.push({ sku: `SKU-${String(1000 + i * 37)}`, quantity: 1 + (i % 5), price: { cents: 199 + i * 250, currency: i % 3 === 0 ? 'USD' : 'EUR' } });
  return {
    stamp,
    id: 'order-2024-000123',
    customer: { name: 'Ada Lovelace', email: 'ada@example.org', vip: true },
    lines,
    tags: ['priority', 'gift-wrap', 'fragile', 'eu-warehouse'],
    note: 'Leave at the front desk if nobody answers; call ahead before delivery.',
  };
}

export function makeMessage(size: MessageSize, stamp?: Uint8Array): SmallMessage | LargeMessage {
  return size === 'small' ? smallMessage(stamp) : largeMessage(stamp);
}

/** The MessagePack size of a message, as it travels (the frame header not included). */
export function encodedBytes(msg: unknown): number {
  return encode(msg).length;
}
