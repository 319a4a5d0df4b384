import type { Client } from '@fastpath/core';

/**
 * Makes sure everything published so far has reached `subscriber`: an acknowledged publish from
 * each publisher (routed, so its earlier messages are already written to every subscriber), then
 * a round trip on the subscriber's own connection (answered after those events).
 */
export async function settle(subscriber: Client, ...publishers: Client[]): Promise<void> {
  for (const p of publishers) await p.publish('settle.publisher', null, { ack: true });
  await subscriber.publish('settle.subscriber', null, { ack: true });
}
