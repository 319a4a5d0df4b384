// Deadlines of streaming calls, over every transport in the matrix: a deadline covers the whole
// stream (server, client and bidi), and the server enforces it by itself.
// The other stream suites are test/streams-*.test.ts.
import { buildFrame, decode, encode, FrameType, Status, type Client, type Server, type ServiceClient } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { StreamObserved, Streamer } from './fixtures/streamer.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { RawPeer } from './helpers/raw-peer.js';
import { collectUntilError } from './helpers/stream-collect.js';
import { REQUEST_SERVER_STREAM } from './helpers/stream-wire.js';
import { streamsHarness } from './helpers/streams-harness.js';
import { rejectsWith, sleep, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('streams over $name', (tc) => {
  let server: Server;
  let client: Client;
  let svc: ServiceClient<Streamer>;
  let o: StreamObserved;
  streamsHarness(tc, (s) => ({ server, client, svc, o } = s));

  describe('deadlines apply to the whole stream', () => {
    it('ends a server stream that keeps producing with DEADLINE_EXCEEDED, and stops its generator', async () => {
      // Each message comes quickly; only the stream as a whole outlives the deadline.
      const { got, err } = await collectUntilError(svc.ticks({ tag: 'deadline', delayMs: 5 }, { deadline: 150 }));
      expect(err.code).toBe('DEADLINE_EXCEEDED');
      expect(got.length).toBeGreaterThan(0);
      expect(got.every((m, i) => m.i === i)).toBe(true);
      await until(() => o.finished.has('deadline'), 5000, 'generator finally');
      expect(o.finished.get('deadline')?.signalAborted).toBe(true);
    });

    it('ends a bidi stream whose source never ends, and a client stream, with DEADLINE_EXCEEDED', async () => {
      async function* trickle(): AsyncGenerator<{ n: number }> {
        for (let n = 0; ; n++) {
          yield { n };
          await sleep(5);
        }
      }
      const { got, err } = await collectUntilError(svc.double(trickle(), { deadline: 150 }));
      expect(err.code).toBe('DEADLINE_EXCEEDED');
      expect(got.every((m, i) => m.n === i)).toBe(true);
      await until(() => o.finished.has('double'), 5000, 'generator finally');

      const slow = async function* (): AsyncGenerator<number> {
        for (;;) {
          yield 1;
          await sleep(5);
        }
      };
      o.valve.allow(1e9);
      expect((await rejectsWith(client.clientStream('Streamer.gated', slow(), { deadline: 150 }))).code).toBe('DEADLINE_EXCEEDED');
      await until(() => o.finished.has('gated'), 5000, 'handler cleanup');
    });

    it('enforces the deadline on the server by itself (a raw client that never cancels)', async () => {
      const raw = await RawPeer.connect(server.address);
      try {
        raw.hello();
        await raw.next(FrameType.WELCOME);
        raw.write(buildFrame(FrameType.REQUEST, REQUEST_SERVER_STREAM, 1, encode(['Streamer.ticks', 150, null, { tag: 'raw-deadline', delayMs: 5 }])));
        const err = await raw.next(FrameType.ERROR);
        expect(err.id).toBe(1);
        expect((decode(err.body) as [number])[0]).toBe(Status.DEADLINE_EXCEEDED);
        expect(raw.frames.filter((f) => f.type === FrameType.STREAM_DATA).length).toBeGreaterThan(0);
        await until(() => o.finished.has('raw-deadline'), 5000, 'generator finally');
        expect(o.finished.get('raw-deadline')).toEqual({ signalAborted: true, reason: 'DEADLINE_EXCEEDED' });
      } finally {
        raw.destroy();
      }
    });
  });
});
