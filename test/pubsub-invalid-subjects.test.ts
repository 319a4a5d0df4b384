// Invalid pub-sub subjects, over every transport in the matrix: refused with INVALID_ARGUMENT by
// the client, by server.publish and by the server for a raw peer, whose connection stays up
// (except for an UNSUBSCRIBE of an id it never used, a protocol error on that connection only).
// The other pub-sub suites are test/pubsub-*.test.ts.
import { buildFrame, decode, encode, FastpathError, FrameType, Server, Status } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { errorOf } from './helpers/error-frame.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { pubsubHarness } from './helpers/pubsub-harness.js';
import { RawPeer } from './helpers/raw-peer.js';
import { rejectsWith } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('pub-sub over $name', (tc) => {
  let server: Server;
  const { client } = pubsubHarness(tc, (s) => (server = s));

  describe('invalid subjects', () => {
    const badSubscribe = ['', 'a..b', '.a', 'a.', 'a.>.b', 'a b', 'a.b*', 'a.>x', 'x'.repeat(1025)];
    const badPublish = ['a.*', 'a.>', '*', '>', '', 'a..b', 'a b'];

    it('client.subscribe, client.publish and server.publish throw INVALID_ARGUMENT', async () => {
      const c = await client();
      for (const subject of badSubscribe) {
        const e = (() => {
          try {
            c.subscribe(subject);
          } catch (err) {
            return err as FastpathError;
          }
          return undefined;
        })();
        expect(e?.code, JSON.stringify(subject)).toBe('INVALID_ARGUMENT');
        expect(e?.details?.reason).toBe('bad-subject');
      }
      for (const subject of badPublish) {
        for (const ack of [false, true]) {
          let code: string | undefined;
          try {
            await c.publish(subject, 1, { ack });
          } catch (err) {
            code = (err as FastpathError).code;
          }
          expect(code, `${JSON.stringify(subject)} ack=${ack}`).toBe('INVALID_ARGUMENT');
        }
        let serverCode: string | undefined;
        try {
          server.publish(subject, 1);
        } catch (err) {
          serverCode = (err as FastpathError).code;
        }
        expect(serverCode, `server.publish(${JSON.stringify(subject)})`).toBe('INVALID_ARGUMENT');
      }
      // Valid wildcards.
      await Promise.all(['a.*.c', '>', '*', 'a.>', '*.*'].map((p) => c.subscribe(p).ready));
      expect(server.subscriptionCount).toBe(5);
      // An invalid queue group name is refused by the server.
      expect((await rejectsWith(c.subscribe('ok', { queue: 'has space' }).ready)).code).toBe('INVALID_ARGUMENT');
    });

    it('the server answers INVALID_ARGUMENT to a raw peer and keeps the connection', async () => {
      const raw = await RawPeer.connect(server.address);
      try {
        raw.hello();
        await raw.next(FrameType.WELCOME);
        raw.write(buildFrame(FrameType.SUBSCRIBE, 0, 1, encode({ subject: 'a..b' })));
        raw.write(buildFrame(FrameType.PUBLISH, 0, 2, encode(['a.*', 1])));
        raw.write(buildFrame(FrameType.PUBLISH, 0, 0, encode(['a.>', 1])));
        raw.write(buildFrame(FrameType.SUBSCRIBE, 0, 3, encode({ subject: 'fine.>' })));
        raw.write(buildFrame(FrameType.PUBLISH, 0, 4, encode(['fine.x', 'hi'])));
        const errs = [await raw.next(FrameType.ERROR), await raw.next(FrameType.ERROR), await raw.next(FrameType.ERROR)];
        expect(errs.map((f) => f.id)).toEqual([1, 2, 0]);
        for (const f of errs) expect(errorOf(f).status).toBe(Status.INVALID_ARGUMENT);
        expect(errorOf(errs[2]!).details).toMatchObject({ reason: 'publish-refused' });
        expect((await raw.next(FrameType.RESPONSE)).id).toBe(3);
        const ev = await raw.next(FrameType.EVENT);
        expect(ev.id).toBe(3);
        expect(decode(ev.body)).toEqual(['fine.x', 'hi']);
        expect((await raw.next(FrameType.RESPONSE)).id).toBe(4);
        expect(raw.closed).toBe(false);
        expect(server.subscriptionCount).toBe(1);
      } finally {
        raw.destroy();
      }
    });

    it('UNSUBSCRIBE for an id never used is a protocol error on that connection only', async () => {
      const good = await client();
      const sub = good.subscribe<number>('still.here');
      await sub.ready;
      const raw = await RawPeer.connect(server.address);
      raw.hello();
      await raw.next(FrameType.WELCOME);
      raw.write(buildFrame(FrameType.UNSUBSCRIBE, 0, 99));
      const g = errorOf(await raw.next(FrameType.GOAWAY));
      expect(g.message).toMatch(/protocol error: UNSUBSCRIBE for subscription 99, which was never created/);
      await raw.waitClosed();
      server.publish('still.here', 1);
      for await (const m of sub) {
        expect(m.data).toBe(1);
        break;
      }
    });
  });
});
