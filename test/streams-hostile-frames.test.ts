// Hostile stream frames, over every transport in the matrix: frames for stream ids never opened
// (from a raw client, or from a misbehaving server) are a protocol error on that connection only,
// late frames for an ended call are ignored, and a client that sends beyond its credit is closed.
// The other stream suites are test/streams-*.test.ts.
//
// Tests with a "Regression" comment found a bug in core while this suite was written.
import net from 'node:net';
import {
  buildFrame,
  connect,
  decode,
  encode,
  FrameType,
  ProtocolError,
  Server,
  Status,
  type FastpathError,
  type ServiceClient,
} from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamerDef, streamerHandlers, type StreamObserved, type Streamer } from './fixtures/streamer.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { RawPeer } from './helpers/raw-peer.js';
import { collect } from './helpers/stream-collect.js';
import { REQUEST_CLIENT_STREAM, REQUEST_SERVER_STREAM, WINDOW } from './helpers/stream-wire.js';
import { streamsHarness } from './helpers/streams-harness.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

function goaway(frame: { body: Buffer }): { status: number; message: string } {
  const [status, message] = decode(frame.body) as [number, string];
  return { status, message };
}

describe.each(transports)('streams over $name', (tc) => {
  let server: Server;
  let svc: ServiceClient<Streamer>;
  let o: StreamObserved;
  let errors: FastpathError[];
  streamsHarness(tc, (s) => ({ server, svc, o, errors } = s));

  describe('hostile stream frames from a raw peer', () => {
    async function rawPeer(): Promise<RawPeer> {
      const raw = await RawPeer.connect(server.address);
      raw.hello();
      await raw.next(FrameType.WELCOME);
      return raw;
    }

    it.each([
      ['STREAM_DATA', () => buildFrame(FrameType.STREAM_DATA, 0, 77, encode({ n: 1 }))],
      ['STREAM_END', () => buildFrame(FrameType.STREAM_END, 0, 77)],
      ['CREDIT', () => buildFrame(FrameType.CREDIT, 0, 77, encode(10))],
    ] as const)('%s for a stream id never opened is a protocol error on that connection only', async (_name, frame) => {
      // A stream on a good client is in flight the whole time, and finishes.
      const good = svc.ticks({ tag: 'good' });
      const it = good[Symbol.asyncIterator]();
      expect((await it.next()).value).toEqual({ i: 0 });

      const raw = await rawPeer();
      raw.write(frame());
      const g = goaway(await raw.next(FrameType.GOAWAY));
      expect(g.status).toBe(Status.INTERNAL);
      expect(g.message).toMatch(/protocol error: .*id 77, which was never opened/);
      await raw.waitClosed();
      await until(() => errors.length > 0, 3000, 'server error event');
      expect((errors[0] as ProtocolError).reason).toBe('unknown-id');
      expect(ProtocolError.is(errors[0])).toBe(true);

      for (let i = 1; i < 150; i++) expect((await it.next()).value).toEqual({ i });
      await it.return!();
      expect(await svc.sum([{ n: 2 }, { n: 3 }])).toEqual({ total: 5, count: 2 });
    });

    it('ignores a late stream frame for a call that already ended', async () => {
      const raw = await rawPeer();
      try {
        raw.write(buildFrame(FrameType.REQUEST, REQUEST_SERVER_STREAM, 1, encode(['Streamer.countdown', null, null, { from: 2 }])));
        await raw.next(FrameType.STREAM_END);
        raw.write(buildFrame(FrameType.CREDIT, 0, 1, encode(5)));
        raw.write(buildFrame(FrameType.STREAM_DATA, 0, 1, encode({ n: 1 })));
        raw.write(buildFrame(FrameType.PING, 0, 9));
        expect((await raw.next(FrameType.PONG)).id).toBe(9);
        expect(raw.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
      } finally {
        raw.destroy();
      }
    });

    // Regression: the window once accepted `64 + messages taken but not yet credited`. Here the
    // handler has taken one message and no CREDIT was sent: the 65th message is beyond the credit.
    it('closes a connection on the first message beyond the granted credit', async () => {
      const raw = await rawPeer();
      raw.write(buildFrame(FrameType.REQUEST, REQUEST_CLIENT_STREAM, 1, encode(['Streamer.gated', null, null, null])));
      raw.write(buildFrame(FrameType.STREAM_DATA, 0, 1, encode(1)));
      await until(() => o.consumed.get('gated') === 1, 5000, 'handler took the first message');
      for (let i = 1; i < WINDOW + 1; i++) raw.write(buildFrame(FrameType.STREAM_DATA, 0, 1, encode(1)));
      raw.write(buildFrame(FrameType.PING, 0, 5));
      await until(() => raw.closed || raw.frames.some((f) => f.type === FrameType.GOAWAY || f.type === FrameType.PONG), 5000, 'GOAWAY or PONG');
      expect(raw.frames.filter((f) => f.type === FrameType.CREDIT)).toEqual([]);
      const g = goaway(await raw.next(FrameType.GOAWAY, 100));
      expect(g.message).toMatch(/protocol error: the client sent more than its credit on stream 1/);
      await raw.waitClosed();
    });

    it('closes a connection that sends more than its credit', async () => {
      const raw = await rawPeer();
      raw.write(buildFrame(FrameType.REQUEST, REQUEST_CLIENT_STREAM, 1, encode(['Streamer.gated', null, null, null])));
      // The handler takes one message and waits, so no credit comes back: a full window is fine...
      for (let i = 0; i < WINDOW; i++) raw.write(buildFrame(FrameType.STREAM_DATA, 0, 1, encode(1)));
      raw.write(buildFrame(FrameType.PING, 0, 5));
      expect((await raw.next(FrameType.PONG)).id).toBe(5);
      expect(raw.frames.some((f) => f.type === FrameType.GOAWAY || f.type === FrameType.CREDIT)).toBe(false);
      // ...and more than that is not.
      raw.write(buildFrame(FrameType.STREAM_DATA, 0, 1, encode(1)));
      raw.write(buildFrame(FrameType.STREAM_DATA, 0, 1, encode(1)));
      const g = goaway(await raw.next(FrameType.GOAWAY));
      expect(g.message).toMatch(/protocol error: the client sent more than its credit on stream 1/);
      await raw.waitClosed();
      await until(() => o.finished.has('gated'), 5000, 'handler cleanup');
      expect(await svc.sum([{ n: 1 }])).toEqual({ total: 1, count: 1 });
    });
  });
});

describe('stream frames from a misbehaving server', () => {
  it('a STREAM_DATA for a stream id the client never opened is a protocol error on that connection only', async () => {
    const peers: RawPeer[] = [];
    const rawServer = net.createServer((sock) => {
      const peer = RawPeer.wrap(sock);
      peers.push(peer);
      void (async () => {
        await peer.next(FrameType.HELLO);
        peer.write(buildFrame(FrameType.WELCOME, 0, 0, encode({ version: 1, agent: 'raw', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 0 })));
        // Answers the client's first call with a stream frame for an id it never used.
        await peer.next(FrameType.REQUEST);
        peer.write(buildFrame(FrameType.STREAM_DATA, 0, 42, encode('unsolicited')));
      })().catch(() => {});
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    const good = new Server({ listen: 'tcp://127.0.0.1:0' });
    good.addService(StreamerDef, streamerHandlers());
    await good.start();
    const other = await connect(good.address, { fastPath: 'off' });
    try {
      const victim = await connect(`tcp://127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`, { fastPath: 'off', reconnect: false });
      const closed = new Promise<FastpathError>((r) => victim.once('close', r));
      const err = await rejectsWith(collect(victim.serverStream('Streamer.countdown', { from: 3 })));
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toMatch(/stream frame for id 42, which was never opened/);
      expect((await closed).message).toMatch(/stream frame for id 42/);
      const g = goaway(await peers[0]!.next(FrameType.GOAWAY));
      expect(g.status).toBe(Status.INTERNAL);
      expect(g.message).toMatch(/protocol error: stream frame for id 42/);
      // Another connection of the same process is unaffected.
      expect(await collect(other.service(StreamerDef).countdown({ from: 2 }))).toEqual([{ n: 2 }, { n: 1 }]);
    } finally {
      await other.close();
      await good.close({ graceMs: 100 });
      for (const p of peers) p.destroy();
      rawServer.close();
    }
  });
});
