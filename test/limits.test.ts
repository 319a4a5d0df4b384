// The limits that protect a server (issue 9 item 6), each hit for real over every transport in the
// matrix: connections, concurrent calls, streams and subscriptions per connection, and pending
// (unsent) bytes for a peer that does not read (a raw peer on the plain transports). Each is
// answered RESOURCE_EXHAUSTED with details.reason, and the server keeps serving a well-behaved
// client afterwards.
import { buildFrame, connect, decode, encode, FrameType, Server, Status, type Client, type FastpathError } from '@fastpath/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { RawPeer, type RawFrame } from './helpers/raw-peer.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

const LIMITS = { maxConnections: 3, maxConcurrentCalls: 3, maxStreams: 2, maxSubscriptions: 2 };

/** Calls and streams held open until the test releases them. */
class Gates {
  private waiting: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  get count(): number {
    return this.waiting.length;
  }
  releaseAll(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

describe.each(transports)('limits over $name', (tc) => {
  let server: Server;
  const gates = new Gates();
  const disconnects: FastpathError[] = [];

  beforeAll(async () => {
    server = new Server({ listen: tc.listen(), ...tc.server, limits: LIMITS });
    server.handle('Calc.add', ({ a, b }: { a: number; b: number }) => a + b);
    server.handle('Hold.call', () => gates.wait().then(() => 'released'));
    server.handle(
      'Hold.stream',
      async function* () {
        yield 'first';
        await gates.wait();
        yield 'last';
      },
      { kind: 'server-stream' },
    );
    server.on('disconnect', (_info, reason) => disconnects.push(reason));
    await server.start();
    return () => server.close({ graceMs: 100 });
  });

  const open = (): Promise<Client> => connect(server.address, { ...tc.client, reconnect: false });

  it(`refuses a connection over maxConnections (${LIMITS.maxConnections}) in the handshake, and admits one again once a slot frees`, async () => {
    await until(() => server.connections().length === 0, 3000, 'no connections left from earlier tests');
    const clients: Client[] = [];
    try {
      for (let i = 0; i < LIMITS.maxConnections; i++) clients.push(await open());
      // Upgraded channels do not count: every client ended on its tier.
      for (const c of clients) expect(c.path).toBe(tc.path);
      const err = await rejectsWith(connect(server.address, { ...tc.client, reconnect: false, connectRetry: { attempts: 3, initialDelayMs: 1 } }));
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      expect(err.remote).toBe(true);
      expect(err.details).toMatchObject({ reason: 'max-connections', limit: LIMITS.maxConnections });
      expect(err.message).toMatch(/connection limit \(3\)/);
      // Those already in keep working.
      for (const c of clients) expect(await c.call('Calc.add', { a: 1, b: 2 })).toBe(3);
      await clients.pop()!.close();
      await until(() => server.connections().length === LIMITS.maxConnections - 1, 3000, 'the server to see the close');
      const again = await open();
      clients.push(again);
      expect(await again.call('Calc.add', { a: 2, b: 2 })).toBe(4);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it(`fails a call over maxConcurrentCalls (${LIMITS.maxConcurrentCalls}) alone; the connection stays`, async () => {
    const c = await open();
    const other = await open();
    try {
      const held = Array.from({ length: LIMITS.maxConcurrentCalls }, () => c.call('Hold.call'));
      await until(() => gates.count === LIMITS.maxConcurrentCalls, 3000, 'calls held');
      const err = await rejectsWith(c.call('Calc.add', { a: 1, b: 1 }));
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      expect(err.details).toMatchObject({ reason: 'max-concurrent-calls', limit: LIMITS.maxConcurrentCalls });
      // The limit is per connection: another client is served meanwhile.
      expect(await other.call('Calc.add', { a: 1, b: 1 })).toBe(2);
      gates.releaseAll();
      expect(await Promise.all(held)).toEqual(Array(LIMITS.maxConcurrentCalls).fill('released'));
      expect(await c.call('Calc.add', { a: 1, b: 1 })).toBe(2);
    } finally {
      gates.releaseAll();
      await c.close();
      await other.close();
    }
  });

  it(`fails a stream over maxStreams (${LIMITS.maxStreams}) alone; unary calls and the open streams go on`, async () => {
    const c = await open();
    try {
      const open1 = c.serverStream('Hold.stream', {})[Symbol.asyncIterator]();
      const open2 = c.serverStream('Hold.stream', {})[Symbol.asyncIterator]();
      expect((await open1.next()).value).toBe('first');
      expect((await open2.next()).value).toBe('first');
      const third = c.serverStream('Hold.stream', {})[Symbol.asyncIterator]();
      const err = await rejectsWith(third.next());
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      expect(err.details).toMatchObject({ reason: 'max-streams', limit: LIMITS.maxStreams });
      expect(await c.call('Calc.add', { a: 5, b: 5 })).toBe(10);
      await until(() => gates.count === 2, 3000, 'streams waiting');
      gates.releaseAll();
      expect((await open1.next()).value).toBe('last');
      expect((await open2.next()).value).toBe('last');
      expect((await open1.next()).done).toBe(true);
      expect((await open2.next()).done).toBe(true);
      // A slot is free again.
      const fourth = c.serverStream('Hold.stream', {})[Symbol.asyncIterator]();
      expect((await fourth.next()).value).toBe('first');
      await until(() => gates.count === 1, 3000, 'stream waiting');
      gates.releaseAll();
      expect((await fourth.next()).value).toBe('last');
    } finally {
      gates.releaseAll();
      await c.close();
    }
  });

  it(`refuses a subscription over maxSubscriptions (${LIMITS.maxSubscriptions}) alone; the others keep receiving`, async () => {
    const c = await open();
    try {
      const a = c.subscribe<number>('limits.a');
      const b = c.subscribe<number>('limits.b');
      await Promise.all([a.ready, b.ready]);
      const third = c.subscribe<number>('limits.c');
      const err = await rejectsWith(third.ready);
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      expect(err.details).toMatchObject({ reason: 'max-subscriptions', limit: LIMITS.maxSubscriptions, subject: 'limits.c' });
      await c.publish('limits.a', 1, { ack: true });
      const ia = a[Symbol.asyncIterator]();
      expect((await ia.next()).value).toMatchObject({ data: 1 });
      // Leaving a subscription frees its slot.
      const before = server.subscriptionCount;
      await b[Symbol.asyncIterator]().return!();
      await until(() => server.subscriptionCount === before - 1, 3000, 'the unsubscribe');
      const d = c.subscribe<number>('limits.d');
      await d.ready;
      await c.publish('limits.d', 4, { ack: true });
      expect((await d[Symbol.asyncIterator]().next()).value).toMatchObject({ data: 4 });
      await ia.return!();
    } finally {
      await c.close();
    }
  });
});

/** The plain transports (no upgrade, no TLS), where a raw peer can be the client. */
const plain = transports.filter((t) => t.client?.fastPath === 'off' && t.client.tls === undefined);

describe.each(plain)('maxPendingBytes over $name (a raw peer that stops reading)', (tc) => {
  const LIMIT = 1024 * 1024;
  const PART = 256 * 1024;
  let server: Server;
  const disconnects: FastpathError[] = [];
  let started = 0;

  beforeAll(async () => {
    server = new Server({ listen: tc.listen(), limits: { maxPendingBytes: LIMIT } });
    server.handle('Big.get', async (n: number) => {
      started++;
      await new Promise((r) => setTimeout(r, 5));
      return Buffer.alloc(n, 1);
    });
    server.handle('Calc.add', ({ a, b }: { a: number; b: number }) => a + b);
    server.on('disconnect', (_info, reason) => disconnects.push(reason));
    await server.start();
    return () => server.close({ graceMs: 100 });
  });

  const request = (id: number, n: number): Buffer => buildFrame(FrameType.REQUEST, 0, id, encode(['Big.get', null, null, n]));
  const pending = (): number => Math.max(0, ...server.connections().map((c) => c.pendingBytes));

  async function stalledPeer(): Promise<RawPeer> {
    const raw = await RawPeer.connect(server.address);
    raw.hello();
    await raw.next(FrameType.WELCOME);
    raw.socket.pause(); // from here on the peer reads nothing: the kernel buffers fill, then the server's queue
    return raw;
  }

  /** Sends one request at a time and waits for its answer to be written, until `stop()` (bounded). */
  async function fillUntil(raw: RawPeer, firstId: number, stop: () => boolean): Promise<number> {
    let id = firstId;
    for (const end = Date.now() + 10_000; !stop(); id++) {
      if (id - firstId > 200 || Date.now() > end) throw new Error(`pending bytes stayed at ${pending()}`);
      const target = started + 1;
      raw.write(request(id, PART));
      await until(() => started === target && server.connections().every((c) => c.inFlight === 0), 3000, 'the call to finish');
    }
    return id;
  }

  it('refuses new calls and acknowledged publishes at the limit, then serves the same peer again once it reads', async () => {
    const raw = await stalledPeer();
    const good = await connect(server.address, { fastPath: 'off', reconnect: false });
    try {
      const next = await fillUntil(raw, 1, () => pending() >= LIMIT);
      expect(pending()).toBeLessThan(2 * LIMIT);
      raw.write(request(next, 10));
      raw.write(buildFrame(FrameType.SUBSCRIBE, 0, next + 1, encode({ subject: 'x.y' })));
      raw.write(buildFrame(FrameType.PUBLISH, 0, next + 2, encode(['x.y', 1])));
      // Someone else is served while this peer is over its limit.
      expect(await good.call('Calc.add', { a: 1, b: 2 })).toBe(3);
      raw.socket.resume();
      const refusals: RawFrame[] = [];
      for (let i = 0; i < 3; i++) refusals.push(await raw.next(FrameType.ERROR));
      expect(refusals.map((f) => f.id)).toEqual([next, next + 1, next + 2]);
      for (const f of refusals) {
        const [status, message, details] = decode(f.body) as [number, string, Record<string, unknown>];
        expect(status).toBe(Status.RESOURCE_EXHAUSTED);
        expect(message).toMatch(/wait to be sent to this client \(limit 1048576\)/);
        expect(details).toMatchObject({ reason: 'max-pending-bytes', limit: LIMIT });
      }
      // Every call accepted before the limit was answered in full.
      const responses = (): RawFrame[] => raw.frames.filter((f) => f.type === FrameType.RESPONSE);
      await until(() => responses().length === next - 1, 5000, 'all responses');
      expect(responses().map((f) => f.id)).toEqual(Array.from({ length: next - 1 }, (_, i) => i + 1));
      expect(responses().every((f) => f.body.length > PART)).toBe(true);
      raw.frames.length = 0;
      // Drained: the same connection is served again.
      await until(() => pending() === 0, 5000, 'the queue to drain');
      raw.write(request(next + 3, 10));
      const back = await raw.next(FrameType.RESPONSE);
      expect(back.id).toBe(next + 3);
      expect(raw.closed).toBe(false);
    } finally {
      raw.destroy();
      await good.close();
    }
  });

  it('closes a peer that keeps sending while twice the limit waits unsent (GOAWAY RESOURCE_EXHAUSTED); others are unaffected', async () => {
    const raw = await stalledPeer();
    const good = await connect(server.address, { fastPath: 'off', reconnect: false });
    try {
      // Fill the kernel buffers first, then send a batch the server accepts at once (it is under
      // the limit when they arrive); their answers take it past twice the limit.
      const next = await fillUntil(raw, 1, () => pending() > 0);
      const batch = Array.from({ length: 12 }, (_, i) => request(next + i, PART));
      raw.write(Buffer.concat(batch));
      await until(() => pending() >= 2 * LIMIT, 5000, 'twice the limit pending');
      const before = disconnects.length;
      raw.write(buildFrame(FrameType.PING, 0, 1));
      await until(() => disconnects.length > before, 3000, 'the server to drop the peer');
      expect(disconnects.at(-1)).toMatchObject({ code: 'RESOURCE_EXHAUSTED', details: { reason: 'max-pending-bytes', limit: LIMIT } });
      raw.socket.resume();
      const bye = await raw.next(FrameType.GOAWAY, 5000);
      const [status, message, , details] = decode(bye.body) as [number, string, number, Record<string, unknown>];
      expect(status).toBe(Status.RESOURCE_EXHAUSTED);
      expect(message).toMatch(/does not read/);
      expect(details).toMatchObject({ reason: 'max-pending-bytes', limit: LIMIT });
      await raw.waitClosed();
      expect(await good.call('Calc.add', { a: 2, b: 3 })).toBe(5);
    } finally {
      raw.destroy();
      await good.close();
    }
  });
});
