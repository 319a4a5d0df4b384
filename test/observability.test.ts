// metrics() on both ends and the node:diagnostics_channel events, over every transport tier.
import diagnosticsChannel from 'node:diagnostics_channel';
import { connect, Server, type CallEndMessage, type Client } from '@fastpath/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { calcHandlers, type Calc } from './fixtures/calc.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { spawnTs, type Spawned } from './helpers/spawn.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

/** Collects every message of the fastpath channels while `fn` runs. */
function listen() {
  const names = ['connect', 'upgrade', 'fallback', 'disconnect', 'call:start', 'call:end', 'slow-consumer'] as const;
  const got: Record<(typeof names)[number], Record<string, unknown>[]> = Object.fromEntries(names.map((n) => [n, []])) as never;
  const subs = names.map((n) => {
    const fn = (m: unknown): void => void got[n].push(m as Record<string, unknown>);
    diagnosticsChannel.subscribe(`fastpath:${n}`, fn);
    return () => diagnosticsChannel.unsubscribe(`fastpath:${n}`, fn);
  });
  return { got, stop: () => subs.forEach((u) => u()) };
}

describe.each(transports)('observability over $name', (tc) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(): Promise<{ server: Server; client: Client }> {
    const server = new Server({ ...tc.server, listen: tc.listen() });
    server.addService<Calc>('Calc', calcHandlers());
    await server.start();
    cleanups.push(() => server.close({ graceMs: 10 }));
    const client = await connect(server.address, { ...tc.client, reconnect: false });
    cleanups.push(() => client.close());
    return { server, client };
  }

  it('metrics(): tier, calls by outcome and code, latency, bytes, on both ends', async () => {
    const { server, client } = await start();
    const calc = client.service<Calc>('Calc');
    for (let i = 0; i < 50; i++) await calc.add({ a: i, b: 1 });
    await rejectsWith(client.call('Calc.nope', {}));
    await rejectsWith(calc.slow({ ms: 5000 }, { deadline: 20 }));
    const c = client.metrics();
    expect(c.state).toBe('open');
    expect(c.connection.path).toBe(tc.path);
    expect(c.connection.calls).toEqual({ started: 52, ok: 50, failed: 2, errors: { UNIMPLEMENTED: 1, DEADLINE_EXCEEDED: 1 } });
    expect(c.connection.latencyUs!.count).toBe(52);
    expect(c.connection.latencyUs!.p50).toBeGreaterThan(0);
    expect(c.connection.latencyUs!.max).toBeGreaterThanOrEqual(c.connection.latencyUs!.p99);
    // 52 requests of at least a 12-byte header each went out; as many answers came back.
    expect(c.connection.bytes.out).toBeGreaterThan(52 * 12);
    expect(c.connection.bytes.in).toBeGreaterThan(52 * 12);

    await until(() => server.metrics().connections[0]?.calls.failed === 2, 3000, 'the server counting the deadline');
    // Once the last frames have landed, what one side sent is what the other received.
    await until(() => {
      const [sc, cc] = [server.metrics().connections[0]!.bytes, client.metrics().connection.bytes];
      return sc.in === cc.out && sc.out === cc.in;
    }, 3000, 'the byte counts to agree');
    const s = server.metrics();
    expect(s.connections).toHaveLength(1);
    const sc = s.connections[0]!;
    expect(sc.path).toBe(tc.path);
    expect(sc.calls.ok).toBe(50);
    expect(sc.calls.errors).toEqual({ UNIMPLEMENTED: 1, DEADLINE_EXCEEDED: 1 });
    expect(sc.latencyUs!.count).toBe(52);
    expect(s.totals.calls.started).toBe(52);
    expect(s.totals.connections).toBe(1);

    await client.close();
    await until(() => server.metrics().connections.length === 0, 3000, 'the disconnect');
    // Totals keep closed connections.
    expect(server.metrics().totals.calls.ok).toBe(50);
    expect(server.metrics().totals.bytes.in).toBe(sc.bytes.in);
  });

  it('diagnostics_channel: connect, path, call start/end on both sides, disconnect', async () => {
    const d = listen();
    try {
      const { client } = await start();
      await client.call('Calc.add', { a: 1, b: 2 });
      await rejectsWith(client.call('Calc.nope', {}));
      await client.close();
      await until(() => d.got.disconnect.length >= 2, 3000, 'both disconnects');
      expect(d.got.connect.map((m) => m.side).sort()).toEqual(['client', 'server']);
      const ends = d.got['call:end'] as unknown as CallEndMessage[];
      expect(ends.filter((m) => m.side === 'client').map((m) => [m.method, m.code])).toEqual([
        ['Calc.add', 'OK'],
        ['Calc.nope', 'UNIMPLEMENTED'],
      ]);
      expect(ends.filter((m) => m.side === 'server').map((m) => [m.method, m.code])).toEqual([
        ['Calc.add', 'OK'],
        ['Calc.nope', 'UNIMPLEMENTED'],
      ]);
      expect(d.got['call:start'].filter((m) => m.side === 'client')).toHaveLength(2);
      expect(typeof ends[0]!.durationUs).toBe('number');
      // The path decision: an upgrade when the connection moved, a fallback (with its reason) when it stayed.
      const upgraded = tc.path === 'shm' || tc.name.startsWith('uds');
      const seen = upgraded ? d.got.upgrade : d.got.fallback;
      expect(seen.map((m) => m.side).sort()).toEqual(['client', 'server']);
      expect(seen.every((m) => m.path === tc.path)).toBe(true);
      if (!upgraded) expect(seen.every((m) => typeof m.reason === 'string' && (m.reason as string).length > 0)).toBe(true);
    } finally {
      d.stop();
    }
  });
});

describe('observability: slow consumers and metrics off', () => {
  it('publishes slow-consumer on the channel (server queue overflow)', async () => {
    const d = listen();
    const server = new Server({ listen: 'tcp://127.0.0.1:0', fastPath: 'off', highWaterBytes: 1, subscriptionQueue: { maxMessages: 5 } });
    await server.start();
    const sub = await connect(server.address, { fastPath: 'off', reconnect: false });
    try {
      const s = sub.subscribe('t.x', { callback: () => {} });
      await s.ready;
      const big = Buffer.alloc(64 * 1024);
      for (let i = 0; i < 200; i++) server.publish('t.x', big);
      await until(() => d.got['slow-consumer'].length > 0, 5000, 'slow-consumer');
      expect(d.got['slow-consumer'][0]).toMatchObject({ side: 'server', subject: 't.x' });
    } finally {
      d.stop();
      await sub.close();
      await server.close({ graceMs: 10 });
    }
  });

  it('metrics: false keeps the counters and drops the histograms', async () => {
    const server = new Server({ listen: 'tcp://127.0.0.1:0', fastPath: 'off', metrics: false });
    server.addService<Calc>('Calc', calcHandlers());
    await server.start();
    const client = await connect(server.address, { fastPath: 'off', metrics: false, reconnect: false });
    try {
      await client.call('Calc.add', { a: 1, b: 1 });
      expect(client.metrics().connection.calls.ok).toBe(1);
      expect(client.metrics().connection.latencyUs).toBeUndefined();
      await until(() => server.metrics().connections[0]?.calls.ok === 1, 3000, 'server count');
      expect(server.metrics().connections[0]!.latencyUs).toBeUndefined();
    } finally {
      await client.close();
      await server.close({ graceMs: 10 });
    }
  });

  it('counts reconnects and retries in client.metrics()', async () => {
    const first = spawnTs('test/fixtures/ticker-server.ts', ['tcp://127.0.0.1:0']);
    const { address } = (await first.ready) as { address: string };
    const client = await connect(address, { fastPath: 'off', reconnectBackoff: { initialDelayMs: 10, maxDelayMs: 50 } });
    let second: Spawned | undefined;
    try {
      const retried = client.call('Calc.slow', { ms: 200 }, { idempotent: true, deadline: 10_000 });
      expect(await client.call('Calc.add', { a: 1, b: 1 })).toEqual({ sum: 2 }); // the slow call has arrived
      first.kill('SIGKILL');
      await until(() => client.state === 'reconnecting', 5000, 'reconnecting');
      second = spawnTs('test/fixtures/ticker-server.ts', [address]);
      await second.ready;
      expect(await retried).toEqual({ done: true });
      const m = client.metrics();
      expect(m.reconnects).toBe(1);
      expect(m.retries).toBe(1);
      // The new connection's counters start afresh: the retried call is its first.
      expect(m.connection.calls).toMatchObject({ started: 1, ok: 1 });
    } finally {
      await client.close();
      first.kill('SIGKILL');
      second?.kill('SIGKILL');
    }
  });
});
