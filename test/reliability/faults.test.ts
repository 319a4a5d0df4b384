// Issue 9, fault injection across the transport matrix. Servers and clients that are killed or
// stopped run in host processes (fixtures/host.ts), one server (or client) per tier in each, so
// that one kill -9 or SIGSTOP hits every tier at once; every wait is a bounded poll.
//
//   kill -9 the server mid-call and mid-stream   the client gets UNAVAILABLE and reconnects
//   kill -9 the client                           the server frees subscriptions, streams, calls,
//                                                rings and file descriptors
//   SIGSTOP a peer                               keepalive detects it within the configured time
//   a handler never returns                      its deadline still ends the call, on both sides
//   a slow consumer                              bounded memory (pub-sub and streams: see
//                                                docs/reliability.md; RPC responses: here)
import { buildFrame, Client, connect, encode, FastpathError, FrameType, Server, type ClientOptions, type ServerOptions } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, transports, type TransportCase } from '../helpers/matrix.js';
import { rejectsWith, until } from '../helpers/util.js';
import { newStats, registerRel, type RelStats } from './fixtures/rel-service.js';
import { openRawChannel } from './lib/frame-channel.js';
import { Host, killAllHosts } from './lib/host.js';
import { fdList, MiB, shmEntriesOf, shmMaps } from './lib/sys.js';

afterAll(async () => {
  await killAllHosts();
  cleanupSocketDirs();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ErrorInfo {
  code: string;
  reason: string | null;
  message: string;
}
interface ServerState {
  connections: Array<{ path: string; inFlight: number; pendingBytes: number; queuedBytes: number }>;
  subscriptions: number;
  stats: RelStats;
  disconnects: Array<ErrorInfo & { path: string; at: number }>;
}
/** Starts one server per tier of the matrix in `host`; returns each tier's address. */
async function serversIn(host: Host, options: (tc: TransportCase) => ServerOptions = () => ({}), listen: (tc: TransportCase) => string = (tc) => tc.listen()): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const tc of transports) {
    const { address } = await host.ask<{ address: string }>('serverStart', { key: tc.name, listen: listen(tc), options: { ...tc.server, ...options(tc) } });
    out.set(tc.name, address);
  }
  return out;
}

async function statesOf(host: Host): Promise<Map<string, ServerState>> {
  const out = new Map<string, ServerState>();
  for (const tc of transports) out.set(tc.name, await host.ask<ServerState>('serverStats', { key: tc.name }));
  return out;
}

/** Polls the servers in `host` until `ok` holds for every tier (bounded); returns the last states. */
async function pollServers(host: Host, ok: (s: ServerState, tc: TransportCase) => boolean, timeoutMs: number, extra: () => boolean = () => true): Promise<Map<string, ServerState>> {
  const end = Date.now() + timeoutMs;
  let states = await statesOf(host);
  while (!(transports.every((tc) => ok(states.get(tc.name)!, tc)) && extra()) && Date.now() < end) {
    await sleep(50);
    states = await statesOf(host);
  }
  return states;
}

/** A table of what each tier's server holds, for failure messages. */
function table(states: Map<string, ServerState>): string {
  return [...states]
    .map(([name, s]) => `${name}: connections ${s.connections.length}, subscriptions ${s.subscriptions}, streams ${s.stats.activeStreams}/${s.stats.activeClientStreams}, hanging ${s.stats.hanging}`)
    .join('\n');
}

const noReconnect = (tc: TransportCase): ClientOptions => ({ ...tc.client, reconnect: false });

describe('kill -9 of a client process', () => {
  it('the server frees its subscriptions, streams, calls, shm rings and file descriptors, on every tier', async () => {
    const server = await Host.start();
    const addresses = await serversIn(server);
    // Warm-up: descriptors a server makes once, lazily, exist before the baseline.
    for (const tc of transports) {
      const c = await connect(addresses.get(tc.name)!, noReconnect(tc));
      await c.call('Rel.add', { a: 1, b: 1 });
      await c.close();
    }
    const warm = await pollServers(server, (s) => s.connections.length === 0, 5000);
    const fdBefore = fdList(server.pid);
    const mapsBefore = shmMaps(server.pid).length;

    const client = await Host.start();
    for (const tc of transports) {
      const key = tc.name;
      const r = await client.ask<{ path: string }>('clientConnect', { key, url: addresses.get(key)!, options: noReconnect(tc) });
      expect(r.path, key).toBe(tc.path);
      await client.ask('clientBg', { key, name: 'sub1', kind: 'subscribe', subject: 'feed.a' });
      await client.ask('clientBg', { key, name: 'sub2', kind: 'subscribe', subject: 'feed.*' });
      await client.ask('clientBg', { key, name: 'sub3', kind: 'subscribe', subject: 'feed.>' });
      await client.ask('clientBg', { key, name: 'ticks', kind: 'ticks', everyMs: 5 });
      await client.ask('clientBg', { key, name: 'sum', kind: 'sum', everyMs: 5 });
      await client.ask('clientBg', { key, name: 'hang', kind: 'hang' });
    }
    const loaded = (s: ServerState): boolean => s.connections.length === 1 && s.subscriptions === 3 && s.stats.activeStreams === 1 && s.stats.activeClientStreams === 1 && s.stats.hanging === 1;
    const busy = await pollServers(server, loaded, 10_000);
    expect(transports.every((tc) => loaded(busy.get(tc.name)!)), table(busy)).toBe(true);
    const shmTiers = transports.filter((tc) => tc.path === 'shm').length;
    expect(shmMaps(server.pid).length).toBe(mapsBefore + shmTiers);
    expect(fdList(server.pid).length).toBeGreaterThan(fdBefore.length);

    client.kill('SIGKILL');
    await client.exited;
    const freed = (s: ServerState): boolean => s.connections.length === 0 && s.subscriptions === 0 && s.stats.activeStreams === 0 && s.stats.activeClientStreams === 0 && s.stats.hanging === 0;
    const after = await pollServers(server, freed, 10_000, () => fdList(server.pid).length <= fdBefore.length && shmMaps(server.pid).length === mapsBefore);
    expect(transports.every((tc) => freed(after.get(tc.name)!)), table(after)).toBe(true);
    const before = new Set(fdBefore);
    expect(fdList(server.pid).filter((l) => !before.has(l)), 'descriptors the server still holds').toEqual([]);
    expect(shmMaps(server.pid).length, 'shm segments still mapped').toBe(mapsBefore);
    expect(shmEntriesOf(server.pid), '/dev/shm entries left').toEqual([]);
    for (const tc of transports) {
      const d = after.get(tc.name)!.disconnects.slice(warm.get(tc.name)!.disconnects.length);
      expect(d.map((x) => [x.path, x.code]), tc.name).toEqual([[tc.path, 'UNAVAILABLE']]);
    }
    expect(server.alive).toBe(true);
  });
});

describe('SIGSTOP: a hung peer is detected by keepalive within the configured time', () => {
  const KEEPALIVE = { keepaliveMs: 150, keepaliveTimeoutMs: 300 };
  // Detection takes at most the interval (until a ping goes out) plus the timeout, each rounded up
  // to the next keepalive tick (min(interval, timeout)). The slack covers a loaded 2-core machine;
  // it is a bound on correctness (the peer is dropped at all), not a speed figure. That a peer is
  // not dropped early is shown by the idle period before the stop: live peers that answer pings
  // stay connected for twice the interval.
  const TICK = Math.min(KEEPALIVE.keepaliveMs, KEEPALIVE.keepaliveTimeoutMs);
  const LATEST = KEEPALIVE.keepaliveMs + KEEPALIVE.keepaliveTimeoutMs + 2 * TICK + 1500;

  it('a stopped client process: each server drops it with keepalive-timeout, on every tier', async () => {
    const server = await Host.start();
    const addresses = await serversIn(server, () => KEEPALIVE);
    const client = await Host.start();
    for (const tc of transports) {
      const r = await client.ask<{ path: string }>('clientConnect', { key: tc.name, url: addresses.get(tc.name)!, options: noReconnect(tc) });
      expect(r.path, tc.name).toBe(tc.path);
      await client.ask('clientCall', { key: tc.name, method: 'Rel.add', req: { a: 1, b: 1 } });
    }
    await sleep(2 * KEEPALIVE.keepaliveMs); // idle connections that answer pings stay up
    expect([...(await statesOf(server)).values()].every((s) => s.connections.length === 1 && s.disconnects.length === 0)).toBe(true);
    const t0 = Date.now();
    client.kill('SIGSTOP');
    try {
      const states = await pollServers(server, (s) => s.disconnects.length > 0, LATEST + 3000);
      for (const tc of transports) {
        const d = states.get(tc.name)!.disconnects;
        expect(d.length, `${tc.name}: dropped`).toBe(1);
        expect(d[0]!.reason, tc.name).toBe('keepalive-timeout');
        const after = d[0]!.at - t0;
        expect(after, `${tc.name}: dropped ${after} ms after SIGSTOP`).toBeLessThanOrEqual(LATEST);
      }
    } finally {
      client.kill('SIGKILL');
      client.kill('SIGCONT');
    }
  });

  it('a stopped server process: each client closes with keepalive-timeout and fails its calls with UNAVAILABLE, on every tier', async () => {
    const server = await Host.start();
    const addresses = await serversIn(server);
    const clients: Array<{ tc: TransportCase; c: Client; closed: Promise<{ err: FastpathError; at: number }>; pending: Promise<FastpathError> }> = [];
    try {
      for (const tc of transports) {
        const c = await connect(addresses.get(tc.name)!, { ...noReconnect(tc), ...KEEPALIVE });
        expect(c.path, tc.name).toBe(tc.path);
        await c.call('Rel.add', { a: 1, b: 1 });
        const closed = new Promise<{ err: FastpathError; at: number }>((r) => c.once('close', (err) => r({ err, at: Date.now() })));
        clients.push({ tc, c, closed, pending: rejectsWith(c.call('Rel.hang', {})) });
      }
      await sleep(2 * KEEPALIVE.keepaliveMs);
      expect(clients.every((x) => !x.c.closed)).toBe(true);
      const t0 = Date.now();
      server.kill('SIGSTOP');
      for (const { tc, closed, pending } of clients) {
        const r = await Promise.race([closed, sleep(LATEST + 3000).then(() => undefined)]);
        expect(r, `${tc.name}: the client closed`).toBeDefined();
        expect(r!.err.details?.reason, tc.name).toBe('keepalive-timeout');
        expect(r!.at - t0, `${tc.name}: closed ${r!.at - t0} ms after SIGSTOP`).toBeLessThanOrEqual(LATEST);
        expect((await pending).code, tc.name).toBe('UNAVAILABLE');
      }
    } finally {
      server.kill('SIGKILL');
      server.kill('SIGCONT');
      for (const { c } of clients) await c.close();
    }
  });
});

describe.each(transports)('a handler that never returns, over $name', (tc) => {
  it('its deadline ends the call on both sides: unary, server stream and client stream', async () => {
    const stats = newStats();
    const server = new Server({ listen: tc.listen(), ...tc.server });
    registerRel(server, stats);
    await server.start();
    const client = await connect(server.address, noReconnect(tc));
    try {
      expect(client.path).toBe(tc.path);
      const BUDGET = 100;
      // Rel.hang never settles and ignores its signal.
      let t0 = performance.now();
      const err = await rejectsWith(client.call('Rel.hang', {}, { deadline: BUDGET }));
      expect(err.code).toBe('DEADLINE_EXCEEDED');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(BUDGET - 5);
      // The server ended it too: its signal aborted, the call is no longer in flight.
      await until(() => stats.hanging === 0 && server.connections()[0]?.inFlight === 0, 5000, 'the server to end the call');

      // A server stream that never yields.
      t0 = performance.now();
      const streamErr = await rejectsWith(
        (async () => {
          for await (const _ of client.serverStream('Rel.silent', {}, { deadline: BUDGET })) throw new Error('it yielded');
        })(),
      );
      expect(streamErr.code).toBe('DEADLINE_EXCEEDED');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(BUDGET - 5);
      await until(() => stats.activeStreams === 0 && server.connections()[0]?.inFlight === 0, 5000, 'the server to stop the generator');

      // A client stream whose source never ends: the handler waits for it forever.
      async function* forever(): AsyncGenerator<number> {
        for (;;) {
          yield 1;
          await sleep(10);
        }
      }
      const sumErr = await rejectsWith(client.clientStream('Rel.sum', forever(), { deadline: BUDGET }));
      expect(sumErr.code).toBe('DEADLINE_EXCEEDED');
      await until(() => stats.activeClientStreams === 0 && server.connections()[0]?.inFlight === 0, 5000, 'the server to end the client stream');

      // And the connection is as good as before.
      expect(await client.call('Rel.add', { a: 2, b: 2 })).toEqual({ sum: 4 });
    } finally {
      await client.close();
      await server.close({ graceMs: 50 });
    }
  });
});

// A client that pipelines calls and never reads the responses: without a bound the server would
// hold every response (20 000 calls answered with 4 KiB each left 67 MB pending on one connection
// before limits.maxPendingBytes). With the limit, new calls are refused once `limit` bytes wait,
// and a peer that keeps sending at twice the limit loses its connection: the server holds at most
// about twice the limit, on every tier (test/limits.test.ts covers the plain tiers in detail).
describe('a slow consumer of RPC responses', () => {
  it('costs bounded server memory on every tier (limits.maxPendingBytes)', async () => {
    const LIMIT = 2 * MiB;
    const CALLS = 4000;
    const REPLY = 4096; // 16 MiB of responses asked for per tier, eight times the limit
    const server = await Host.start(['--expose-gc']);
    const addresses = await serversIn(server, () => ({ limits: { maxPendingBytes: LIMIT } }));
    try {
      for (const tc of transports) {
        const rss0 = (await server.ask<{ rss: number }>('mem', { gc: true })).rss;
        const { ch, others } = await openRawChannel(tc, addresses.get(tc.name)!, true);
        try {
          ch.pause(); // reads nothing from here on
          let maxHeld = 0;
          const held = async (): Promise<ServerState> => {
            const s = await server.ask<ServerState>('serverStats', { key: tc.name });
            maxHeld = Math.max(maxHeld, ...s.connections.map((c) => c.pendingBytes + c.queuedBytes));
            return s;
          };
          for (let i = 1; i <= CALLS && !ch.closed; i++) {
            ch.write(buildFrame(FrameType.REQUEST, 0, i, encode(['Rel.blob', null, null, { bytes: REPLY }])));
            if (i % 500 === 0) {
              await sleep(5);
              await held();
            }
          }
          await sleep(300);
          const s = await held();
          const rss = (await server.ask<{ rss: number }>('mem', { gc: true })).rss;
          if (process.env.FASTPATH_TEST_VERBOSE === '1') console.log(`${tc.name}: held at most ${maxHeld} bytes, answered ${s.stats.blobs} of ${CALLS}, rss +${((rss - rss0) / MiB).toFixed(1)} MiB`);
          // At most twice the limit (the closing threshold) plus what was in flight when it was crossed.
          expect(maxHeld, `${tc.name}: bytes the server held for the connection`).toBeLessThanOrEqual(2 * LIMIT + 256 * REPLY);
          expect(rss - rss0, `${tc.name}: server RSS growth`).toBeLessThan(48 * MiB);
          // What bounded it is the limit: calls were refused, or the connection was closed for it.
          expect(s.stats.blobs, `${tc.name}: calls answered`).toBeLessThan(CALLS);
        } finally {
          ch.destroy();
          for (const o of others) o.destroy();
        }
        await server.ask('serverClose', { key: tc.name });
      }
      expect(server.alive).toBe(true);
    } finally {
      server.kill();
    }
  });
});

describe('kill -9 of the server process mid-call and mid-stream', () => {
  it('every client fails its in-flight calls and streams with UNAVAILABLE, reconnects to the restarted server, and carries on, on every tier', async () => {
    const first = await Host.start();
    const addresses = await serversIn(first);
    const clients: Array<{ tc: TransportCase; c: Client; events: string[]; hang: Promise<FastpathError>; stream: Promise<FastpathError>; idempotent: Promise<unknown> }> = [];
    try {
      for (const tc of transports) {
        const c = await connect(addresses.get(tc.name)!, { ...tc.client, reconnectBackoff: { initialDelayMs: 50, maxDelayMs: 250, multiplier: 2, jitter: 0.1 } });
        expect(c.path, tc.name).toBe(tc.path);
        const events: string[] = [];
        for (const ev of ['disconnect', 'reconnecting', 'reconnect', 'retry', 'close'] as const) (c as unknown as { on(e: string, f: () => void): void }).on(ev, () => events.push(ev));
        const stream = rejectsWith(
          (async () => {
            for await (const _ of c.serverStream('Rel.ticks', { everyMs: 5 })) {
              // reading until the server dies
            }
          })(),
        );
        clients.push({
          tc,
          c,
          events,
          hang: rejectsWith(c.call('Rel.hang', {})),
          stream,
          // An idempotent call in flight is sent again on the next connection, within its deadline.
          idempotent: c.call('Rel.delay', { ms: 1500 }, { deadline: 20_000, idempotent: true } as never),
        });
      }
      const busy = await pollServers(first, (s) => s.stats.hanging === 1 && s.stats.activeStreams === 1, 10_000);
      expect(transports.every((tc) => busy.get(tc.name)!.stats.hanging === 1), table(busy)).toBe(true);

      first.kill('SIGKILL');
      for (const x of clients) {
        const h = await x.hang;
        expect([h.code, h.details?.reason], `${x.tc.name}: the in-flight call`).toEqual(['UNAVAILABLE', 'connection-lost']);
        expect((await x.stream).code, `${x.tc.name}: the stream`).toBe('UNAVAILABLE');
        await until(() => x.events.includes('disconnect'), 5000, `${x.tc.name}: disconnect event`);
        expect((x.c as unknown as { state: string }).state).toBe('reconnecting');
      }
      // A call made while the server is down waits in the reconnect queue.
      const queued = clients.map((x) => x.c.call('Rel.add', { a: 20, b: 22 }, { deadline: 20_000 }));

      // The server comes back on the same addresses (same port, same socket path).
      const second = await Host.start();
      await serversIn(second, () => ({}), (tc) => addresses.get(tc.name)!);
      for (const x of clients) {
        await until(() => x.events.includes('reconnect'), 15_000, `${x.tc.name}: reconnect event`);
        expect(x.c.path, `${x.tc.name}: renegotiated tier`).toBe(x.tc.path);
        expect(x.events).not.toContain('close');
      }
      expect(await Promise.all(queued)).toEqual(clients.map(() => ({ sum: 42 })));
      for (const x of clients) {
        expect(await x.idempotent, `${x.tc.name}: the idempotent call`).toEqual({ slept: 1500 });
        expect(x.events, x.tc.name).toContain('retry');
        expect(await x.c.call('Rel.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
      }
    } finally {
      for (const x of clients) await x.c.close();
    }
  });
});
