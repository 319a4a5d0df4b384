// Cancelling streaming calls, over every transport in the matrix, checked on the server: breaking
// out of for-await, an AbortSignal, call.cancel() and a closed connection stop the handler (its
// finally runs, ctx.signal aborts) and, for client and bidi streams, the client's source.
// The other stream suites are test/streams-*.test.ts.
import { connect, type Client, type FastpathError, type Server, type ServiceClient } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamerDef, type StreamObserved, type Streamer } from './fixtures/streamer.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { collect, collectUntilError } from './helpers/stream-collect.js';
import { streamsHarness } from './helpers/streams-harness.js';
import { rejectsWith, sleep, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('streams over $name', (tc) => {
  let server: Server;
  let client: Client;
  let svc: ServiceClient<Streamer>;
  let o: StreamObserved;
  streamsHarness(tc, (s) => ({ server, client, svc, o } = s));

  describe('cancellation, checked on the server', () => {
    it('stops the generator when the client breaks out of for-await: finally runs, ctx.signal aborts', async () => {
      let n = 0;
      for await (const m of svc.ticks({ tag: 'break' })) {
        expect(m.i).toBe(n);
        if (++n === 3) break;
      }
      await until(() => o.finished.has('break'), 5000, 'generator finally');
      expect(o.finished.get('break')).toEqual({ signalAborted: true, reason: 'CANCELLED' });
      expect(o.aborted.get('break')).toBe('CANCELLED');
      await until(() => client.inFlight === 0, 5000, 'client forgets the call');
      expect(await collect(svc.countdown({ from: 2 }))).toEqual([{ n: 2 }, { n: 1 }]);
    });

    it('stops the generator when the AbortSignal aborts; the iteration fails with CANCELLED', async () => {
      const ac = new AbortController();
      const call = client.serverStream<{ i: number }>('Streamer.ticks', { tag: 'signal', delayMs: 1 }, { signal: ac.signal });
      const it = call[Symbol.asyncIterator]();
      expect((await it.next()).value).toEqual({ i: 0 });
      ac.abort(new Error('user gave up'));
      const { err } = await collectUntilError({ [Symbol.asyncIterator]: () => it });
      expect(err.code).toBe('CANCELLED');
      expect(err.message).toMatch(/user gave up/);
      await until(() => o.finished.has('signal'), 5000, 'generator finally');
      expect(o.finished.get('signal')).toEqual({ signalAborted: true, reason: 'CANCELLED' });
      // An already-aborted signal fails without reaching the server.
      const err2 = await rejectsWith(collect(svc.ticks({ tag: 'never' }, { signal: ac.signal })));
      expect(err2.code).toBe('CANCELLED');
      expect(o.produced.has('never')).toBe(false);
    });

    it('stops the generator on call.cancel()', async () => {
      const call = svc.ticks({ tag: 'cancel', delayMs: 1 });
      const it = call[Symbol.asyncIterator]();
      await it.next();
      call.cancel('enough');
      const { err } = await collectUntilError({ [Symbol.asyncIterator]: () => it });
      expect(err.code).toBe('CANCELLED');
      await until(() => o.finished.has('cancel'), 5000, 'generator finally');
      expect(o.aborted.get('cancel')).toBe('CANCELLED');
    });

    it('aborts a client-stream handler when the AbortSignal aborts', async () => {
      const ac = new AbortController();
      let pulled = 0;
      async function* endless(): AsyncGenerator<number> {
        for (;;) {
          pulled++;
          yield 1;
        }
      }
      const p = client.clientStream('Streamer.gated', endless(), { signal: ac.signal });
      await until(() => o.consumed.get('gated') === 1, 5000, 'server took a message');
      ac.abort();
      expect((await rejectsWith(p)).code).toBe('CANCELLED');
      await until(() => o.finished.has('gated'), 5000, 'server handler cleanup');
      expect(o.finished.get('gated')).toEqual({ signalAborted: true, reason: 'CANCELLED' });
      const before = pulled;
      await sleep(30);
      expect(pulled).toBeLessThanOrEqual(before + 1); // the source is no longer pulled
    });

    it('stops the generator when the client connection closes mid-stream', async () => {
      const c2 = await connect(server.address, tc.client);
      const it = c2.service(StreamerDef).ticks({ tag: 'close' })[Symbol.asyncIterator]();
      expect((await it.next()).value).toEqual({ i: 0 });
      const pending = it.next().then(
        () => it.next(),
        (e: FastpathError) => e,
      );
      await c2.close();
      await until(() => o.finished.has('close'), 5000, 'generator finally');
      expect(o.finished.get('close')?.signalAborted).toBe(true);
      expect(o.aborted.get('close')).toBe('CANCELLED');
      await pending.catch(() => {});
    });

    it('stops a bidi generator and the client source when the client breaks out', async () => {
      let sourceClosed = false;
      async function* endless(): AsyncGenerator<{ n: number }> {
        try {
          for (let n = 0; ; n++) yield { n };
        } finally {
          sourceClosed = true;
        }
      }
      let n = 0;
      for await (const m of svc.double(endless())) {
        expect(m.n).toBe(n);
        if (++n === 5) break;
      }
      await until(() => o.finished.has('double'), 5000, 'generator finally');
      expect(o.finished.get('double')).toEqual({ signalAborted: true, reason: 'CANCELLED' });
      await until(() => sourceClosed, 5000, 'client source closed');
    });
  });
});
