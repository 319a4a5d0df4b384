// Credit-based backpressure of streaming calls, in both directions, over every transport in the
// matrix: a slow reader or a slow handler holds the other side within the credit window.
// The other stream suites are test/streams-*.test.ts.
import type { Client, ServiceClient } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { StreamObserved, Streamer } from './fixtures/streamer.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { WINDOW } from './helpers/stream-wire.js';
import { streamsHarness } from './helpers/streams-harness.js';
import { sleep, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('streams over $name', (tc) => {
  let client: Client;
  let svc: ServiceClient<Streamer>;
  let o: StreamObserved;
  streamsHarness(tc, (s) => ({ client, svc, o } = s));

  describe('backpressure', () => {
    it('a slow reader keeps the server generator within the window', async () => {
      const call = svc.ticks({ tag: 'bp' });
      const it = call[Symbol.asyncIterator]();
      let consumed = 0;
      const ahead = (): number => (o.produced.get('bp') ?? 0) - consumed;
      for (let round = 0; round < 6; round++) {
        // Read a few messages, then stop and let the producer run as far as it can.
        const k = round === 0 ? 1 : 7 * round;
        for (let j = 0; j < k; j++) {
          const r = await it.next();
          expect(r.value).toEqual({ i: consumed });
          consumed++;
        }
        await until(() => ahead() >= WINDOW - 32, 5000, 'producer refills the window');
        await sleep(20);
        expect(ahead()).toBeLessThanOrEqual(WINDOW + 2);
      }
      await it.return!();
      await until(() => o.finished.has('bp'), 5000, 'generator finally');
      expect(o.produced.get('bp')!).toBeLessThanOrEqual(consumed + WINDOW + 2);
    });

    it('a slow server handler keeps the client source within the window', async () => {
      let pulled = 0;
      async function* source(): AsyncGenerator<number> {
        for (let i = 0; i < 2000; i++) {
          pulled++;
          yield 1;
        }
      }
      const p = client.clientStream<{ total: number }>('Streamer.gated', source());
      const taken = (): number => o.consumed.get('gated') ?? 0;
      for (let round = 0; round < 5; round++) {
        await until(() => pulled >= taken() + WINDOW - 32, 5000, 'client fills the window');
        await sleep(20);
        expect(pulled - taken()).toBeLessThanOrEqual(WINDOW + 2);
        o.valve.allow(40);
        await until(() => taken() >= 1 + 40 * (round + 1), 5000, 'server takes what the valve allows');
      }
      o.valve.allow(1e9);
      expect(await p).toEqual({ total: 2000 });
    });

    it('a bidi call whose responses are not read stops pulling the client source', async () => {
      let pulled = 0;
      async function* source(): AsyncGenerator<{ n: number }> {
        for (let n = 0; n < 5000; n++) {
          pulled++;
          yield { n };
        }
      }
      const call = svc.double(source());
      const it = call[Symbol.asyncIterator]();
      // Nothing is read: at most a window of responses is sent, so the server takes at most a
      // window of requests and returns credit for those: about two windows of the source.
      await until(() => pulled >= 2 * WINDOW, 5000, 'client fills both windows');
      await sleep(30);
      expect(pulled).toBeLessThanOrEqual(2 * WINDOW + 2);
      expect(o.produced.get('double')!).toBeLessThanOrEqual(WINDOW + 1);
      let read = 0;
      for (; read < 200; read++) expect((await it.next()).value).toEqual({ n: read, twice: 2 * read });
      await sleep(30);
      expect(pulled - read).toBeLessThanOrEqual(2 * WINDOW + 2);
      await it.return!();
      await until(() => o.finished.has('double'), 5000, 'generator finally');
    });
  });
});
