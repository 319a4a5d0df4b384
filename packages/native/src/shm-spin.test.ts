/**
 * The opt-in spin: its option and the main-thread rule, spin() itself (the budget, synchronous
 * delivery, no re-entry, exceptions from the callback), round trips with both ends spinning in
 * each mode, the per-turn window that keeps the event loop going, and a spin in a worker thread.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Worker, isMainThread } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { HAS_ADDON, Peer, conns, destroyTracked, echo, peers, sha, withTimeout, type PeerMsg } from './__fixtures__/shm-harness.js';
import { attachShm, createShmOffer, resolveShmOptions, shmOptionsFrom, type ShmConnection, type ShmMode, type ShmOptions } from './index.js';
import { binding } from './native.js';

afterEach(destroyTracked);

describe.skipIf(!HAS_ADDON)('the opt-in spin', () => {
  const SPIN = { budgetMicros: 2000, allowMainThread: true };

  /** An offer and an attach in this process (both ends on this thread). */
  async function localPair(options: ShmOptions = {}): Promise<{ server: ShmConnection; client: ShmConnection }> {
    const offer = createShmOffer({ mode: 'worker', ...options });
    const client = attachShm(offer.token, { mode: 'worker', ...options });
    const server = await withTimeout(offer.attached, 5000, 'local attach');
    conns.push(client, server);
    return { server, client };
  }

  /** A spinning offer with an echo child process on it (the child spins too when `peerSpin`). */
  async function spinningPeer(mode: ShmMode, budgetMicros: number, peerSpin: boolean): Promise<{ conn: ShmConnection; peer: Peer }> {
    const spin = { budgetMicros, allowMainThread: true };
    const offer = createShmOffer({ mode, spin, attachTimeoutMs: 15_000 });
    const peer = new Peer(offer.token, mode, peerSpin ? { spin } : {});
    peers.push(peer);
    const conn = await withTimeout(offer.attached, 15_000, 'attach');
    conns.push(conn);
    await peer.next('attached', 15_000);
    return { conn, peer };
  }

  /** `n` 64-byte ping-pongs, each next ping written from inside onData; checks every echo. */
  function chain(conn: ShmConnection, n: number, timeoutMs = 20_000): Promise<{ bad: number; syncInWrite: number }> {
    const ping = Buffer.alloc(64);
    let i = 0;
    let bad = 0;
    let got: Buffer[] = [];
    let gotBytes = 0;
    let inWrite = false;
    let syncInWrite = 0;
    const send = (): void => {
      ping.fill(i & 0xff);
      ping.writeUInt32LE(i, 0);
      inWrite = true;
      conn.write(ping);
      inWrite = false;
    };
    return withTimeout(
      new Promise((resolve) => {
        conn.onData = (chunk) => {
          if (inWrite) syncInWrite++;
          got.push(Buffer.from(chunk));
          gotBytes += chunk.length;
          if (gotBytes < 64) return;
          const back = Buffer.concat(got);
          got = [];
          gotBytes = 0;
          if (back.length !== 64 || back.readUInt32LE(0) !== i || back[63] !== (i & 0xff)) bad++;
          if (++i === n) return resolve({ bad, syncInWrite });
          send();
        };
        send();
      }),
      timeoutMs,
      `${n} chained round trips`,
    );
  }

  it('validates the option; resolveShmOptions and shmOptionsFrom carry it', () => {
    expect(resolveShmOptions({}).spin).toBeUndefined();
    expect(resolveShmOptions({ spin: { budgetMicros: 50 } }).spin).toEqual({ budgetMicros: 50, allowMainThread: false });
    expect(resolveShmOptions({ spin: { budgetMicros: 100_000, allowMainThread: true } }).spin).toEqual({ budgetMicros: 100_000, allowMainThread: true });
    for (const budgetMicros of [0, -1, 1.5, 100_001, NaN, Infinity, '100' as unknown as number, undefined as unknown as number]) {
      expect(() => resolveShmOptions({ spin: { budgetMicros } }), String(budgetMicros)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/spin\.budgetMicros/) }));
    }
    expect(() => resolveShmOptions({ spin: { budgetMicros: 10, allowMainThread: 'yes' as unknown as boolean } })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => resolveShmOptions({ spin: 5 as unknown as ShmOptions['spin'] })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    // Core passes its `shm: { spin: {...} }` tier options through shmOptionsFrom.
    expect(shmOptionsFrom({ mode: 'inline', spin: { budgetMicros: 10, allowMainThread: true, junk: 1 } })).toEqual({ mode: 'inline', spin: { budgetMicros: 10, allowMainThread: true } });
    expect(shmOptionsFrom({ spin: { budgetMicros: 10, allowMainThread: 'no' } })).toEqual({ spin: { budgetMicros: 10 } });
    expect(shmOptionsFrom({ spin: 'fast' })).toEqual({});
    expect(shmOptionsFrom({ spin: { budgetMicros: '10' } })).toEqual({});
  });

  it('is refused on the main thread unless allowMainThread', async () => {
    expect(isMainThread).toBe(true); // vitest runs this file in a child process's main thread
    expect(() => createShmOffer({ spin: { budgetMicros: 100 } })).toThrow(expect.objectContaining({ code: 'EMAINTHREAD', message: expect.stringMatching(/main thread.*worker thread.*allowMainThread/s) }));
    const offer = createShmOffer({ mode: 'worker' });
    try {
      expect(() => attachShm(offer.token, { spin: { budgetMicros: 100 } })).toThrow(expect.objectContaining({ code: 'EMAINTHREAD' }));
      expect(() => attachShm(offer.token, { spin: { budgetMicros: 100, allowMainThread: false } })).toThrow(expect.objectContaining({ code: 'EMAINTHREAD' }));
      // Nothing was attached: the offer is still open, and a spin-less connection refuses spin().
      const client = attachShm(offer.token, { mode: 'worker' });
      conns.push(client, await withTimeout(offer.attached, 5000, 'attach'));
      expect(() => client.spin(10)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      offer.cancel();
    }
  });

  it('a spin with no data returns after about the budget, having delivered nothing; the worker mode then sleeps again', async () => {
    const { client } = await localPair({ spin: SPIN });
    let delivered = 0;
    client.onData = () => delivered++;
    await new Promise((r) => setTimeout(r, 20)); // the worker mode arms its doorbell
    expect(client.info()).toMatchObject({ polling: false, armed: true });
    const t0 = performance.now();
    expect(client.spin(3000)).toBe(0);
    const ms = performance.now() - t0;
    expect(delivered).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(2.9); // it did spin (the clock is monotonic)
    expect(ms).toBeLessThan(2000); // and came back
    expect(client.info()).toMatchObject({ spins: 1, spinDeliveries: 0 });
    for (const b of [-1, 100_001, NaN]) expect(() => client.spin(b)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    await new Promise((r) => setTimeout(r, 20));
    expect(client.info()).toMatchObject({ polling: false, armed: true }); // back to its mode
  });

  it('delivers waiting bytes synchronously from spin(), never inside write(), and never re-enters onData', async () => {
    const { server, client } = await localPair({ spin: SPIN });
    const got: string[] = [];
    let inner: number | undefined;
    client.onData = (chunk) => {
      got.push(Buffer.from(chunk).toString());
      inner = client.spin(50_000); // from inside onData: refused at once
    };
    server.write(Buffer.from('hello'));
    // The server's own post-write spin is a microtask: it has not run, and the bytes wait in the ring.
    const t0 = performance.now();
    expect(client.spin(100_000)).toBe(1);
    expect(performance.now() - t0).toBeLessThan(50); // returned on delivery, not at the budget
    expect(got).toEqual(['hello']);
    expect(inner).toBe(0);

    // write() returns before onData runs: the caller can record the request first, as with a socket.
    const order: string[] = [];
    server.onData = (chunk) => {
      order.push(`server got ${Buffer.from(chunk).toString()}`);
      server.write(chunk);
    };
    client.onData = (chunk) => order.push(`client got ${Buffer.from(chunk).toString()}`);
    client.write(Buffer.from('ping'));
    order.push('write returned');
    await withTimeout(
      (async () => {
        while (order.length < 3) await new Promise((r) => setTimeout(r, 1));
      })(),
      5000,
      'local echo',
    );
    expect(order).toEqual(['write returned', 'server got ping', 'client got ping']);
  });

  it('the native spin() throws what the callback threw, and the channel goes on', () => {
    const b = binding!;
    const opts = { ringBytes: 1 << 16, slotBytes: 1 << 14, batchMax: 64, spinMicros: 100, mode: 1 as const, dirBase: tmpdir() };
    const creator = new b.ShmChannel(0, null, opts, () => {});
    let throwIt = true;
    const seen: string[] = [];
    const attacher = new b.ShmChannel(1, creator.token(), opts, (kind, arg) => {
      if (kind !== 0) return;
      seen.push(Buffer.from(arg as Uint8Array).toString());
      if (throwIt) throw new Error('boom from the callback');
    });
    try {
      attacher.setReading(true);
      expect(() => attacher.spin(100_001)).toThrow(RangeError);
      expect(attacher.spin(1000)).toBe(0);
      creator.write(Buffer.from('one'));
      expect(() => attacher.spin(100_000)).toThrow('boom from the callback');
      throwIt = false;
      creator.write(Buffer.from('two'));
      expect(attacher.spin(100_000)).toBe(1);
      expect(seen).toEqual(['one', 'two']);
      expect(attacher.info()).toMatchObject({ open: true, spins: 3, spinDeliveries: 2 });
    } finally {
      attacher.destroy();
      creator.destroy();
    }
    expect(attacher.spin(10)).toBe(-1);
  });

  describe.each(['worker', 'adaptive', 'inline'] as ShmMode[])('%s mode with spin, both ends spinning (child process, allowMainThread)', (mode) => {
    it('round-trips in order, the replies caught by the spin', async () => {
      const { conn } = await spinningPeer(mode, 2000, true);
      // Awaited one by one: the next write comes from a promise continuation.
      for (let i = 0; i < 200; i++) {
        const msg = Buffer.alloc(64, i & 0xff);
        msg.writeUInt32LE(i, 0);
        expect((await echo(conn, msg, 5000)).equals(msg)).toBe(true);
      }
      // Chained: the next write comes from inside onData.
      const r = await chain(conn, 3000);
      expect(r).toEqual({ bad: 0, syncInWrite: 0 });
      // Large frames still go through the ring in chunks (and spin flushes queued bytes).
      const big = randomBytes(3 << 20);
      expect(sha(await echo(conn, big, 20_000))).toBe(sha(big));
      const info = conn.info();
      console.log(`spin ${mode}: ${info.spinDeliveries} of ${info.spins} spins delivered`);
      expect(info.spins).toBeGreaterThan(0);
      expect(info.spinDeliveries).toBeGreaterThan(0);
    }, 60_000);
  });

  it('sustained spinning ping-pong still gives the event loop its turns (one budget per turn)', async () => {
    const { conn } = await spinningPeer('adaptive', 1000, true);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    let stop = false;
    let trips = 0;
    const ping = Buffer.alloc(64);
    const done = new Promise<void>((resolve) => {
      let got = 0;
      conn.onData = (chunk) => {
        got += chunk.length;
        if (got < 64) return;
        got -= 64;
        trips++;
        if (stop) return resolve();
        conn.write(ping);
      };
    });
    conn.write(ping);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await withTimeout(done, 5000, 'last pong');
    clearInterval(timer);
    console.log(`spin: ${trips} round trips and ${ticks} timer ticks in 300 ms`);
    expect(trips).toBeGreaterThan(100);
    expect(ticks).toBeGreaterThan(10); // without the per-turn window the chain would never yield
  }, 30_000);

  it('a worker thread spins without allowMainThread, against a child process', async () => {
    const worker = new Worker(new URL('./__fixtures__/spin-worker-boot.mjs', import.meta.url), { workerData: { mode: 'adaptive', budgetMicros: 2000, n: 3000 } });
    try {
      const msgs: PeerMsg[] = [];
      let wake: (() => void) | null = null;
      worker.on('message', (m: PeerMsg) => {
        msgs.push(m);
        wake?.();
      });
      worker.on('error', (e) => {
        msgs.push({ ev: 'error', message: e.message });
        wake?.();
      });
      const next = async (ev: string): Promise<PeerMsg> => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const m = msgs.find((x) => x.ev === ev || x.ev === 'error');
          if (m) return m;
          if (Date.now() > deadline) throw new Error(`worker: no ${ev} (got ${JSON.stringify(msgs)})`);
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 100);
          });
        }
      };
      const t = await next('token');
      expect(t.ev).toBe('token');
      const peer = new Peer(t['token'], 'inline');
      peers.push(peer);
      await peer.next('attached', 15_000);
      const done = await next('done');
      expect(done).toMatchObject({ ev: 'done', n: 3000, bad: 0, syncInWrite: 0 });
      const info = done['info'] as { spins: number; spinDeliveries: number };
      console.log(`spin in a worker thread: ${info.spinDeliveries} of ${info.spins} spins delivered`);
      expect(info.spinDeliveries).toBeGreaterThan(0);
    } finally {
      await worker.terminate();
    }
  }, 60_000);
});
