/**
 * The shm tier with real processes and real shared memory, in each mode: a child attaches to a token
 * and echoes. Round trips, large frames through a small ring, write batching, backpressure, idle
 * CPU, closes from either side, kill -9, and a hostile peer that overwrites the ring's header.
 * Every wait is bounded in time; the only timing assertion is the idle-CPU one.
 */
import { randomBytes } from 'node:crypto';
import { FrameParser, FrameType, buildFrame } from '@fastpath/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  HAS_ADDON,
  MODES,
  closedPromise,
  conns,
  connectPeer,
  destroyTracked,
  echo,
  leftovers,
  peers,
  sha,
  withTimeout,
  type Peer,
} from './__fixtures__/shm-harness.js';
import { attachShm, createShmOffer, type ShmConnection } from './index.js';
import { binding } from './native.js';

afterEach(destroyTracked);

describe.skipIf(!HAS_ADDON).each(MODES)('shm %s mode, with a child process', (mode) => {
  let conn: ShmConnection;
  let peer: Peer;
  let token: { shm: string; dir: string };

  beforeAll(async () => {
    const r = await connectPeer(mode, { ringBytes: 64 * 1024, slotBytes: 16 * 1024 });
    ({ conn, peer, token } = r);
    conns.splice(conns.indexOf(conn), 1); // shared by the tests below: not destroyed after each
    peers.splice(peers.indexOf(peer), 1);
  }, 30_000);
  afterAll(() => {
    conn?.destroy();
    peer?.kill();
  });

  it('leaves nothing in /dev/shm or the tmp dir once attached', () => {
    expect(leftovers(token)).toEqual([]);
    expect(conn.mode).toBe(mode);
    expect(conn.tier).toBe('shm');
  });

  it('round-trips small messages in order', async () => {
    for (let i = 0; i < 300; i++) {
      const msg = Buffer.alloc(64, i & 0xff);
      msg.writeUInt32LE(i, 0);
      const back = await echo(conn, msg, 5000);
      expect(back.equals(msg)).toBe(true);
    }
  });

  it('carries 1 MiB and 16 MiB frames through a 64 KiB ring, intact and in order', async () => {
    const bodies = [randomBytes(1 << 20), randomBytes(3), randomBytes(16 << 20), randomBytes(100)];
    const frames = bodies.map((b, i) => buildFrame(FrameType.STREAM_DATA, 0, i + 1, b));
    const got: { id: number; hash: string; len: number }[] = [];
    let maxChunk = 0;
    const done = new Promise<void>((resolve, reject) => {
      const parser = new FrameParser((_type, _flags, id, body) => {
        got.push({ id, hash: sha(body), len: body.length });
        if (got.length === frames.length) resolve();
      }, 16 << 20);
      conn.onData = (chunk) => {
        maxChunk = Math.max(maxChunk, chunk.length);
        try {
          parser.push(chunk);
        } catch (e) {
          reject(e as Error);
        }
      };
    });
    for (const f of frames) conn.write(f);
    expect(conn.pendingBytes).toBeGreaterThan(0); // most of it waits for ring space
    await withTimeout(done, 60_000, '17 MiB echo');
    expect(got).toEqual(bodies.map((b, i) => ({ id: i + 1, hash: sha(b), len: b.length })));
    expect(maxChunk).toBeLessThanOrEqual(16 * 1024);
    expect(conn.pendingBytes).toBe(0);
  }, 90_000);

  it('batches a burst: the first write goes at once, the rest of the tick in one concatenated native write, in order', async () => {
    const ch = (conn as unknown as { channel: { write(b: Uint8Array): number; pending(): number } }).channel;
    const realWrite = ch.write.bind(ch);
    const realPending = ch.pending.bind(ch);
    const sizes: number[] = [];
    let pendingCalls = 0;
    // (The addon's methods are read-only on the prototype: shadow them on the instance.)
    const shadow = (name: string, fn: unknown): void => void Object.defineProperty(ch, name, { value: fn, configurable: true, writable: true });
    shadow('write', (b: Uint8Array) => {
      sizes.push(b.length);
      return realWrite(b);
    });
    shadow('pending', () => {
      pendingCalls++;
      return realPending();
    });
    try {
      const n = 500;
      const all = Buffer.alloc(n * 64);
      for (let i = 0; i < n; i++) all.fill(i & 0xff, i * 64, i * 64 + 64).writeUInt32LE(i, i * 64);
      const rest: Buffer[] = [];
      let len = 0;
      const back = withTimeout(
        new Promise<void>((resolve) => {
          conn.onData = (c) => {
            rest.push(Buffer.from(c));
            len += c.length;
            if (len >= all.length) resolve();
          };
        }),
        10_000,
        'burst echo',
      );
      for (let i = 0; i < n; i++) conn.write(all.subarray(i * 64, i * 64 + 64));
      expect(sizes).toEqual([64]); // the rest waits for the microtask
      expect(conn.pendingBytes).toBe((n - 1) * 64); // queued in JS, no native call needed
      expect(pendingCalls).toBe(0);
      await Promise.resolve();
      expect(sizes).toEqual([64, (n - 1) * 64]);
      await back;
      expect(Buffer.concat(rest).equals(all)).toBe(true);
      expect(conn.pendingBytes).toBe(0);
      expect(pendingCalls).toBe(0); // nothing ever waited natively: no native call
      // Above the concat limit: runs of up to 64 KiB, big frames alone.
      sizes.length = 0;
      const big = Buffer.alloc(100 * 1024, 1);
      conn.onData = () => {};
      conn.write(Buffer.alloc(10));
      for (const b of [Buffer.alloc(40 * 1024), Buffer.alloc(20 * 1024), Buffer.alloc(10 * 1024), big, Buffer.alloc(5)]) conn.write(b);
      await Promise.resolve();
      expect(sizes).toEqual([10, 60 * 1024, 10 * 1024, 100 * 1024, 5]);
    } finally {
      delete (ch as { write?: unknown }).write;
      delete (ch as { pending?: unknown }).pending;
    }
  });

  it('pendingBytes follows write() and DRAIN: onDrain fires once the native queue is empty', async () => {
    conn.onData = () => {};
    await new Promise((r) => setTimeout(r, 100)); // the previous test's echoes are in
    conn.write(Buffer.alloc(512 * 1024, 3)); // 8 times the ring
    const p = conn.pendingBytes;
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThanOrEqual(512 * 1024);
    await withTimeout(new Promise<void>((resolve) => (conn.onDrain = resolve)), 10_000, 'drain');
    expect(conn.pendingBytes).toBe(0);
    conn.onDrain = null;
    await new Promise((r) => setTimeout(r, 100)); // let the echo come back
  });

  // Mode-specific: inline burns a core by design; worker and adaptive must go quiet.
  const idleInline = async (): Promise<void> => {
    await echo(conn, Buffer.alloc(64, 7));
    await new Promise((r) => setTimeout(r, 50));
    expect(conn.info()).toMatchObject({ polling: true, armed: false, mode: 0 });
  };
  const idleSleeping = async (): Promise<void> => {
    await echo(conn, Buffer.alloc(64, 7));
    await new Promise((r) => setTimeout(r, 50)); // well past spinMicros
    const start = process.cpuUsage();
    const t0 = performance.now();
    peer.send({ cmd: 'cpu', ms: 2000 });
    const child = await peer.next('cpu', 10_000);
    const d = process.cpuUsage(start);
    const wall = (performance.now() - t0) * 1000;
    const parentShare = (d.user + d.system) / wall;
    const childShare = (child.us as number) / ((child.wallMs as number) * 1000);
    expect(conn.info()).toMatchObject({ polling: false, armed: true });
    expect(child.info).toMatchObject({ polling: false, armed: true });
    console.log(`idle CPU ${mode}: parent ${(parentShare * 100).toFixed(2)}% child ${(childShare * 100).toFixed(2)}%`);
    expect(childShare).toBeLessThan(0.05);
    expect(parentShare).toBeLessThan(0.05);
  };
  if (mode === 'inline') it('keeps polling when idle, by design (no doorbell armed)', idleInline);
  else it('uses under 5% of a core when idle (after the polling window)', idleSleeping, 20_000);

  it('a close from this side fires onClose on the peer', async () => {
    const r = await connectPeer(mode);
    const localClosed = closedPromise(r.conn);
    r.conn.close();
    expect(await withTimeout(localClosed, 5000, 'local onClose')).toBeUndefined();
    const m = await r.peer.next('closed', 5000);
    expect(m.err).toBeUndefined();
    expect(await withTimeout(r.peer.exited, 5000, 'peer exit')).toBe(0);
  }, 30_000);

  it('a close from the peer fires onClose here', async () => {
    const r = await connectPeer(mode);
    const closed = closedPromise(r.conn);
    r.peer.send({ cmd: 'close' });
    expect(await withTimeout(closed, 5000, 'onClose after peer close')).toBeUndefined();
    expect(r.conn.closed).toBe(true);
    r.conn.destroy(); // idempotent
  }, 30_000);

  it('a peer that calls process.exit() is seen as closed (exit hook)', async () => {
    const r = await connectPeer(mode);
    const closed = closedPromise(r.conn);
    r.peer.send({ cmd: 'exit' });
    expect(await withTimeout(closed, 5000, 'onClose after peer exit')).toBeUndefined();
  }, 30_000);

  it('kill -9 of the peer leaves nothing in /dev/shm, and destroy is safe afterwards', async () => {
    const r = await connectPeer(mode);
    await echo(r.conn, Buffer.from('ping'));
    r.peer.kill();
    expect(await withTimeout(r.peer.exited, 5000, 'peer exit')).toBeNull();
    expect(leftovers(r.token)).toEqual([]);
    r.conn.write(Buffer.alloc(100_000)); // into a dead peer's ring: queued, no error
    const closed = closedPromise(r.conn);
    r.conn.destroy(new Error('liveness socket closed'));
    expect((await closed)?.message).toBe('liveness socket closed');
  }, 30_000);

  describe('a hostile peer', () => {
    const C = binding?.constants ?? ({} as NonNullable<typeof binding>['constants']);
    const cases: { what: string; offset: number; value: bigint; width: 4 | 8; writeAfter: boolean; match: RegExp }[] = [
      { what: 'an impossible tail', offset: C.OFF_TAIL1, value: 1n << 40n, width: 8, writeAfter: false, match: /write position is impossible/ },
      { what: 'an impossible head', offset: C.OFF_HEAD0, value: 1n << 40n, width: 8, writeAfter: true, match: /read position is impossible/ },
      { what: 'a corrupted magic', offset: C.OFF_MAGIC, value: 0xdeadbeefn, width: 4, writeAfter: false, match: /header was overwritten/ },
      { what: 'a changed ring size', offset: C.OFF_RING_BYTES, value: 1n << 20n, width: 4, writeAfter: false, match: /header was overwritten/ },
    ];
    it.each(cases)('writing $what fails only that channel, with an error', async ({ offset, value, width, writeAfter, match }) => {
      const r = await connectPeer(mode, { ringBytes: 64 * 1024 });
      // A second, healthy channel in this process, which must not notice anything.
      const other = createShmOffer({ mode });
      const otherClient = attachShm(other.token, { mode });
      const otherServer = await withTimeout(other.attached, 5000, 'second channel');
      conns.push(otherClient, otherServer);
      otherServer.onData = (b) => otherServer.write(b);

      await echo(r.conn, Buffer.from('before'));
      const closed = closedPromise(r.conn);
      r.peer.send({ cmd: 'poke', offset, value: value.toString(), width });
      expect((await r.peer.next('poked')).ok).toBe(true);
      if (writeAfter) r.conn.write(Buffer.alloc(200 * 1024)); // needs the head: finds it impossible
      const err = await withTimeout(closed, 5000, 'onClose with an error');
      expect(err).toMatchObject({ code: 'ESHMCORRUPT' });
      expect(err!.message).toMatch(match);
      expect(r.conn.closed).toBe(true);
      r.conn.write(Buffer.from('after')); // ignored, no throw

      const back = await echo(otherClient, Buffer.from('still fine'));
      expect(back.toString()).toBe('still fine');
      // The peer hears the close too.
      await r.peer.next('closed', 5000);
    }, 30_000);
  });
});
