// Stream messages over the receiver's maxFrameBytes, over every transport in the matrix: in
// either direction they fail their call, not the connection.
// The other stream suites are test/streams-*.test.ts.
//
// Tests with a "Regression" comment found a bug in core while this suite was written.
import { connect, Server } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamerDef, streamerHandlers, type StreamObserved } from './fixtures/streamer.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { collect, collectUntilError } from './helpers/stream-collect.js';
import { streamsHarness } from './helpers/streams-harness.js';
import { rejectsWith } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('streams over $name', (tc) => {
  let server: Server;
  let o: StreamObserved;
  streamsHarness(tc, (s) => ({ server, o } = s));

  describe('messages over the receiver’s maxFrameBytes', () => {
    // Regression: unary calls check the peer's maxFrameBytes before sending (the call fails with
    // RESOURCE_EXHAUSTED, the connection survives), but stream messages did not: the receiver's
    // frame parser rejected the oversized frame and the whole connection was torn down with every
    // call on it. Server -> client (STREAM_DATA from a generator).
    it('a server-stream message too big for the client fails that call, not the connection', async () => {
      server.handle('Big.stream', async function* () {
        yield 'small';
        yield 'x'.repeat(10_000);
      });
      const small = await connect(server.address, { ...tc.client, maxFrameBytes: 4096 });
      try {
        const { got, err } = await collectUntilError(small.serverStream('Big.stream'));
        expect(got).toEqual(['small']);
        expect(err.code).toBe('RESOURCE_EXHAUSTED');
        expect(small.closed).toBe(false);
        expect(await collect(small.service(StreamerDef).countdown({ from: 1 }))).toEqual([{ n: 1 }]);
      } finally {
        await small.close();
      }
    });

    // Regression: the same from client to server: neither the REQUEST of a server stream nor a
    // client-stream STREAM_DATA was checked against the server's maxFrameBytes, so the server
    // closed the whole connection with a protocol error.
    it('a streamed request too big for the server fails that call, not the connection', async () => {
      const s2 = new Server({ listen: tc.listen(), ...tc.server, maxFrameBytes: 4096 });
      s2.addService(StreamerDef, streamerHandlers(o));
      await s2.start();
      const c2 = await connect(s2.address, tc.client);
      try {
        const big = 'x'.repeat(10_000);
        expect((await rejectsWith(c2.clientStream('Streamer.sum', [{ n: 1 }, { n: 2, pad: big } as { n: number }]))).code).toBe('RESOURCE_EXHAUSTED');
        expect(c2.closed).toBe(false);
        expect((await rejectsWith(collect(c2.serverStream('Streamer.countdown', { from: 1, pad: big })))).code).toBe('RESOURCE_EXHAUSTED');
        expect(c2.closed).toBe(false);
        expect(await c2.service(StreamerDef).sum([{ n: 1 }])).toEqual({ total: 1, count: 1 });
      } finally {
        await c2.close();
        await s2.close({ graceMs: 100 });
      }
    });
  });
});
