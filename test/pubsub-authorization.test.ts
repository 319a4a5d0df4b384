// Pub-sub authorization, over every transport in the matrix: the server's subscribe and publish
// hooks refuse with PERMISSION_DENIED (or their own error), and hooks that take time to decide
// race neither an unsubscribe nor a close.
// The other pub-sub suites are test/pubsub-*.test.ts.
//
// Tests with a "Regression" comment found a bug in core while this suite was written.
import { FastpathError, Server } from '@fastpath/core';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { pubsubHarness } from './helpers/pubsub-harness.js';
import { settle } from './helpers/pubsub-settle.js';
import { rejectsWith, sleep, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('pub-sub over $name', (tc) => {
  const { startServer, client } = pubsubHarness(tc);

  describe('authorization', () => {
    let s: Server;
    const asked: Array<[string, string | undefined, string | undefined]> = [];

    beforeEach(async () => {
      asked.length = 0;
      s = await startServer({
        authorize: {
          subscribe: async (subject, peer, queue) => {
            asked.push([subject, queue, peer.meta.role]);
            if (subject.startsWith('locked.')) throw new FastpathError('UNAUTHENTICATED', 'log in first');
            await sleep(1);
            return !subject.startsWith('secret.') || peer.meta.role === 'admin';
          },
          publish: (subject, peer) => !subject.startsWith('ro.') || peer.meta.role === 'admin',
        },
      });
    });

    it('refuses a subscription with PERMISSION_DENIED: sub.ready rejects and the iteration ends with it', async () => {
      const c = await client({}, s);
      const admin = await client({ metadata: { role: 'admin' } }, s);
      const sub = c.subscribe('secret.plans', { queue: 'q1' });
      const err = await rejectsWith(sub.ready);
      expect(err.code).toBe('PERMISSION_DENIED');
      expect(err.details).toMatchObject({ subject: 'secret.plans' });
      const iterErr = await rejectsWith(
        (async () => {
          for await (const _m of sub) {
            /* never */
          }
        })(),
      );
      expect(iterErr.code).toBe('PERMISSION_DENIED');
      expect(sub.closed).toBe(true);
      expect(s.subscriptionCount).toBe(0);
      expect(asked).toEqual([['secret.plans', 'q1', undefined]]);

      // A hook that throws a FastpathError refuses with that error.
      expect((await rejectsWith(c.subscribe('locked.x').ready)).code).toBe('UNAUTHENTICATED');

      // The connection is fine, and the peer's metadata reaches the hook.
      const ok = admin.subscribe<number>('secret.plans');
      await ok.ready;
      await c.subscribe('public.news').ready;
      expect(s.subscriptionCount).toBe(2);
      await admin.publish('secret.plans', 42, { ack: true });
      for await (const m of ok) {
        expect(m.data).toBe(42);
        break;
      }
    });

    it('refuses a publish with PERMISSION_DENIED: an acknowledged publish rejects, a fire-and-forget one is an error event', async () => {
      const c = await client({}, s);
      const admin = await client({ metadata: { role: 'admin' } }, s);
      const got: number[] = [];
      await admin.subscribe<number>('ro.>', { callback: (d) => got.push(d) }).ready;
      const errors: FastpathError[] = [];
      c.on('error', (e) => errors.push(e));

      const err = await rejectsWith(c.publish('ro.prices', 1, { ack: true }));
      expect(err.code).toBe('PERMISSION_DENIED');
      expect(err.details).toMatchObject({ subject: 'ro.prices' });

      await c.publish('ro.prices', 2); // resolves at once: the refusal comes back as an event
      await until(() => errors.length === 1, 5000, "client 'error' event");
      expect(errors[0]!.code).toBe('PERMISSION_DENIED');
      expect(errors[0]!.details).toMatchObject({ subject: 'ro.prices', reason: 'publish-refused' });

      await admin.publish('ro.prices', 3, { ack: true });
      await c.publish('rw.prices', 4, { ack: true });
      await settle(admin, c);
      expect(got).toEqual([3]); // refused messages never reach subscribers
      expect(c.closed).toBe(false);
    });
  });

  describe('authorization hooks that take time', () => {
    /** A subscribe hook that allows everything, once the test opens the gate. */
    async function gatedServer(): Promise<{ s: Server; open: () => void; asked: () => number }> {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let asked = 0;
      const s = await startServer({
        authorize: {
          subscribe: async () => {
            asked++;
            await gate;
            return true;
          },
        },
      });
      return { s, open, asked: () => asked };
    }

    it('a subscription accepted after an async hook works, and its unsubscribe removes it', async () => {
      const { s, open } = await gatedServer();
      const c = await client({}, s);
      const sub = c.subscribe<number>('slow.auth');
      open();
      await sub.ready;
      expect(s.subscriptionCount).toBe(1);
      sub.unsubscribe();
      await until(() => s.subscriptionCount === 0, 5000, 'unsubscribe');
    });

    // Regression: ServerSubscriptions.onUnsubscribe ignored an UNSUBSCRIBE for a subscription whose
    // async authorize.subscribe hook had not answered yet; when the hook then allowed it, the
    // subscription stayed active for the rest of the connection. In a queue group this phantom
    // member took its turn and those messages were silently lost.
    it('an unsubscribe sent while the subscribe hook is still deciding wins (no phantom queue member)', async () => {
      const { s, open, asked } = await gatedServer();
      const member = await client({}, s);
      const leaver = await client({}, s);
      const got: number[] = [];
      const stay = member.subscribe<number>('work', { queue: 'q', callback: (n) => got.push(n) });
      const gone = leaver.subscribe<number>('work', { queue: 'q' });
      await until(() => asked() === 2, 5000, 'both hooks asked');
      gone.unsubscribe();
      await leaver.publish('sync', null, { ack: true }); // the UNSUBSCRIBE has reached the server
      open();
      await stay.ready;
      await leaver.publish('sync', null, { ack: true }); // the hooks have answered
      for (let i = 0; i < 10; i++) s.publish('work', i);
      await settle(member);
      expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(s.subscriptionCount).toBe(1);
    });

    // Regression: the same hole when the connection closed while the hook was deciding: the
    // subscription was then added to the broker for a connection that is gone, forever (the count
    // never dropped; in a queue group it swallowed its turn of messages).
    it('a connection that closes while the subscribe hook is deciding leaves no subscription behind', async () => {
      const { s, open, asked } = await gatedServer();
      const quitter = await client({}, s);
      quitter.subscribe('work', { queue: 'q' });
      await until(() => asked() === 1, 5000, 'hook asked');
      await quitter.close();
      await until(() => s.connections().length === 0, 5000, 'server saw the close');
      open();
      await sleep(20);
      const member = await client({}, s);
      const got: number[] = [];
      await member.subscribe<number>('work', { queue: 'q', callback: (n) => got.push(n) }).ready;
      for (let i = 0; i < 10; i++) s.publish('work', i);
      await settle(member);
      expect(s.subscriptionCount).toBe(1);
      expect(got).toHaveLength(10);
    });
  });
});
