// Fast-path negotiation: which tier each connection takes and why, the frame-exact switch,
// and refusal of forged or replayed upgrades.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildFrame, connect, decode, encode, FastpathError, FrameType, hostIdentity, Server, Status, type PathInfo } from '@fastpath/core';
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { calcHandlers, type Calc, type Observed } from './fixtures/calc.js';
import { RawPeer } from './helpers/raw-peer.js';
import { spawnTs } from './helpers/spawn.js';
import { rejectsWith, until } from './helpers/util.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function startServer(options: ConstructorParameters<typeof Server>[0] = {}, observed?: Observed): Promise<Server> {
  const server = new Server({ listen: 'tcp://127.0.0.1:0', ...options });
  server.addService<Calc>('Calc', calcHandlers(observed));
  await server.start();
  closers.push(() => server.close({ graceMs: 100 }));
  return server;
}

const uid = process.getuid?.() ?? -1;
const localHello = (tiers: string[] = ['uds'], mode: 'auto' | 'require' = 'auto') => ({ fastPath: { mode, host: hostIdentity().id, uid, tiers } });

describe('fast-path negotiation', () => {
  it('upgrades a same-host TCP client to uds by default, and both ends report it', async () => {
    const server = await startServer({ tiers: ['uds'] });
    const serverPaths: PathInfo[] = [];
    server.on('path', (info) => serverPaths.push(info));
    const client = await connect(server.address, { tiers: ['uds'] });
    closers.push(() => client.close());
    expect(client.path).toBe('uds');
    expect(client.pathInfo).toEqual({ path: 'uds' });
    expect(await client.call('Calc.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    await until(() => serverPaths.length > 0, 2000, 'server path event');
    expect(serverPaths[0]).toEqual({ path: 'uds' });
    expect(server.connections()[0]).toMatchObject({ path: 'uds', reason: undefined });
  });

  it('says why shm was skipped when the native addon is disabled (FASTPATH_NATIVE=0)', async () => {
    const server = await startServer();
    const child = spawnTs('test/fixtures/client.ts', [server.address, JSON.stringify({ tiers: ['shm', 'uds'] })], { FASTPATH_NATIVE: '0' });
    closers.push(async () => child.kill('SIGKILL'));
    expect(await child.ready).toMatchObject({ path: 'uds', reason: 'shm: native addon unavailable: disabled by FASTPATH_NATIVE=0 (client)' });
  });

  it('stays on tcp with a reason when the client opts out', async () => {
    const server = await startServer();
    const serverPaths: PathInfo[] = [];
    server.on('path', (info) => serverPaths.push(info));
    const client = await connect(server.address, { fastPath: 'off' });
    closers.push(() => client.close());
    expect(client.pathInfo).toEqual({ path: 'tcp', reason: 'fastPath is off for this connection' });
    await until(() => serverPaths.length > 0, 2000, 'server path event');
    expect(serverPaths[0]).toEqual({ path: 'tcp', reason: 'peer opted out (client fastPath is off)' });
  });

  it('stays on tcp with a reason when the server opts out', async () => {
    const server = await startServer({ fastPath: 'off' });
    const client = await connect(server.address);
    closers.push(() => client.close());
    expect(client.pathInfo).toEqual({ path: 'tcp', reason: 'peer opted out (server fastPath is off)' });
  });

  it("fails clearly when the client requires the fast path and cannot have it", async () => {
    const server = await startServer({ fastPath: 'off' });
    const err = await rejectsWith(connect(server.address, { fastPath: 'require' }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toBe('fast path required, but peer opted out (server fastPath is off)');
  });

  it('refuses a non-upgradable client when the server requires the fast path', async () => {
    const server = await startServer({ fastPath: 'require' });
    const seen: string[] = [];
    server.on('connection', () => seen.push('connection'));
    server.on('disconnect', () => seen.push('disconnect'));
    const err = await rejectsWith(connect(server.address, { fastPath: 'off' }));
    expect(seen).toEqual([]); // refused in the handshake: never a connection
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toMatch(/fast path required, but peer opted out \(client fastPath is off\)/);
  });

  it('treats a peer with another host identity as remote', async () => {
    const server = await startServer();
    const raw = await RawPeer.connect(server.address);
    raw.hello({ fastPath: { mode: 'auto', host: 'another-machine', uid, tiers: ['uds'] } });
    const welcome = decode((await raw.next(FrameType.WELCOME)).body) as { fastPath: unknown };
    expect(welcome.fastPath).toEqual({ offer: false, reason: 'remote peer' });
    raw.destroy();
  });

  it('switches tiers with thousands of calls in flight, losing and reordering nothing', async () => {
    const seen: number[] = [];
    const server = await startServer({ tiers: ['uds'] });
    server.handle('Seq.push', (n: number) => {
      seen.push(n);
      return n;
    });
    const client = await connect(server.address, { tiers: ['uds'], waitForFastPath: false });
    closers.push(() => client.close());
    expect(client.path).toBe('tcp'); // not switched yet
    const paths: PathInfo[] = [];
    client.on('path', (p) => paths.push(p));
    const n = 5000;
    const calls: Array<Promise<unknown>> = [];
    // Calls are issued across several event-loop turns so the switch lands in the middle of them.
    for (let batch = 0; batch < 50; batch++) {
      for (let i = 0; i < n / 50; i++) calls.push(client.call('Seq.push', batch * (n / 50) + i));
      await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(paths).toEqual([{ path: 'uds' }]);
    expect(client.path).toBe('uds');
  });

  it('keeps the original socket open as the liveness channel', async () => {
    const server = await startServer({ tiers: ['uds'] });
    let accepted = 0;
    server.on('connection', () => accepted++);
    const client = await connect(server.address, { tiers: ['uds'], reconnect: false });
    expect(client.path).toBe('uds');
    expect(accepted).toBe(1);
    const closed = new Promise<FastpathError>((r) => client.once('close', r));
    // Killing the server's side of everything is what a crash looks like to the client.
    await server.close({ graceMs: 10 });
    expect((await closed).code).toBe('UNAVAILABLE');
  });

  it('creates the uds attach socket in a 0700 directory, mode 0600, and removes it on close', async () => {
    const server = await startServer({ tiers: ['uds'] });
    const raw = await RawPeer.connect(server.address);
    raw.hello(localHello());
    await raw.next(FrameType.WELCOME);
    const offer = decode((await raw.next(FrameType.UPGRADE)).body) as { tier: string; nonce: Buffer; params: { path: string } };
    expect(offer.tier).toBe('uds');
    expect(offer.nonce.length).toBe(16);
    expect(statSync(dirname(offer.params.path)).mode & 0o777).toBe(0o700);
    expect(statSync(offer.params.path).mode & 0o777).toBe(0o600);
    raw.destroy();
    await server.close();
    expect(() => statSync(dirname(offer.params.path))).toThrow();
  });

  it('refuses a forged nonce and a replayed one; the connection stays on its tier', async () => {
    const errors: FastpathError[] = [];
    const server = await startServer({ tiers: ['uds'] });
    server.on('error', (e) => errors.push(e));
    const raw = await RawPeer.connect(server.address);
    raw.hello(localHello());
    await raw.next(FrameType.WELCOME);
    const offer = decode((await raw.next(FrameType.UPGRADE)).body) as { nonce: Buffer; params: { path: string } };

    const forged = await RawPeer.connect(`unix:${offer.params.path}`);
    forged.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: Buffer.alloc(16, 7) })));
    const g = decode((await forged.next(FrameType.GOAWAY)).body) as [number, string];
    expect(g[0]).toBe(Status.PERMISSION_DENIED);
    expect(g[1]).toMatch(/unknown, expired or already used nonce/);
    await forged.waitClosed();
    expect(errors.map((e) => e.code)).toEqual(['PERMISSION_DENIED']);

    // The original connection still works on tcp.
    raw.write(buildFrame(FrameType.REQUEST, 0, 1, encode(['Calc.add', null, null, { a: 1, b: 1 }])));
    expect(decode((await raw.next(FrameType.RESPONSE)).body)).toEqual({ sum: 2 });

    // The real nonce works once...
    const good = await RawPeer.connect(`unix:${offer.params.path}`);
    good.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: offer.nonce })));
    expect(decode((await raw.next(FrameType.UPGRADE_ACK)).body)).toEqual({ switch: true });
    // ...and a replay of it is refused.
    const replay = await RawPeer.connect(`unix:${offer.params.path}`);
    replay.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: offer.nonce })));
    expect((decode((await replay.next(FrameType.GOAWAY)).body) as [number])[0]).toBe(Status.PERMISSION_DENIED);
    await replay.waitClosed();
    for (const p of [raw, good]) p.destroy();
  });

  it('reports "attach failed" and stays on tcp when the offered channel cannot be reached', async () => {
    const acks: unknown[] = [];
    const rawServer = net.createServer((s) => {
      const peer = RawPeer.wrap(s);
      void (async () => {
        await peer.next(FrameType.HELLO);
        peer.write(buildFrame(FrameType.WELCOME, 0, 0, encode({ version: 1, agent: 'raw', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 0, fastPath: { offer: true, tier: 'uds' } })));
        peer.write(buildFrame(FrameType.UPGRADE, 0, 0, encode({ tier: 'uds', nonce: Buffer.alloc(16), params: { path: '/nonexistent/fastpath/attach.sock' } })));
        acks.push(decode((await peer.next(FrameType.UPGRADE_ACK)).body));
      })();
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => rawServer.close(r)));
    const client = await connect(`tcp://127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`, { tiers: ['uds'], keepaliveMs: 0 });
    expect(client.path).toBe('tcp');
    expect(client.pathInfo.reason).toMatch(/^attach failed: cannot connect to unix:\/nonexistent\/fastpath\/attach.sock: ENOENT/);
    await until(() => acks.length > 0, 2000, 'fail ack');
    expect(acks[0]).toEqual({ fail: client.pathInfo.reason });
    void client.close();
  });

  it('a client killed with SIGKILL after upgrading frees its calls on the server', async () => {
    const observed: Observed = { started: new Set(), aborted: new Map() };
    const server = await startServer({ tiers: ['uds'] }, observed);
    const disconnects: FastpathError[] = [];
    server.on('disconnect', (_info, reason) => disconnects.push(reason));
    const child = spawnTs('test/fixtures/client.ts', [server.address, JSON.stringify({ tiers: ['uds'] })]);
    closers.push(async () => child.kill('SIGKILL'));
    expect(await child.ready).toMatchObject({ path: 'uds' });
    await until(() => observed.started.has('child'), 5000, 'child call');
    child.kill('SIGKILL');
    await until(() => observed.aborted.has('child'), 2000, 'handler abort');
    expect(observed.aborted.get('child')).toBe('CANCELLED');
    await until(() => disconnects.length === 1 && server.connections().length === 0, 2000, 'disconnect');
    expect(disconnects[0]!.code).toBe('UNAVAILABLE');
  });
});

describe('uds attach directories', () => {
  it('are swept when their server died without closing (kill -9)', async () => {
    const { mkdtempSync, existsSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { sweepStaleDirs } = await import('../packages/core/src/transport/uds-tier.js');
    const base = mkdtempSync(join(tmpdir(), 'fastpath-sweep-'));
    // A pid that is not running (the max pid is far below 2^22 + 12345 on Linux defaults).
    const dead = mkdtempSync(join(base, `fastpath-uds-${4_194_304 + 12_345}-`));
    writeFileSync(join(dead, 'attach.sock'), '');
    const mine = mkdtempSync(join(base, `fastpath-uds-${process.pid}-`));
    const other = mkdtempSync(join(base, 'unrelated-'));
    expect(await sweepStaleDirs(base)).toBe(1);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(other)).toBe(true);
  });
});

describe('peer uid check (SO_PEERCRED through the native addon)', () => {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) console.log('skipping the other-uid test: it needs root to start a process as nobody');
  it.runIf(isRoot)('reads the uid of a process of another user, and the attach router refuses its channel', async ({ skip }) => {
    const { mkdtempSync, chmodSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { spawn } = await import('node:child_process');
    const { loadNative, readPeerCredentials } = await import('@fastpath/core');
    const { NetConnection } = await import('../packages/core/src/transport/net-connection.js');
    const { AttachRouter } = await import('../packages/core/src/session/upgrade.js');
    const status = await loadNative();
    if (!status.loaded) skip(`native addon not loaded (${status.reason})`);
    const dir = mkdtempSync(join(tmpdir(), 'fastpath-peercred-'));
    chmodSync(dir, 0o777); // this test's own socket, reachable by nobody on purpose
    const path = join(dir, 'peer.sock');
    const accepted = new Promise<net.Socket>((resolve) => {
      const srv = net.createServer((s) => {
        resolve(s);
        srv.close();
      });
      srv.listen(path, () => chmodSync(path, 0o777));
    });
    await new Promise((r) => setTimeout(r, 50));
    const child = spawn(process.execPath, ['-e', `require('net').connect(${JSON.stringify(path)}).on('connect', () => setTimeout(() => process.exit(0), 3000))`], {
      uid: 65534,
      gid: 65534,
      cwd: '/',
      stdio: 'ignore',
    });
    try {
      const socket = await accepted;
      const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
      expect(readPeerCredentials(fd)).toMatchObject({ uid: 65534, pid: child.pid });
      const conn = new NetConnection(socket, 'uds', `unix:${path}`, `unix:${path}`);
      expect(conn.peerUid()).toBe(65534);
      const refused: FastpathError[] = [];
      const router = new AttachRouter((err) => refused.push(err));
      router.route(conn);
      expect(refused).toHaveLength(1);
      expect(refused[0]!.code).toBe('PERMISSION_DENIED');
      expect(refused[0]!.message).toMatch(/the peer runs as uid 65534, not 0/);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
