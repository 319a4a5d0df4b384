// Slow pub-sub consumers, over every transport in the matrix, on both sides: a subscriber that
// stops reading (a raw peer, or a process stopped with SIGSTOP) costs bounded server memory under
// both server policies (drop-oldest, disconnect), and a client iterator that is not read keeps a
// bounded queue; every crossing is reported by a 'slow-consumer' event.
// The other pub-sub suites are test/pubsub-*.test.ts.
//
// Tests with a "Regression" comment found a bug in core while this suite was written.
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  buildFrame,
  decode,
  encode,
  FastpathError,
  FrameType,
  Server,
  Status,
  type Client,
  type ConnectionInfo,
  type SlowConsumerInfo,
} from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { errorOf } from './helpers/error-frame.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { pubsubHarness } from './helpers/pubsub-harness.js';
import { settle } from './helpers/pubsub-settle.js';
import { RawPeer, type RawFrame } from './helpers/raw-peer.js';
import { spawnTs } from './helpers/spawn.js';
import { report } from './helpers/subscriber-process.js';
import { sleep, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap and off-heap (Buffer) bytes of this process after a full collection, and its RSS. */
function memory(): { live: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { live: m.heapUsed + m.external, rss: m.rss };
}

const MiB = 1024 * 1024;

interface HeldSession {
  queuedEventBytes: number;
  conn: { pendingBytes: number };
}

/**
 * What the server holds for its subscribers: bytes in per-subscription queues (summed), and the
 * most bytes one connection has accepted but not yet handed to the OS. There is no public API for
 * this (reported); it reads the server's sessions.
 */
function serverHeld(server: Server): { queued: number; pending: number } {
  const sessions = (server as unknown as { sessions: Map<HeldSession, number> }).sessions;
  let queued = 0;
  let pending = 0;
  for (const s of sessions.keys()) {
    queued += s.queuedEventBytes;
    pending = Math.max(pending, s.conn.pendingBytes);
  }
  return { queued, pending };
}

/** Counts messages and resolves waiters once a count is reached (no polling). */
class Counter {
  n = 0;
  private waiters: Array<{ at: number; resolve: () => void }> = [];

  add(k = 1): void {
    this.n += k;
    this.waiters = this.waiters.filter((w) => (this.n >= w.at ? (w.resolve(), false) : true));
  }

  reached(at: number, timeoutMs = 10_000): Promise<void> {
    if (this.n >= at) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out at ${this.n} of ${at} messages`)), timeoutMs);
      this.waiters.push({
        at,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }
}

/** A raw subscriber: handshakes over the server's own address (no fast path) and subscribes. */
async function rawSubscriber(url: string, subject: string): Promise<RawPeer> {
  const raw = await RawPeer.connect(url);
  raw.hello();
  await raw.next(FrameType.WELCOME);
  raw.write(buildFrame(FrameType.SUBSCRIBE, 0, 1, encode({ subject })));
  const r = await raw.next(FrameType.RESPONSE);
  expect(r.id).toBe(1);
  return raw;
}

function eventsOf(frames: RawFrame[]): Array<{ subject: string; data: unknown }> {
  return frames.filter((f) => f.type === FrameType.EVENT).map((f) => {
    const [subject, data] = decode(f.body) as [string, unknown];
    return { subject, data };
  });
}

describe.each(transports)('pub-sub over $name', (tc) => {
  let server: Server;
  const { startServer, client, children } = pubsubHarness(tc, (s) => (server = s));

  describe('slow consumers', () => {
    const PAD = Buffer.alloc(2048, 1);
    const FRAME = 2048 + 64; // an EVENT frame with that payload, roughly
    const HIGH_WATER = 256 * 1024;
    const QUEUE = { maxMessages: 200, maxBytes: 256 * 1024 };
    const BATCH = 64;
    /** 8 192 messages of 2 KiB: 16 MiB, far more than what the server may hold for one subscriber. */
    const TOTAL = 8192;

    interface Setup {
      s: Server;
      slowEvents: Array<{ info: SlowConsumerInfo; conn: ConnectionInfo }>;
      disconnects: Array<{ conn: ConnectionInfo; reason: FastpathError }>;
      good: Client;
      goodCount: Counter;
      goodInOrder: () => boolean;
      seq: number;
      publish(batches: number, stop?: () => boolean): Promise<void>;
    }

    async function setup(policy: 'drop-oldest' | 'disconnect'): Promise<Setup> {
      const s = await startServer({ highWaterBytes: HIGH_WATER, subscriptionQueue: { ...QUEUE, policy } });
      const good = await client({}, s);
      const goodCount = new Counter();
      let last = -1;
      let ordered = true;
      await good.subscribe<{ seq: number }>('feed.prices', {
        callback: (d) => {
          if (d.seq !== last + 1) ordered = false;
          last = d.seq;
          goodCount.add();
        },
      }).ready;
      const st: Setup = {
        s,
        slowEvents: [],
        disconnects: [],
        good,
        goodCount,
        goodInOrder: () => ordered,
        seq: 0,
        // Publishes in batches; the well-behaved subscriber reads each batch before the next one.
        async publish(batches, stop) {
          for (let b = 0; b < batches && !stop?.(); b++) {
            for (let i = 0; i < BATCH; i++) s.publish('feed.prices', { seq: st.seq++, pad: PAD });
            await goodCount.reached(st.seq);
          }
        },
      };
      s.on('slow-consumer', (info, conn) => st.slowEvents.push({ info, conn }));
      s.on('disconnect', (conn, reason) => st.disconnects.push({ conn, reason }));
      return st;
    }

    function seqsOf(raw: RawPeer): number[] {
      return eventsOf(raw.frames).map((e) => (e.data as { seq: number }).seq);
    }

    /** The sequence number of the last EVENT the raw peer has read. */
    function lastSeq(raw: RawPeer): number | undefined {
      for (let i = raw.frames.length - 1; i >= 0; i--) {
        const f = raw.frames[i]!;
        if (f.type === FrameType.EVENT) return (decode(f.body) as [string, { seq: number }])[1].seq;
      }
      return undefined;
    }

    it("drop-oldest: a subscriber that stops reading costs bounded server memory; 'slow-consumer' fires once per crossing", async () => {
      const st = await setup('drop-oldest');
      const raw = await rawSubscriber(st.s.address, 'feed.>');
      raw.socket.pause(); // stops reading: the kernel buffers fill, then the server's
      const before = memory();
      await st.publish(TOTAL / BATCH);
      const held = serverHeld(st.s);
      const after = memory();

      // The server holds at most one queue and one high-water mark for the slow subscriber.
      expect(held.queued).toBeLessThanOrEqual(QUEUE.maxBytes);
      expect(held.queued).toBeGreaterThan(QUEUE.maxBytes - 2 * FRAME); // it is full: the limit is what bounds it
      expect(held.pending).toBeLessThanOrEqual(HIGH_WATER + FRAME);
      // 16 MiB went through; live memory grew by a fraction of it.
      expect(after.live - before.live).toBeLessThan(8 * MiB);
      expect(after.rss - before.rss).toBeLessThan(64 * MiB);

      // One crossing, one event, with drop counts; the good subscriber lost nothing.
      expect(st.slowEvents).toHaveLength(1);
      const first = st.slowEvents[0]!;
      expect(first.info).toMatchObject({ subject: 'feed.>', sid: 1, policy: 'drop-oldest' });
      expect(first.info.dropped).toBeGreaterThan(0);
      expect(first.info.totalDropped).toBe(first.info.dropped);
      expect(first.conn.agent).toBe('raw');
      expect(st.goodCount.n).toBe(TOTAL);
      expect(st.goodInOrder()).toBe(true);
      expect(st.disconnects).toHaveLength(0);

      // The subscriber reads again: it gets what was kept, in order, newest last; the queue empties.
      raw.socket.resume();
      await until(() => lastSeq(raw) === TOTAL - 1, 10_000, 'slow subscriber catches up');
      const seqs1 = seqsOf(raw);
      expect(seqs1.every((x, i) => i === 0 || x > seqs1[i - 1]!)).toBe(true);
      expect(seqs1.length).toBeLessThan(TOTAL);
      await until(() => serverHeld(st.s).queued === 0, 5000, 'server queue drained');
      const droppedInFirst = TOTAL - seqs1.length;

      // It stops again: a second crossing, a second event; totals carry over.
      raw.socket.pause();
      await st.publish(TOTAL / BATCH, () => st.slowEvents.length > 1);
      await sleep(0);
      expect(st.slowEvents).toHaveLength(2);
      const second = st.slowEvents[1]!.info;
      expect(second.dropped).toBeGreaterThan(0);
      expect(second.totalDropped).toBe(droppedInFirst + second.dropped);
      expect(serverHeld(st.s).queued).toBeLessThanOrEqual(QUEUE.maxBytes);
      raw.destroy();
      await until(() => st.s.subscriptionCount === 1, 5000, 'slow subscriber removed on close');
    });

    it('disconnect: the slow connection is closed with RESOURCE_EXHAUSTED while the others keep working', async () => {
      const st = await setup('disconnect');
      const raw = await rawSubscriber(st.s.address, 'feed.>');
      raw.socket.pause();
      const before = memory();
      await st.publish(TOTAL / BATCH, () => st.disconnects.length > 0);
      // Read what was sent before the GOAWAY (quickly: the server does not wait long for a stuck peer).
      raw.socket.resume();
      expect(st.disconnects).toHaveLength(1);
      const { conn, reason } = st.disconnects[0]!;
      expect(conn.agent).toBe('raw');
      expect(reason.code).toBe('RESOURCE_EXHAUSTED');
      expect(reason.details).toMatchObject({ reason: 'slow-consumer', subject: 'feed.>' });
      expect(st.s.subscriptionCount).toBe(1);
      expect(st.s.connections()).toHaveLength(1);

      const g = await raw.next(FrameType.GOAWAY, 10_000);
      expect(errorOf(g).status).toBe(Status.RESOURCE_EXHAUSTED);
      expect(errorOf(g).message).toMatch(/slow consumer/);
      await raw.waitClosed(10_000);
      const seqs = seqsOf(raw);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i)); // nothing dropped before the close

      // The others keep working: more messages, a new subscriber, all in order.
      await st.publish(32);
      expect(st.goodCount.n).toBe(st.seq);
      expect(st.goodInOrder()).toBe(true);
      const late = await client({}, st.s);
      const sub = late.subscribe<{ seq: number }>('feed.*');
      await sub.ready;
      await st.publish(1);
      for await (const m of sub) {
        expect(m.data.seq).toBe(st.seq - BATCH);
        break;
      }
      expect(memory().live - before.live).toBeLessThan(8 * MiB);
    });

    // Regression: ServerEvents documents 'slow-consumer' for both policies ("disconnect: the
    // connection is closed") and SlowConsumerInfo carries `policy`, but ServerSubscriptions.deliver()
    // disconnected without emitting it.
    it("disconnect: the server emits 'slow-consumer' (policy 'disconnect') for the connection it closes", async () => {
      const st = await setup('disconnect');
      const raw = await rawSubscriber(st.s.address, 'feed.>');
      raw.socket.pause();
      try {
        await st.publish(TOTAL / BATCH, () => st.disconnects.length > 0);
        expect(st.disconnects).toHaveLength(1);
        await sleep(0);
        expect(st.slowEvents).toHaveLength(1);
        expect(st.slowEvents[0]!.info).toMatchObject({ subject: 'feed.>', sid: 1, policy: 'disconnect' });
        expect(st.slowEvents[0]!.conn.agent).toBe('raw');
      } finally {
        raw.destroy();
      }
    });

    it('a subscriber process stopped with SIGSTOP, on this tier, costs bounded server memory', async () => {
      const st = await setup('drop-oldest');
      const child = spawnTs('test/fixtures/subscriber.ts', [JSON.stringify({ urls: [st.s.address], client: tc.client, subs: [{ subject: 'feed.>' }], only: 'seq' })]);
      children.push(child);
      const ready = (await child.ready) as { paths: string[] };
      expect(ready.paths).toEqual([tc.path]);
      child.kill('SIGSTOP');
      try {
        const before = memory();
        await st.publish(TOTAL / BATCH);
        const held = serverHeld(st.s);
        expect(held.queued).toBeLessThanOrEqual(QUEUE.maxBytes);
        expect(held.pending).toBeLessThanOrEqual(HIGH_WATER + FRAME);
        expect(memory().live - before.live).toBeLessThan(8 * MiB);
        expect(st.slowEvents).toHaveLength(1);
        expect(st.slowEvents[0]!.conn.path).toBe(tc.path);
        expect(st.slowEvents[0]!.info.dropped).toBeGreaterThan(0);
        expect(st.goodCount.n).toBe(TOTAL);
      } finally {
        child.kill('SIGCONT');
      }
      // Once it runs again it gets what was kept, in order, ending with the newest.
      let r = await report(child);
      for (let tries = 0; tries < 200 && r[0]!.received.at(-1) !== TOTAL - 1; tries++) {
        await sleep(25);
        r = await report(child);
      }
      const seqs = r[0]!.received as number[];
      expect(seqs.at(-1)).toBe(TOTAL - 1);
      expect(seqs.every((x, i) => i === 0 || x > seqs[i - 1]!)).toBe(true);
      expect(r[0]!.error).toBeNull();
    });

    // Regression, on the socket tiers: with highWaterBytes below the socket's own writable
    // high-water mark (16 KiB), events queued behind it waited for a 'drain' that never came (the
    // socket never reported backpressure), until later traffic happened to trigger one.
    it('a small highWaterBytes still delivers a burst (no events stranded in the queue)', async () => {
      const s = await startServer({ highWaterBytes: 1024 });
      const c = await client({}, s);
      const count = new Counter();
      await c.subscribe<number>('burst', { callback: () => count.add() }).ready;
      for (let i = 0; i < 500; i++) s.publish('burst', i); // about 12 KiB in one tick
      await count.reached(500, 750);
      expect(serverHeld(s).queued).toBe(0);
    });

    it("a client iterator that is not read keeps at most maxMessages, and emits 'slow-consumer'", async () => {
      const c = await client();
      const events: Array<{ subject: string; dropped: number; totalDropped: number }> = [];
      c.on('slow-consumer', (e) => events.push(e));
      const sub = c.subscribe<number>('client.slow', { maxMessages: 100 });
      await sub.ready;
      for (let i = 0; i < 1000; i++) server.publish('client.slow', i);
      await settle(c);
      expect(sub.dropped).toBe(900);
      expect(events).toHaveLength(1);
      expect(events[0]!.subject).toBe('client.slow');
      expect(events[0]!.dropped).toBeGreaterThan(0);
      const it = sub[Symbol.asyncIterator]();
      for (let i = 900; i < 1000; i++) expect((await it.next()).value).toEqual({ subject: 'client.slow', data: i });

      // Emptied: the next overflow is a new crossing.
      for (let i = 1000; i < 1150; i++) server.publish('client.slow', i);
      await settle(c);
      expect(events).toHaveLength(2);
      expect(events[1]!.dropped).toBeGreaterThan(0);
      expect(events[1]!.totalDropped).toBe(900 + events[1]!.dropped);
      expect(sub.dropped).toBe(950);
      expect((await it.next()).value).toEqual({ subject: 'client.slow', data: 1050 });
      await it.return!();

      // Bounded in bytes too.
      const bytes = c.subscribe<Buffer>('client.bytes', { maxBytes: 8 * 1024 });
      await bytes.ready;
      for (let i = 0; i < 200; i++) server.publish('client.bytes', Buffer.alloc(1024, i));
      await settle(c);
      expect(bytes.dropped).toBeGreaterThanOrEqual(200 - 8);
      const kept: number[] = [];
      const it2 = bytes[Symbol.asyncIterator]();
      for (let i = 0; i < 200 - bytes.dropped; i++) kept.push((await it2.next()).value!.data[0]!);
      expect(kept.at(-1)).toBe(199);
      expect(kept.length).toBeLessThanOrEqual(8);
      await it2.return!();
    });
  });
});
