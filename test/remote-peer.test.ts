// A real "remote host": a server in a network namespace of its own (test/helpers/netns.ts), with
// the same machine, kernel boot and uid as the test. The host identity includes the network
// namespace, so such a peer is remote: it gets `tcp` (or stays on the Unix socket it came in on)
// with the reason 'remote peer', on both ends, and is never offered shm or uds. A client in the
// server's own namespace is the control: it is upgraded. Needs root; skips with the reason otherwise.
import { readFileSync, statSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { connect, hostIdentity, loadNative, Server, type Client, type PathInfo } from '@fastpath/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calcHandlers, type Calc } from './fixtures/calc.js';
import { StreamerDef } from './fixtures/streamer.js';
import { cleanupSocketDirs, socketPath } from './helpers/matrix.js';
import { createNetns, netnsSupport, type Netns } from './helpers/netns.js';
import { TS_NODE_ARGS, type Spawned } from './helpers/spawn.js';
import { rejectsWith, until } from './helpers/util.js';

const support = netnsSupport();
if (!support.ok) console.warn(`remote-peer tests skipped: ${support.reason}`);

const native = await loadNative();
/** The tier a same-namespace client ends up on: shm with the native addon, else uds. */
const localTier = native.loaded && native.tiers?.includes('shm') === true ? 'shm' : 'uds';

interface ServerReady {
  address: string;
  pid: number;
  host: string;
  bootId: string;
  netns: number;
  uid: number;
}
interface ServerPath {
  path: string;
  reason: string | null;
  remote: string;
  meta: Record<string, string>;
}

/** Sends a JSON command to a remote-server.ts child and waits (bounded) for its answer. */
async function command(s: Spawned, cmd: Record<string, unknown>, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const from = s.stdout.length;
  s.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  let line: string | undefined;
  await until(() => (line = s.stdout.slice(from).find((l) => l.startsWith(`{"re":"${String(cmd.cmd)}"`))) !== undefined, timeoutMs, `answer to ${String(cmd.cmd)}`);
  const answer = JSON.parse(line!) as Record<string, unknown>;
  if (answer.error) throw new Error(`${String(cmd.cmd)} failed in the child: ${String(answer.error)}`);
  return answer;
}

/** The server-side 'path' record of the connection whose metadata has who = `who`. */
async function serverPathOf(s: Spawned, who: string): Promise<ServerPath> {
  const end = Date.now() + 10_000;
  for (;;) {
    const { paths } = (await command(s, { cmd: 'info' })) as { paths: ServerPath[] };
    const p = paths.find((x) => x.meta.who === who);
    if (p) return p;
    if (Date.now() > end) throw new Error(`no server path event for ${who}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs connect-report.ts inside the namespace (a client there), bounded. */
function reportFromNamespace(ns: Netns, url: string, options: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return ns.exec(process.execPath, [...TS_NODE_ARGS, 'test/fixtures/connect-report.ts', url, JSON.stringify(options)], { timeoutMs: 30_000 }).then((r) => {
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`connect-report in ${ns.name} printed nothing (exit ${r.code}): ${r.stderr}`);
    return JSON.parse(line) as Record<string, unknown>;
  });
}

describe.skipIf(!support.ok)('a peer in another network namespace (same machine, same uid)', () => {
  let ns: Netns;
  let server: Spawned;
  let ready: ServerReady;
  const children: Spawned[] = [];
  const clients: Client[] = [];

  const open = async (url: string, who: string, options: Parameters<typeof connect>[1] = {}): Promise<Client> => {
    const c = await connect(url, { reconnect: false, metadata: { who }, ...options });
    clients.push(c);
    return c;
  };
  const startInNs = async (listen: string): Promise<{ s: Spawned; ready: ServerReady }> => {
    const s = ns.spawnTs('test/fixtures/remote-server.ts', [listen]);
    children.push(s);
    return { s, ready: (await s.ready) as unknown as ServerReady };
  };

  beforeAll(async () => {
    ns = createNetns();
    ({ s: server, ready } = await startInNs(ns.nsUrl(0)));
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    for (const c of children) c.kill('SIGKILL');
    ns?.destroy();
    cleanupSocketDirs();
  });

  it('runs in a real namespace: same boot and uid, another network namespace, another host identity', () => {
    expect(ready.address).toBe(`tcp://${ns.nsAddress}:${new URL(ready.address).port}`);
    expect(ready.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(ready.uid).toBe(process.getuid!());
    expect(ready.netns).not.toBe(statSync('/proc/self/ns/net').ino);
    expect(ready.host).not.toBe(hostIdentity().id);
  });

  it('a host client calling the server in the namespace gets tcp, reason "remote peer", on both ends', async () => {
    const client = await open(ready.address, 'host-tcp');
    expect(await client.call('Calc.add', { a: 20, b: 22 })).toEqual({ sum: 42 });
    expect(client.path).toBe('tcp');
    expect(client.pathInfo).toEqual({ path: 'tcp', reason: 'remote peer' });

    const sp = await serverPathOf(server, 'host-tcp');
    expect(sp).toMatchObject({ path: 'tcp', reason: 'remote peer' });
    expect(sp.remote).toMatch(new RegExp(`^tcp://${ns.hostAddress.replaceAll(".", "\\.")}:\\d+$`));
    const { connections } = (await command(server, { cmd: 'info' })) as { connections: Array<{ path: string; reason?: string; meta: Record<string, string> }> };
    expect(connections.find((c) => c.meta.who === 'host-tcp')).toMatchObject({ path: 'tcp', reason: 'remote peer' });
  });

  it("refuses fastPath 'require' to a remote peer with FAILED_PRECONDITION", async () => {
    const err = await rejectsWith(connect(ready.address, { reconnect: false, fastPath: 'require' }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toBe('fast path required, but remote peer');
  });

  it("a server with fastPath 'require' refuses a remote peer with FAILED_PRECONDITION", async () => {
    const s = ns.spawnTs('test/fixtures/remote-server.ts', [ns.nsUrl(0), JSON.stringify({ fastPath: 'require' })]);
    children.push(s);
    const { address } = (await s.ready) as unknown as ServerReady;
    const err = await rejectsWith(connect(address, { reconnect: false }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toBe('fast path required, but remote peer');
  });

  it(`control: a client inside the server's namespace is upgraded (${localTier})`, async () => {
    const r = await reportFromNamespace(ns, ready.address);
    expect(r).toMatchObject({ ok: true, path: localTier });
  });

  it('never offers shm to a peer in another namespace over a Unix socket both can reach', async () => {
    // Filesystem Unix sockets cross network namespaces: the host client really reaches the
    // server in the namespace, on the same machine and uid. Only the host identity tells.
    const { ready: u } = await startInNs(`unix:${socketPath('remote.sock')}`);
    const client = await open(u.address, 'host-unix');
    expect(await client.call('Calc.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    expect(client.pathInfo).toEqual({ path: 'uds', reason: 'remote peer' });
    // The control, on the same socket from inside the namespace: offered shm when the addon is there.
    const r = await reportFromNamespace(ns, u.address);
    expect(r).toMatchObject({ ok: true, path: localTier });
    expect(r.reason).not.toBe('remote peer');
  });

  it("a server on the namespace's own 127.0.0.1, reached through a forwarder, still sees a remote peer", async () => {
    // The server sees a loopback peer address (the forwarder's), yet the peer is on the host.
    const { s, ready: lo } = await startInNs('tcp://127.0.0.1:0');
    const port = Number(new URL(lo.address).port);
    const forwarderCode = `const net=require('net');net.createServer(a=>{const b=net.connect(${port},'127.0.0.1');a.pipe(b).pipe(a);a.on('error',()=>b.destroy());b.on('error',()=>a.destroy());}).listen(0,'${ns.nsAddress}',function(){console.log(JSON.stringify({port:this.address().port}))})`;
    const fwd = ns.spawn(process.execPath, ['-e', forwarderCode]);
    children.push(fwd);
    const { port: fport } = (await fwd.ready) as { port: number };
    const client = await open(ns.nsUrl(fport), 'host-via-forwarder');
    expect(await client.call('Calc.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    expect(client.pathInfo).toEqual({ path: 'tcp', reason: 'remote peer' });
    const sp = await serverPathOf(s, 'host-via-forwarder');
    expect(sp.remote).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(sp).toMatchObject({ path: 'tcp', reason: 'remote peer' });
  });

  it('a client in the namespace calling a server on the host gets tcp, reason "remote peer"', async () => {
    const host = new Server({ listen: `tcp://${ns.hostAddress}:0` });
    host.addService<Calc>('Calc', calcHandlers());
    const serverPaths: PathInfo[] = [];
    host.on('path', (info) => serverPaths.push(info));
    await host.start();
    try {
      const r = await reportFromNamespace(ns, host.address);
      expect(r).toEqual({ ok: true, path: 'tcp', reason: 'remote peer' });
      await until(() => serverPaths.length > 0, 5000, 'host server path event');
      expect(serverPaths[0]).toEqual({ path: 'tcp', reason: 'remote peer' });
    } finally {
      await host.close({ graceMs: 100 });
    }
  });

  it('delivers a subscription across the namespace, in order', async () => {
    const client = await open(ready.address, 'host-sub');
    const got: number[] = [];
    const sub = client.subscribe<{ i: number }>('remote.*', { callback: (d) => got.push(d.i) });
    await sub.ready;
    const n = 300;
    // The publisher is a client inside the namespace (upgraded there); the subscriber is on the host.
    const pub = await command(server, { cmd: 'publish', subject: 'remote.x', n, url: ready.address });
    expect(pub.path).toBe(localTier);
    await until(() => got.length >= n, 10_000, `${n} messages`);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(client.pathInfo).toEqual({ path: 'tcp', reason: 'remote peer' });
    sub.unsubscribe();
  });

  it('runs a server stream across the namespace', async () => {
    const client = await open(ready.address, 'host-stream');
    const got: number[] = [];
    for await (const { n } of client.service(StreamerDef).countdown({ from: 500 }, { deadline: 15_000 })) got.push(n);
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => 500 - i));
    expect(client.path).toBe('tcp');
  });

  it('honours a deadline while the veth link is down, and works again once it is up', async () => {
    const client = await open(ready.address, 'host-linkdown');
    expect(await client.call('Calc.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    await ns.linkDown();
    try {
      const t0 = Date.now();
      const err = await rejectsWith(client.call('Calc.add', { a: 1, b: 2 }, { deadline: 300 }));
      expect(err.code).toBe('DEADLINE_EXCEEDED');
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await ns.linkUp();
    }
    expect(await client.call('Calc.add', { a: 3, b: 4 }, { deadline: 10_000 })).toEqual({ sum: 7 });
  });
});

describe('network namespace support', () => {
  it('says whether this machine can create namespaces, and why not', () => {
    if (support.ok) expect(support).toEqual({ ok: true });
    else expect(support.reason).toMatch(/\S/);
  });

  it.skipIf(!support.ok)('destroy() removes the namespace, the veth pair and the processes inside', async () => {
    const t = createNetns();
    const child = t.spawn('sleep', ['60']);
    await new Promise((r) => setTimeout(r, 50));
    const list = (args: string[]): Promise<string> =>
      new Promise((res) => execFile('ip', args, { timeout: 5000 }, (_e, out) => res(String(out))));
    expect(await list(['netns', 'list'])).toContain(t.name);
    t.destroy();
    t.destroy(); // idempotent
    expect(t.destroyed).toBe(true);
    expect(await Promise.race([child.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('alive'), 5000))])).toBe('exited');
    expect(await list(['netns', 'list'])).not.toContain(t.name);
    expect(await list(['-o', 'link', 'show'])).not.toContain(t.hostIf);
  });
});
