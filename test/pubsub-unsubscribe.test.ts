// Pub-sub unsubscribe, over every transport in the matrix: unsubscribe(), breaking out of or
// throwing in a for-await loop, and closing the client all remove the server's subscriptions.
// The other pub-sub suites are test/pubsub-*.test.ts.
import { Server } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { pubsubHarness } from './helpers/pubsub-harness.js';
import { settle } from './helpers/pubsub-settle.js';
import { until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('pub-sub over $name', (tc) => {
  let server: Server;
  const { client } = pubsubHarness(tc, (s) => (server = s));

  describe('unsubscribe', () => {
    it('unsubscribe() and breaking out of for-await remove the server subscription', async () => {
      const c = await client();
      const pub = await client();
      const a = c.subscribe<number>('u.a');
      const b = c.subscribe<number>('u.b');
      const cb: number[] = [];
      const d = c.subscribe<number>('u.d', { callback: (x) => cb.push(x) });
      await Promise.all([a.ready, b.ready, d.ready]);
      expect(server.subscriptionCount).toBe(3);

      // break after two of five messages
      for (let i = 0; i < 5; i++) pub.publish('u.b', i);
      const seen: number[] = [];
      for await (const { data } of b) {
        seen.push(data);
        if (seen.length === 2) break;
      }
      expect(seen).toEqual([0, 1]);
      expect(b.closed).toBe(true);
      await until(() => server.subscriptionCount === 2, 5000, 'break unsubscribes');

      // unsubscribe() ends an iteration in progress (done, no error)
      const iterating = (async () => {
        const out: number[] = [];
        for await (const { data } of a) out.push(data);
        return out;
      })();
      await pub.publish('u.a', 1, { ack: true });
      await settle(c);
      a.unsubscribe();
      expect(await iterating).toEqual([1]);
      await until(() => server.subscriptionCount === 1, 5000, 'unsubscribe');

      // a callback subscription
      await pub.publish('u.d', 7, { ack: true });
      await settle(c);
      d.unsubscribe();
      d.unsubscribe(); // twice is harmless
      await until(() => server.subscriptionCount === 0, 5000, 'callback unsubscribe');
      await pub.publish('u.d', 8, { ack: true });
      await settle(c);
      expect(cb).toEqual([7]);
      await expect(a.ready).resolves.toBeUndefined();
    });

    it('an exception in the loop body unsubscribes too; closing the client removes the rest', async () => {
      const c = await client();
      const sub = c.subscribe<number>('ex');
      const other = c.subscribe<number>('ex.other');
      await Promise.all([sub.ready, other.ready]);
      await c.publish('ex', 1, { ack: true });
      await expect(
        (async () => {
          for await (const _m of sub) throw new Error('consumer failed');
        })(),
      ).rejects.toThrow('consumer failed');
      await until(() => server.subscriptionCount === 1, 5000, 'throw unsubscribes');
      const ended = (async () => {
        for await (const _m of other) {
          /* nothing arrives */
        }
        return 'ended';
      })();
      await c.close();
      expect(await ended).toBe('ended');
      await until(() => server.subscriptionCount === 0, 5000, 'close removes subscriptions');
    });
  });
});
