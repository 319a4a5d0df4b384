// Reconnection: a client outlives its connections. The server is killed and restarted, or moves
// (the resolver answers a new address); the client follows with backoff, renegotiates the tier,
// restores its subscriptions, retries what is safe to retry and holds new calls meanwhile.
import { connect, FastpathError, Server, type Client, type ClientOptions, type PathInfo } from '@fastpath/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { calcHandlers, type Calc } from './fixtures/calc.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { spawnTs, type Spawned } from './helpers/spawn.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

const fastBackoff: ClientOptions = { reconnectBackoff: { initialDelayMs: 20, maxDelayMs: 200, jitter: 0.2 } };

interface Tick {
  pid: number;
  n: number;
}

/** Everything a client reports, in order. */
function record(client: Client) {
  const events: string[] = [];
  const paths: PathInfo[] = [];
  const retries: string[] = [];
  client.on('disconnect', (r) => events.push(`disconnect:${r.code}`));
  client.on('reconnecting', (i) => events.push(`reconnecting:${i.attempt}`));
  client.on('reconnect', (i) => events.push(`reconnect:${i.path.path}`));
  client.on('close', (r) => events.push(`close:${r.code}`));
  client.on('path', (p) => paths.push(p));
  client.on('retry', (i) => retries.push(i.method));
  return { events, paths, retries };
}

describe.each(transports)('reconnect over $name', (tc) => {
  const children: Spawned[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  function startServer(listen: string): Spawned {
    const child = spawnTs('test/fixtures/ticker-server.ts', [listen, JSON.stringify(tc.server ?? {})]);
    children.push(child);
    return child;
  }

  it('the server is killed and restarted at the same address: the client reconnects, restores its subscriptions, retries idempotent calls', async () => {
    const first = startServer(tc.listen());
    const { address, pid: pidA } = (await first.ready) as { address: string; pid: number };
    const client = await connect(address, { ...tc.client, ...fastBackoff });
    clients.push(client);
    const log = record(client);
    const ticks: Tick[] = [];
    const jobs: Tick[] = [];
    client.subscribe<Tick>('ticks.*', { callback: (t) => ticks.push(t) });
    client.subscribe<Tick>('jobs.work', { queue: 'workers', callback: (t) => jobs.push(t) });
    await until(() => ticks.some((t) => t.pid === pidA) && jobs.some((t) => t.pid === pidA), 5000, 'ticks from the first server');

    const calc = client.service<Calc>('Calc');
    const lost = rejectsWith(calc.slow({ ms: 1500, tag: 'lost' }));
    const retried = client.call('Calc.slow', { ms: 300, tag: 'again' }, { idempotent: true, deadline: 20_000 });
    expect(await calc.add({ a: 1, b: 1 })).toEqual({ sum: 2 }); // both slow calls have arrived
    first.kill('SIGKILL');

    const err = await lost;
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.details?.reason).toBe('connection-lost');
    await until(() => client.state === 'reconnecting', 5000, 'reconnecting');
    // A new call made while nobody listens waits for the next connection.
    const queued = calc.add({ a: 20, b: 22 });
    await until(() => log.events.filter((e) => e.startsWith('reconnecting')).length >= 2, 5000, 'a second attempt');

    const second = startServer(address);
    const { pid: pidB } = (await second.ready) as { pid: number };
    expect(await queued).toEqual({ sum: 42 });
    expect(await retried).toEqual({ done: true });
    expect(log.retries).toEqual(['Calc.slow']);
    expect(client.state).toBe('open');
    expect(client.path).toBe(tc.path);
    expect(((await client.call('Ticker.whoami')) as { pid: number }).pid).toBe(pidB);
    await until(() => ticks.some((t) => t.pid === pidB) && jobs.some((t) => t.pid === pidB), 5000, 'ticks from the restarted server');

    expect(log.events[0]).toBe('disconnect:UNAVAILABLE');
    expect(log.events.at(-1)).toBe(`reconnect:${tc.path}`);
    expect(log.events.filter((e) => e.startsWith('reconnect:'))).toHaveLength(1);
    // The tier was negotiated afresh on the new connection and reported.
    expect(log.paths.at(-1)?.path).toBe(tc.path);
  });
});

describe('reconnect (in-process servers over tcp)', () => {
  const servers: Server[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) await s.close({ graceMs: 10 });
  });

  async function startServer(listen = 'tcp://127.0.0.1:0'): Promise<Server> {
    const server = new Server({ listen });
    server.addService<Calc>('Calc', calcHandlers());
    server.handle('Where.am', () => ({ address: server.address }));
    server.handle(
      'Count.down',
      async function* (req: unknown) {
        const { from, delayMs = 0 } = req as { from: number; delayMs?: number };
        for (let n = from; n > 0; n--) {
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          yield { n };
        }
      },
      { kind: 'server-stream' },
    );
    await server.start();
    servers.push(server);
    return server;
  }

  async function client(target: Parameters<typeof connect>[0], options: ClientOptions = {}): Promise<Client> {
    const c = await connect(target, { fastPath: 'off', ...fastBackoff, ...options });
    clients.push(c);
    return c;
  }

  it('follows a service that moves: the resolver is asked again and every call is accounted for', async () => {
    const a = await startServer();
    let current = a.address;
    let asked = 0;
    const c = await client(() => {
      asked++;
      return current;
    });
    const log = record(c);
    const outcome = { ok: 0, unavailable: 0, other: [] as string[] };
    let sent = 0;
    let stop = false;
    const loop = (async () => {
      const started = Date.now();
      while (!stop && sent < 5000 && Date.now() - started < 15_000) {
        sent++;
        try {
          const r = await c.call<{ sum: number }>('Calc.add', { a: sent, b: 1 }, { deadline: 5000 });
          if (r.sum !== sent + 1) outcome.other.push(`wrong answer ${r.sum}`);
          outcome.ok++;
        } catch (err) {
          if ((err as FastpathError).code === 'UNAVAILABLE') outcome.unavailable++;
          else outcome.other.push((err as FastpathError).code);
        }
      }
    })();
    await until(() => outcome.ok > 50, 5000, 'calls on the first server');
    const b = await startServer();
    current = b.address;
    await a.close({ graceMs: 1000 });
    await until(() => c.address === b.address && c.state === 'open', 10_000, 'the client on the new address');
    const okBefore = outcome.ok;
    await until(() => outcome.ok > okBefore + 50, 5000, 'calls on the second server');
    stop = true;
    await loop;
    expect(outcome.other).toEqual([]);
    expect(outcome.ok + outcome.unavailable).toBe(sent);
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(((await c.call('Where.am')) as { address: string }).address).toBe(b.address);
    expect(log.events).toContain('reconnect:tcp');
  });

  it('GOAWAY: calls in flight finish on the old server, calls it never accepted go to the next one', async () => {
    const a = await startServer();
    let current = a.address;
    const c = await client(() => current);
    const log = record(c);
    const inflight = c.call('Calc.slow', { ms: 300, tag: 'drain' });
    await new Promise((r) => setTimeout(r, 50));
    const b = await startServer();
    current = b.address;
    const closing = a.close({ graceMs: 5000 });
    await until(() => c.state !== 'open' || c.address === b.address, 5000, 'the client leaving the draining server');
    const after = (await c.call('Where.am')) as { address: string };
    expect(after.address).toBe(b.address);
    expect(await inflight).toEqual({ done: true });
    await closing;
    expect(log.events[0]).toBe('disconnect:UNAVAILABLE');
  });

  it('bounds the calls waiting for a connection: queue size, maxWaitMs, deadlines, close()', async () => {
    const a = await startServer();
    const c = await client(a.address, { reconnectQueue: { maxCalls: 3, maxWaitMs: 200 }, reconnectBackoff: { initialDelayMs: 50, maxDelayMs: 50 } });
    await a.close({ graceMs: 10 });
    await until(() => c.state === 'reconnecting', 5000, 'reconnecting');
    const byDeadline = rejectsWith(c.call('Calc.add', { a: 1, b: 1 }, { deadline: 100 }));
    const byWait = rejectsWith(c.call('Calc.add', { a: 1, b: 1 }));
    const byClose = rejectsWith(c.call('Calc.add', { a: 1, b: 1 }, { deadline: 10_000 }));
    const full = await rejectsWith(c.call('Calc.add', { a: 1, b: 1 }));
    expect(full.code).toBe('UNAVAILABLE');
    expect(full.details?.reason).toBe('reconnect-queue-full');
    expect((await byDeadline).code).toBe('DEADLINE_EXCEEDED');
    const waited = await byWait;
    expect(waited.code).toBe('UNAVAILABLE');
    expect(waited.details?.reason).toBe('reconnect-wait-timeout');
    await c.close();
    expect((await byClose).code).toBe('CANCELLED');
    expect(c.state).toBe('closed');
  });

  it('gives up after maxReconnectAttempts: close event, subscriptions end, calls fail UNAVAILABLE', async () => {
    const a = await startServer();
    const c = await client(a.address, { maxReconnectAttempts: 2, reconnectBackoff: { initialDelayMs: 20, maxDelayMs: 20 } });
    const log = record(c);
    const sub = c.subscribe('x.y');
    await sub.ready;
    const closed = new Promise<FastpathError>((r) => c.once('close', r));
    await a.close({ graceMs: 10 });
    const reason = await closed;
    expect(reason.code).toBe('UNAVAILABLE');
    expect(reason.details?.reason).toBe('reconnect-gave-up');
    expect(log.events.filter((e) => e.startsWith('reconnecting'))).toEqual(['reconnecting:1', 'reconnecting:2']);
    expect(sub.closed).toBe(true);
    const it = sub[Symbol.asyncIterator]();
    expect((await rejectsWith(it.next())).code).toBe('UNAVAILABLE');
    expect((await rejectsWith(c.call('Calc.add', { a: 1, b: 1 }))).code).toBe('UNAVAILABLE');
  });

  it('streams: one in flight fails with UNAVAILABLE; one opened while reconnecting waits and runs', async () => {
    const a = await startServer();
    const port = Number(a.address.split(':').at(-1));
    const c = await client(a.address);
    const st = c.serverStream<{ n: number }>('Count.down', { from: 1000, delayMs: 20 });
    const it = st[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    await a.close({ graceMs: 10 });
    let err: FastpathError | undefined;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (e) {
      err = e as FastpathError;
    }
    expect(err?.code).toBe('UNAVAILABLE');
    await until(() => c.state === 'reconnecting', 5000, 'reconnecting');
    const later = c.serverStream<{ n: number }>('Count.down', { from: 3 });
    await startServer(`tcp://127.0.0.1:${port}`);
    const got: number[] = [];
    for await (const m of later) got.push(m.n);
    expect(got).toEqual([3, 2, 1]);
  });

  it('a final refusal on reconnect (fast path required, none offered) ends the client instead of retrying forever', async () => {
    const a = await startServer();
    const port = Number(a.address.split(':').at(-1));
    const c = await client(a.address);
    const closed = new Promise<FastpathError>((r) => c.once('close', r));
    await a.close({ graceMs: 10 });
    // The restarted server is configured so that this client's handshake is refused for good.
    const b = new Server({ listen: `tcp://127.0.0.1:${port}`, fastPath: 'require', tiers: ['uds'] });
    await b.start();
    servers.push(b);
    const reason = await closed;
    expect(reason.code).not.toBe('UNAVAILABLE');
    expect(c.state).toBe('closed');
  });
});
