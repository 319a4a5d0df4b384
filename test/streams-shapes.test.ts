// Streaming calls of every shape (server, client and bidirectional), over every transport in the
// matrix: typed proxies and the untyped API, a generator's error, a method called with the wrong
// shape, and a failing client source. The other stream suites are test/streams-*.test.ts.
import type { Client, Server, ServiceClient, StreamCall } from '@fastpath/core';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { StreamObserved, Streamer } from './fixtures/streamer.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { collect, collectUntilError } from './helpers/stream-collect.js';
import { streamsHarness } from './helpers/streams-harness.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('streams over $name', (tc) => {
  let server: Server;
  let client: Client;
  let svc: ServiceClient<Streamer>;
  let o: StreamObserved;
  streamsHarness(tc, (s) => ({ server, client, svc, o } = s));

  it('has typed proxies for every shape', () => {
    expectTypeOf(svc.countdown).returns.toEqualTypeOf<StreamCall<{ n: number }>>();
    expectTypeOf(svc.sum).parameter(0).toEqualTypeOf<AsyncIterable<{ n: number }> | Iterable<{ n: number }>>();
    expectTypeOf(svc.sum).returns.resolves.toEqualTypeOf<{ total: number; count: number }>();
    expectTypeOf(svc.double).returns.toEqualTypeOf<StreamCall<{ n: number; twice: number }>>();
    expect(client.path).toBe(tc.path);
  });

  describe('server streams', () => {
    it('delivers every message, in order, through the typed proxy and client.serverStream', async () => {
      expect(await collect(svc.countdown({ from: 3 }))).toEqual([{ n: 3 }, { n: 2 }, { n: 1 }]);
      expect(await collect(svc.countdown({ from: 0 }))).toEqual([]);
      // Far more than the window: credit must be returned for the stream to finish.
      const many = await collect(client.serverStream<{ n: number }>('Streamer.countdown', { from: 1000 }));
      expect(many.map((m) => m.n)).toEqual(Array.from({ length: 1000 }, (_, i) => 1000 - i));
      expect(client.inFlight).toBe(0);
    });

    it('runs a plain async generator handler (no kind given) and an iterable-returning handler', async () => {
      server.handle('Gen.three', async function* (req: { base: number }) {
        for (let i = 0; i < 3; i++) yield req.base + i;
      });
      server.handle('Gen.array', () => ['a', 'b'], { kind: 'server-stream' });
      expect(await collect(client.serverStream('Gen.three', { base: 10 }))).toEqual([10, 11, 12]);
      expect(await collect(client.serverStream('Gen.array'))).toEqual(['a', 'b']);
    });

    it('fails the iteration with the error the generator throws, after the messages before it', async () => {
      const { got, err } = await collectUntilError(svc.failAfter({ n: 3, code: 'NOT_FOUND' }));
      expect(got).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
      expect(err.code).toBe('NOT_FOUND');
      expect(err.details).toEqual({ n: 3 });
    });

    it('answers FAILED_PRECONDITION when a streaming method is called with the wrong shape', async () => {
      const err = await rejectsWith(client.call('Streamer.countdown', { from: 3 }));
      expect(err.code).toBe('FAILED_PRECONDITION');
      expect(err.details).toMatchObject({ reason: 'wrong-kind' });
      const err2 = await rejectsWith(collect(client.serverStream('Streamer.sum', {})));
      expect(err2.code).toBe('FAILED_PRECONDITION');
      expect(await collect(svc.countdown({ from: 1 }))).toEqual([{ n: 1 }]);
    });
  });

  describe('client streams', () => {
    it('sends every message of an iterable or an async generator, and resolves with the response', async () => {
      expect(await svc.sum([{ n: 1 }, { n: 2 }, { n: 3 }])).toEqual({ total: 6, count: 3 });
      expect(await svc.sum([])).toEqual({ total: 0, count: 0 });
      async function* source(): AsyncGenerator<{ n: number }> {
        for (let n = 1; n <= 500; n++) yield { n };
      }
      expect(await client.clientStream('Streamer.sum', source())).toEqual({ total: 125_250, count: 500 });
    });

    it('cancels the call when the source throws, and the server handler sees the abort', async () => {
      async function* broken(): AsyncGenerator<number> {
        yield 1;
        throw new Error('source broke');
      }
      o.valve.allow(1e9);
      const err = await rejectsWith(client.clientStream('Streamer.gated', broken()));
      expect(err.code).toBe('CANCELLED');
      expect(err.message).toMatch(/source broke/);
      await until(() => o.finished.has('gated'), 5000, 'server handler cleanup');
      expect(o.aborted.get('gated')).toBe('CANCELLED');
    });
  });

  describe('bidirectional streams', () => {
    it('answers each message, through the typed proxy and client.bidiStream', async () => {
      expect(await collect(svc.double([{ n: 1 }, { n: 5 }]))).toEqual([
        { n: 1, twice: 2 },
        { n: 5, twice: 10 },
      ]);
      async function* source(): AsyncGenerator<{ n: number }> {
        for (let n = 0; n < 300; n++) yield { n };
      }
      const out = await collect(client.bidiStream<{ n: number; twice: number }>('Streamer.double', source()));
      expect(out).toHaveLength(300);
      expect(out.every((m, i) => m.n === i && m.twice === 2 * i)).toBe(true);
      expect(o.finished.get('double')).toEqual({ signalAborted: false, reason: undefined });
    });
  });
});
