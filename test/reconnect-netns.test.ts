// The service moves to another "host" (a network namespace joined by a veth pair) and back, while
// a loop of calls and a subscription keep running; and the link is cut under a live connection.
// Needs root (CI runs as root); elsewhere it is skipped with the reason printed.
import { connect, type Client, type FastpathError } from '@fastpath/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shmAvailable } from './helpers/matrix.js';
import { createNetns, netnsSupport, type Netns } from './helpers/netns.js';
import { spawnTs, type Spawned } from './helpers/spawn.js';
import { rejectsWith, until } from './helpers/util.js';

const support = netnsSupport();
if (!support.ok) console.warn(`skipping the network-namespace reconnection tests: ${support.reason}`);

interface Tick {
  pid: number;
  n: number;
}

/** The best same-host tier this machine gives a client on 127.0.0.1. */
const localTier = shmAvailable ? 'shm' : 'uds';

describe.skipIf(!support.ok)('reconnect across hosts (network namespace)', () => {
  let ns: Netns;
  const children: Spawned[] = [];
  const clients: Client[] = [];
  beforeAll(() => {
    ns = createNetns();
  });
  afterAll(() => ns?.destroy());
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  async function hostServer(): Promise<{ child: Spawned; address: string; pid: number }> {
    const child = spawnTs('test/fixtures/ticker-server.ts', ['tcp://127.0.0.1:0']);
    children.push(child);
    const { address, pid } = (await child.ready) as { address: string; pid: number };
    return { child, address, pid };
  }

  async function nsServer(): Promise<{ child: Spawned; address: string; pid: number }> {
    const child = ns.spawnTs('test/fixtures/ticker-server.ts', [`tcp://${ns.nsAddress}:0`]);
    children.push(child);
    const { address, pid } = (await child.ready) as { address: string; pid: number };
    return { child, address, pid };
  }

  it('the address changes to another host and back: the client follows (shm -> tcp -> shm) and every call is accounted for', async () => {
    const a = await hostServer();
    let target = a.address;
    const client = await connect(() => target, { reconnectBackoff: { initialDelayMs: 20, maxDelayMs: 200 } });
    clients.push(client);
    expect(client.path).toBe(localTier);
    const paths: string[] = [`${client.pathInfo.path}:${client.pathInfo.reason ?? ''}`];
    let retried = 0;
    client.on('path', (p) => paths.push(`${p.path}:${p.reason ?? ''}`));
    client.on('retry', () => retried++);
    const ticks: Tick[] = [];
    client.subscribe<Tick>('ticks.all', { callback: (t) => ticks.push(t) });

    // The application's loop: it never changes, whatever the client does underneath.
    const outcome = { ok: 0, unavailable: 0, other: [] as string[] };
    let sent = 0;
    let stop = false;
    const loop = (async () => {
      const started = Date.now();
      while (!stop && sent < 1_000_000 && Date.now() - started < 30_000) {
        sent++;
        const n = sent;
        try {
          // Every other call is marked idempotent: those may be retried after a drop.
          const r = await client.call<{ sum: number }>('Calc.add', { a: n, b: 1 }, { deadline: 5000, idempotent: n % 2 === 0 });
          if (r.sum !== n + 1) outcome.other.push(`wrong answer ${r.sum} for ${n}`);
          else outcome.ok++;
        } catch (err) {
          if ((err as FastpathError).code === 'UNAVAILABLE') outcome.unavailable++;
          else outcome.other.push(`${(err as FastpathError).code}: ${(err as FastpathError).message}`);
        }
      }
    })();
    const progress = async (what: string): Promise<void> => {
      const before = outcome.ok;
      await until(() => outcome.ok > before + 20, 10_000, what);
    };
    await until(() => ticks.some((t) => t.pid === a.pid), 5000, 'ticks from the host server');
    await progress('calls on the host server');

    // The service moves to the other host: the old server stops, the resolver answers the new one.
    const b = await nsServer();
    target = b.address;
    a.child.kill('SIGKILL');
    await until(() => client.address === b.address && client.state === 'open', 15_000, 'the client on the remote server');
    expect(client.path).toBe('tcp');
    expect(client.pathInfo.reason).toMatch(/remote/);
    await until(() => ticks.some((t) => t.pid === b.pid), 5000, 'ticks from the remote server');
    await progress('calls on the remote server');

    // And back: a same-host server again, so the fast path again.
    const c = await hostServer();
    target = c.address;
    b.child.kill('SIGKILL');
    await until(() => client.address === c.address && client.state === 'open', 15_000, 'the client back on this host');
    expect(client.path).toBe(localTier);
    await until(() => ticks.some((t) => t.pid === c.pid), 5000, 'ticks from the host server again');
    await progress('calls on this host again');

    stop = true;
    await loop;
    // Every call ended exactly once, either answered correctly or failed with UNAVAILABLE;
    // idempotent calls lost in a drop were retried instead (counted by the 'retry' event).
    expect(outcome.other).toEqual([]);
    expect(outcome.ok + outcome.unavailable).toBe(sent);
    console.log(`moved twice: ${sent} calls, ${outcome.ok} answered, ${outcome.unavailable} UNAVAILABLE, ${retried} retried; paths ${paths.join(' | ')}`);
    expect(paths.map((p) => p.split(':')[0])).toEqual([localTier, 'tcp', localTier]);
  });

  it('deadlines are honoured while the link is down, and the client recovers when it comes back', async () => {
    const b = await nsServer();
    const client = await connect(b.address, { keepaliveMs: 300, keepaliveTimeoutMs: 600, reconnectBackoff: { initialDelayMs: 50, maxDelayMs: 200 } });
    clients.push(client);
    expect(client.path).toBe('tcp');
    expect(await client.call('Calc.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    await ns.linkDown();
    try {
      const t0 = performance.now();
      const err = await rejectsWith(client.call('Calc.add', { a: 1, b: 1 }, { deadline: 250 }));
      const took = performance.now() - t0;
      expect(err.code).toBe('DEADLINE_EXCEEDED');
      // Generous bound: the point is that a cut link does not hang the call.
      expect(took).toBeLessThan(5000);
      // Keepalive notices the silent peer; the client starts reconnecting, and calls keep
      // honouring their deadlines while it does.
      await until(() => client.state === 'reconnecting', 10_000, 'keepalive noticing the cut link');
      expect((await rejectsWith(client.call('Calc.add', { a: 1, b: 1 }, { deadline: 250 }))).code).toBe('DEADLINE_EXCEEDED');
    } finally {
      await ns.linkUp();
    }
    await until(() => client.state === 'open', 15_000, 'the client reconnecting after the link is back');
    expect(await client.call('Calc.add', { a: 2, b: 2 }, { deadline: 5000 })).toEqual({ sum: 4 });
  });
});
