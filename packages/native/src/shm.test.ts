/**
 * The shm tier with real processes and real shared memory: a child attaches to a token and echoes.
 * Every wait is bounded in time; the only timing assertion is the idle-CPU one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread } from 'node:worker_threads';
import { FrameParser, FrameType, buildFrame } from '@fastpath/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '@fastpath/core';
import {
  attachShm,
  createShmOffer,
  nativeStatus,
  register,
  resolveShmOptions,
  shmOptionsFrom,
  shmTier,
  sweepStaleShm,
  type ShmConnection,
  type ShmMode,
  type ShmOptions,
  type ShmUpgradeTier,
  type TcpFastPathUpgradeTier,
} from './index.js';
import { binding } from './native.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const peerScript = fileURLToPath(new URL('./__fixtures__/shm-peer.ts', import.meta.url));
const MODES: ShmMode[] = ['inline', 'worker', 'adaptive'];

type PeerMsg = { ev: string; [k: string]: unknown };

/** A child process attached to a token, with a bounded wait for its IPC messages. */
class Peer {
  readonly child: ChildProcess;
  private readonly inbox: PeerMsg[] = [];
  private waiter: (() => void) | null = null;
  readonly exited: Promise<number | null>;

  constructor(token: unknown, mode: ShmMode, extra?: ShmOptions) {
    const args = [peerScript, JSON.stringify(token), mode, ...(extra ? ['', JSON.stringify(extra)] : [])];
    this.child = spawn(process.execPath, ['-C', 'fastpath-src', '--import', 'tsx', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m) => {
      this.inbox.push(m as PeerMsg);
      this.waiter?.();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async next(ev: string, timeoutMs = 10_000): Promise<PeerMsg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.ev === ev);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`peer: no "${ev}" within ${timeoutMs} ms (got ${JSON.stringify(this.inbox)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  send(m: unknown): void {
    this.child.send(m as object);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const peers: Peer[] = [];
const conns: ShmConnection[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.destroy();
  for (const p of peers.splice(0)) p.kill();
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function leftovers(token: { shm: string; dir: string }): string[] {
  const found: string[] = [];
  if (existsSync(`/dev/shm${token.shm}`)) found.push(`/dev/shm${token.shm}`);
  if (existsSync(token.dir)) found.push(token.dir);
  return found;
}

/** Offers a channel in `mode`, starts a peer on it and waits until both ends are attached. */
async function connectPeer(mode: ShmMode, opts: { ringBytes?: number; slotBytes?: number } = {}): Promise<{ conn: ShmConnection; peer: Peer; token: { shm: string; dir: string } }> {
  const offer = createShmOffer({ mode, attachTimeoutMs: 15_000, ...opts });
  expect(leftovers(offer.token)).toHaveLength(2); // exists until attached
  const peer = new Peer(offer.token, mode);
  peers.push(peer);
  const conn = await withTimeout(offer.attached, 15_000, 'attach');
  conns.push(conn);
  await peer.next('attached', 15_000);
  return { conn, peer, token: offer.token };
}

/** Sends `bytes`, resolves with everything echoed back once `bytes.length` bytes came back. */
function echo(conn: ShmConnection, bytes: Uint8Array, timeoutMs = 10_000): Promise<Buffer> {
  const got: Buffer[] = [];
  let n = 0;
  return withTimeout(
    new Promise<Buffer>((resolve) => {
      conn.onData = (chunk) => {
        got.push(Buffer.from(chunk));
        n += chunk.length;
        if (n >= bytes.length) resolve(Buffer.concat(got));
      };
      conn.write(bytes);
    }),
    timeoutMs,
    `echo of ${bytes.length} bytes`,
  );
}

function closedPromise(conn: ShmConnection): Promise<Error | undefined> {
  return new Promise((resolve) => {
    conn.onClose = (err) => resolve(err);
  });
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// Without a compiler at install (or FASTPATH_NATIVE=0) there is no addon: the suites that need it
// are skipped with the reason printed, and the loader must say why it did not load.
const HAS_ADDON = nativeStatus.loaded;
if (!HAS_ADDON) console.log(`native tests that need the addon are skipped: ${nativeStatus.reason}`);

describe('loader', () => {
  it.runIf(!HAS_ADDON)('reports why the addon did not load', () => {
    expect(nativeStatus.loaded).toBe(false);
    expect(nativeStatus.reason).toMatch(/\S/);
  });

  it.runIf(HAS_ADDON)('loaded the addon built by npm ci', () => {
    expect(nativeStatus).toMatchObject({ loaded: true });
    expect(nativeStatus.path).toMatch(/build\/Release\/fastpath_native\.node$/);
    expect(binding?.constants.VERSION).toBe(1);
  });

  async function loaderChild(flag: string): Promise<{ status: unknown; available: boolean; err?: string }> {
    const code = `
      const m = await import('@fastpath/native');
      let err; try { m.createShmOffer().cancel(); } catch (e) { err = e.code; }
      console.log(JSON.stringify({ status: m.nativeStatus.loaded ? { loaded: true } : m.nativeStatus, available: m.nativeAvailable, err }));`;
    const child = spawn(process.execPath, ['-C', 'fastpath-src', '--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: repoRoot,
      env: { ...process.env, FASTPATH_NATIVE: flag },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exit = await withTimeout(new Promise((r) => child.once('exit', r)), 15_000, 'loader child');
    expect(exit).toBe(0);
    return JSON.parse(out.trim().split('\n').pop()!);
  }

  it('reports disabled with FASTPATH_NATIVE=0, and the API refuses with ENATIVE', async () => {
    expect(await loaderChild('0')).toEqual({ status: { loaded: false, reason: 'disabled by FASTPATH_NATIVE=0' }, available: false, err: 'ENATIVE' });
  });

  it('FASTPATH_NATIVE: exactly 0/false/off, trimmed and in any case, disable it; the reason names the value', async () => {
    const results = await Promise.all([' OFF ', 'False', '1', 'no'].map((f) => loaderChild(f)));
    expect(results[0]).toEqual({ status: { loaded: false, reason: 'disabled by FASTPATH_NATIVE= OFF ' }, available: false, err: 'ENATIVE' });
    expect(results[1]).toEqual({ status: { loaded: false, reason: 'disabled by FASTPATH_NATIVE=False' }, available: false, err: 'ENATIVE' });
    // Other values do not disable it: it loads, when it was built.
    const loads = HAS_ADDON ? { status: { loaded: true }, available: true } : { status: nativeStatus, available: false, err: 'ENATIVE' };
    expect(results[2]).toEqual(loads);
    expect(results[3]).toEqual(loads);
  }, 30_000);
});

describe.skipIf(!HAS_ADDON)('offer lifecycle (in process)', () => {
  it('an offer nobody attaches to times out and leaves nothing behind', async () => {
    const offer = createShmOffer({ attachTimeoutMs: 200, mode: 'worker' });
    expect(leftovers(offer.token)).toHaveLength(2);
    await expect(offer.attached).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(leftovers(offer.token)).toEqual([]);
  });

  it('a cancelled offer cannot be attached', async () => {
    const offer = createShmOffer({ mode: 'worker' });
    offer.cancel();
    await expect(offer.attached).rejects.toMatchObject({ code: 'ECANCELED' });
    expect(() => attachShm(offer.token)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(leftovers(offer.token)).toEqual([]);
  });

  it('rejects malformed tokens before touching the system', () => {
    const offer = createShmOffer({ mode: 'worker' });
    try {
      for (const bad of [null, {}, { ...offer.token, shm: '/etc/passwd' }, { ...offer.token, dir: '/tmp/../etc' }, { ...offer.token, ringBytes: 5000 }, { ...offer.token, key: 'zz' }]) {
        expect(() => attachShm(bad)).toThrow(expect.objectContaining({ code: 'EBADTOKEN' }));
      }
      // Right names, wrong key: the header check refuses it.
      expect(() => attachShm({ ...offer.token, key: '0'.repeat(32) })).toThrow(expect.objectContaining({ code: 'EBADTOKEN' }));
    } finally {
      offer.cancel();
    }
  });
});

describe.skipIf(!HAS_ADDON)('adaptive mode and spare cores', () => {
  it('stops polling after traffic while more tasks are runnable than there are cores', async () => {
    // One more CPU-bound process than cores: no core is spare, whatever else runs.
    const hogs = Array.from({ length: availableParallelism() + 1 }, () =>
      spawn(process.execPath, ['-e', 'const end = Date.now() + 10000; while (Date.now() < end) {}'], { stdio: 'ignore' }),
    );
    // A one-second polling window: without contention the channel would poll all that time.
    const offer = createShmOffer({ mode: 'adaptive', spinMicros: 1_000_000 });
    const client = attachShm(offer.token, { mode: 'adaptive', spinMicros: 1_000_000 });
    const server = await offer.attached;
    try {
      let got = 0;
      server.onData = (chunk) => {
        got += chunk.length;
      };
      client.onData = () => {};
      await new Promise((r) => setTimeout(r, 100)); // the hogs are running
      let info = server.info();
      for (let i = 0; i < 150 && !(info.contended && !info.polling && got > 0); i++) {
        client.write(Buffer.alloc(64, i)); // traffic opens the window again
        await new Promise((r) => setTimeout(r, 20));
        info = server.info();
      }
      expect(got).toBeGreaterThan(0);
      expect(info.contended).toBe(true);
      expect(info.polling).toBe(false); // asleep on the doorbell, inside its polling window
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
      client.destroy();
      server.destroy();
    }
  }, 20_000);
});

describe.skipIf(!HAS_ADDON)('sweeping what killed servers left behind', () => {
  /** A child that creates an offer, reports its token, and waits to be killed. */
  async function orphanOffer(dirBase: string): Promise<{ token: { shm: string; dir: string }; pid: number }> {
    const code = `
      const m = await import('@fastpath/native');
      const o = m.createShmOffer({ mode: 'worker', ringBytes: 8192, attachTimeoutMs: 600000, dirBase: ${JSON.stringify(dirBase)} });
      console.log(JSON.stringify(o.token));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-C', 'fastpath-src', '--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const token = await withTimeout(
      new Promise<{ shm: string; dir: string }>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
        });
        child.once('exit', (c) => reject(new Error(`orphan child exited (${c}) before its offer`)));
      }),
      15_000,
      'orphan offer',
    );
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await withTimeout(exited, 5000, 'orphan exit');
    return { token, pid: child.pid! };
  }

  it('names carry the creator pid', () => {
    const offer = createShmOffer({ mode: 'worker', ringBytes: 8192 });
    try {
      expect(offer.token.shm).toBe(`/fp-${process.pid.toString(16).padStart(8, '0')}-${offer.token.shm.slice(13)}`);
      expect(offer.token.shm).toMatch(/^\/fp-[0-9a-f]{8}-[0-9a-f]{24}$/);
      expect(offer.token.dir).toMatch(new RegExp(`/fastpath-shm-${process.pid}-[A-Za-z0-9]{6}$`));
    } finally {
      offer.cancel();
    }
  });

  it('a SIGKILLed server\'s offer is removed when a tier starts listening; live and foreign-form names stay', async () => {
    const dirBase = mkdtempSync(join(tmpdir(), 'fp-sweep-test-'));
    try {
      const { token } = await orphanOffer(dirBase);
      // The kill left both behind.
      expect(leftovers(token)).toEqual([`/dev/shm${token.shm}`, token.dir]);
      // A live offer of this process, and an old-form directory name (no pid), must survive.
      const live = createShmOffer({ mode: 'worker', ringBytes: 8192, dirBase });
      const oldForm = mkdtempSync(join(dirBase, 'fastpath-shm-'));
      try {
        const server = await shmTier.listen(() => {}, { dirBase });
        await server.close();
        expect(leftovers(token)).toEqual([]);
        expect(leftovers(live.token)).toHaveLength(2);
        expect(existsSync(oldForm)).toBe(true);
        expect(readdirSync(dirBase).sort()).toEqual([live.token.dir.slice(dirBase.length + 1), oldForm.slice(dirBase.length + 1)].sort());
        // Nothing is left to sweep a second time.
        expect(sweepStaleShm(dirBase)).toEqual({ segments: 0, dirs: 0 });
      } finally {
        live.cancel();
      }
      expect(leftovers(live.token)).toEqual([]);
    } finally {
      rmSync(dirBase, { recursive: true, force: true });
    }
  }, 30_000);

  it('an attach to an offer of the old name form still validates', () => {
    // The old forms pass the token check (the attach then fails on the missing object, not the name).
    const offer = createShmOffer({ mode: 'worker', ringBytes: 8192 });
    try {
      const old = { ...offer.token, shm: `/fp-${'a'.repeat(32)}`, dir: `${tmpdir()}/fastpath-shm-AbC123` };
      expect(() => attachShm(old)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(() => attachShm({ ...offer.token, shm: `/fp-${'a'.repeat(8)}_${'b'.repeat(24)}` })).toThrow(expect.objectContaining({ code: 'EBADTOKEN' }));
      expect(() => attachShm({ ...offer.token, dir: `${tmpdir()}/fastpath-shm-12x-AbC123` })).toThrow(expect.objectContaining({ code: 'EBADTOKEN' }));
    } finally {
      offer.cancel();
    }
  });
});

describe.skipIf(!HAS_ADDON)('registration with core (in process)', () => {
  it('register() hands core an shm tier whose offers attach and carry bytes', async () => {
    const registered: Array<ShmUpgradeTier | TcpFastPathUpgradeTier> = [];
    expect(register({ registerUpgradeTier: (t) => registered.push(t) })).toEqual({ loaded: true, tiers: ['shm'] });
    const tier = registered[0]!;
    expect(tier.tier).toBe('shm');
    expect(tier.unavailableReason()).toBeUndefined();
    const accepted: Connection[] = [];
    const server = await tier.listen((c) => accepted.push(c), { mode: 'worker', ringBytes: 8192 });
    const offer = await server.offer();
    const client = await tier.attach(JSON.parse(JSON.stringify(offer.params)), { mode: 'adaptive' });
    await withTimeout(
      (async () => {
        for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      'onConnection',
    );
    expect(accepted).toHaveLength(1);
    const srv = accepted[0]!;
    srv.onData = (b) => srv.write(b);
    const back = await echo(client as ShmConnection, Buffer.from('via the tier'));
    expect(back.toString()).toBe('via the tier');
    const unused = await server.offer();
    await server.close(); // withdraws the unused offer
    expect(() => attachShm(unused.params)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    client.destroy();
    srv.destroy();
  });
});

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
