// The shm tier under a full fastpath Client/Server (issue 3's fault and limit tests): idle CPU,
// event-loop delay while calls run, kill -9 of either peer, /dev/shm left clean, large frames
// across chunking, `require` without the addon, and forged or replayed nonces on an shm offer.
//
// Peers that must be measured or killed run in child processes (test/fixtures/shm-*.ts) driven
// over IPC. Every wait is bounded; the only timing assertions are the CPU and event-loop-delay
// bounds, which are far from what a correct implementation measures (see each test).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFrame,
  connect,
  decode,
  encode,
  FastpathError,
  FrameParser,
  FrameType,
  hostIdentity,
  Server,
  Status,
  type Client,
  type Connection,
  type PathInfo,
} from '@fastpath/core';
import { attachShm, nativeStatus, type ShmMode } from '@fastpath/native';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { calcHandlers, type Calc, type Observed } from './fixtures/calc.js';
import { channelInfo, delayMonitor, recordShmNames, type DelayStats, type ShmNames } from './fixtures/shm-control.js';
import { RawPeer } from './helpers/raw-peer.js';
import { repoRoot, spawnTs, TS_NODE_ARGS } from './helpers/spawn.js';
import { rejectsWith, sleep, until } from './helpers/util.js';

const MODES: readonly ShmMode[] = ['inline', 'worker', 'adaptive'];
const shmOk = nativeStatus.loaded;
const uid = process.getuid?.() ?? -1;

const closers: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** Every shm name and doorbell directory this process offered or attached to (a live list). */
let names: ShmNames[] = [];
beforeAll(async () => {
  names = await recordShmNames();
});

async function startServer(options: ConstructorParameters<typeof Server>[0] = {}, observed?: Observed): Promise<Server> {
  const server = new Server({ listen: 'tcp://127.0.0.1:0', ...options });
  server.addService<Calc>('Calc', calcHandlers(observed));
  await server.start();
  closers.push(() => server.close({ graceMs: 100 }));
  return server;
}

async function connectShm(address: string, mode: ShmMode, extra: Parameters<typeof connect>[1] = {}): Promise<Client> {
  const client = await connect(address, { fastPath: 'require', tiers: ['shm'], shm: { mode }, ...extra });
  closers.push(() => client.close());
  return client;
}

type Msg = Record<string, unknown>;

/** A fixture process driven over IPC (test/fixtures/shm-control.ts). */
class Child {
  readonly proc: ChildProcess;
  readonly stderr: string[] = [];
  private readonly inbox: Msg[] = [];
  private wake: (() => void) | null = null;
  private nextId = 1;
  readonly exited: Promise<void>;

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, [...TS_NODE_ARGS, script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.proc.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    this.proc.on('message', (m) => {
      this.inbox.push(m as Msg);
      this.wake?.();
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.once('exit', () => this.wake?.());
    closers.push(() => this.kill('SIGKILL'));
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private async take(match: (m: Msg) => boolean, what: string, timeoutMs: number): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (!this.alive) throw new Error(`child exited before ${what}: ${this.stderr.join('')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`child: no ${what} within ${timeoutMs} ms: ${this.stderr.join('')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Waits for an event the child emits on its own ({ ev }). */
  next(ev: string, timeoutMs = 20_000): Promise<Msg> {
    return this.take((m) => m.ev === ev, `"${ev}"`, timeoutMs);
  }

  /** Sends a command and waits for its answer. */
  async ask(cmd: string, data: Msg = {}, timeoutMs = 20_000): Promise<Msg> {
    const id = this.nextId++;
    this.proc.send({ id, cmd, ...data });
    const r = await this.take((m) => m.id === id, `answer to ${cmd}`, timeoutMs);
    if (r.ok !== true) throw new Error(`child ${cmd} failed: ${String(r.error)}`);
    return r;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }
}

async function startServerChild(options: Msg): Promise<{ child: Child; address: string }> {
  const child = new Child('test/fixtures/shm-server.ts', [JSON.stringify(options)]);
  const ready = await child.next('ready');
  return { child, address: ready.address as string };
}

/** Rejects when `p` has not settled within `ms` (a generous bound, not a measurement). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]);
}

// --- /dev/shm and doorbell directories --------------------------------------------------------

/** Where @fastpath/native puts doorbell directories by default (its defaultDirBase()). */
function doorbellBase(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && xdg.startsWith('/')) {
    try {
      const st = statSync(xdg);
      if (st.isDirectory() && st.uid === uid) return xdg;
    } catch {
      // unusable
    }
  }
  return tmpdir();
}

const listShm = (): string[] => readdirSync('/dev/shm').filter((n) => n.startsWith('fp-'));
const listDoorbells = (): string[] => readdirSync(doorbellBase()).filter((n) => n.startsWith('fastpath-shm-'));

interface Snapshot {
  shm: Set<string>;
  dirs: Set<string>;
}
const snapshot = (): Snapshot => ({ shm: new Set(listShm()), dirs: new Set(listDoorbells()) });

/**
 * The segments and doorbell directories `used` by this test are gone, and nothing named like them
 * appeared since `before` and stayed. Other test files may be creating (and at once unlinking)
 * their own segments concurrently, so new entries get a few seconds to go away before they count
 * as leaks; the names this test used must be gone at once.
 */
async function expectNothingLeft(before: Snapshot, used: ShmNames[]): Promise<void> {
  expect(used.length, 'the test recorded the shm names it used').toBeGreaterThan(0);
  for (const n of used) {
    expect(existsSync(join('/dev/shm', n.shm)), `/dev/shm${n.shm}`).toBe(false);
    expect(existsSync(n.dir), n.dir).toBe(false);
  }
  const leaked = (): string[] => [
    ...listShm().filter((n) => !before.shm.has(n)).map((n) => `/dev/shm/${n}`),
    ...listDoorbells().filter((n) => !before.dirs.has(n)).map((n) => join(doorbellBase(), n)),
  ];
  const deadline = Date.now() + 6000;
  while (leaked().length > 0 && Date.now() < deadline) await sleep(50);
  expect(leaked()).toEqual([]);
}

const cpuReport = (m: Msg): string => JSON.stringify(m);
/** FASTPATH_TEST_VERBOSE=1 prints what the timing tests measured. */
const note = (text: string): void => {
  if (process.env.FASTPATH_TEST_VERBOSE === '1') console.log(text);
};
const delayReport = (d: DelayStats): string =>
  `wall p50 ${d.p50.toFixed(2)} ms, p99 ${d.p99.toFixed(2)} ms, max ${d.max.toFixed(2)} ms (${d.count} samples); ` +
  `on-CPU p99 ${d.onCpu.p99.toFixed(2)} ms, max ${d.onCpu.max.toFixed(2)} ms (${d.onCpu.count} samples); ` +
  `waiting for a CPU ${(d.runQueueShare * 100).toFixed(1)} % of the run`;

// --- tests ------------------------------------------------------------------------------------

describe.skipIf(!shmOk)('shm tier: limits', () => {
  // 5 % of a core is the bound. A correct worker/adaptive end sleeps in epoll on its
  // doorbell once idle, and measures about 0.1 % here (the native suite measured 0.03–0.07 %);
  // a connection still polling measures about 100 %, so the bound separates the two with margin.
  it.each(['worker', 'adaptive'] as const)(
    '%s: an idle connection uses under 5 percent of a core over 2 s, in the server process and in a client process',
    async (mode) => {
      const { child: server, address } = await startServerChild({ tiers: ['shm'], shm: { mode } });
      const client = new Child('test/fixtures/shm-client.ts', [address, JSON.stringify({ fastPath: 'require', tiers: ['shm'], shm: { mode } })]);
      expect(await client.next('ready')).toMatchObject({ path: 'shm', reason: null });
      // Traffic first, so both ends have polled (adaptive) and been woken (worker).
      await client.ask('calls', { n: 500 });
      // The polling window (spinMicros, 200 µs by default) has long passed after this.
      await sleep(250);
      const [s, c] = await Promise.all([server.ask('cpu', { ms: 2000 }), client.ask('cpu', { ms: 2000 })]);
      note(`${mode} idle: server ${((s.fraction as number) * 100).toFixed(3)} %, client ${((c.fraction as number) * 100).toFixed(3)} % of a core; client channel ${JSON.stringify(c.info)}`);
      expect(s.wallMs as number).toBeGreaterThanOrEqual(1990);
      expect(s.fraction as number, `server: ${cpuReport(s)}`).toBeLessThan(0.05);
      expect(c.fraction as number, `client: ${cpuReport(c)}`).toBeLessThan(0.05);
      // And the connection still works after sleeping.
      await client.ask('calls', { n: 10 }, 5000);
    },
  );

  // The bounds. The addon hands frames to JS in bounded batches (batchMax chunks or ~100 µs of
  // copying per callback), so the loop turns every few hundred µs however long the calls run; a
  // loop blocked by the transport (a synchronous spin, an unbounded batch) would not turn for the
  // whole 1.5 s run. Two measures, in the client (this process) and in the server (a child):
  // - monitorEventLoopDelay, wall clock. On a quiet machine p99 is 2-10 ms here. But inline keeps
  //   both processes runnable all the time on this 2-core machine, which other test files and
  //   other work share: with more runnable threads than cores the kernel time-slices them, and a
  //   timer is late by whole scheduler slices. We measured p99 up to 39 ms from that alone (the
  //   thread waited for a CPU 59 % of the run), so a 20 ms bound would be flaky. The wall-clock
  //   bound is a sanity check that fails only on real blocking: p99 < 100 ms, max < 750 ms (half
  //   the run).
  // - On-CPU stall: the CPU time the process used between two ticks of a 1 ms timer. Time spent
  //   preempted is not in it, so it measures our code rather than the neighbours and can be held
  //   tight: p99 < 10 ms. Measured: about 1 ms (the tick) when quiet, 2-4 ms under contention
  //   (getrusage accounting granularity); a batch loop that ignored its budget would show here.
  //   The failure message carries the share of the run the main thread spent waiting for a CPU
  //   (/proc/thread-self/schedstat), to tell contention from blocking.
  it.each(['inline', 'adaptive'] as const)(
    '%s: the event loop keeps turning while calls run, in the client and the server process',
    async (mode) => {
      const { child: server, address } = await startServerChild({ tiers: ['shm'], shm: { mode } });
      const client = await connectShm(address, mode);
      expect(client.path).toBe('shm');
      await client.call('Calc.add', { a: 1, b: 1 }); // warm up
      await server.ask('delayStart');
      const monitor = delayMonitor();
      const end = Date.now() + 1500;
      let calls = 0;
      // Eight ping-pong loops plus bursts of 256 pipelined calls: latency- and throughput-shaped load at once.
      const loops = Array.from({ length: 8 }, async () => {
        while (Date.now() < end) {
          await client.call('Calc.add', { a: calls, b: 1 });
          calls++;
        }
      });
      const bursts = (async () => {
        while (Date.now() < end) {
          await Promise.all(Array.from({ length: 256 }, (_, i) => client.call('Calc.add', { a: i, b: 0 })));
          calls += 256;
          await sleep(10);
        }
      })();
      await Promise.all([...loops, bursts]);
      const local = monitor.stop();
      const remote = (await server.ask('delayStop')) as unknown as DelayStats;
      note(`${mode} loop delay over ${calls} calls: client ${delayReport(local)}; server ${delayReport(remote)}`);
      expect(calls).toBeGreaterThan(1000);
      expect(local.count).toBeGreaterThan(20);
      for (const [who, d] of [['client', local], ['server', remote]] as const) {
        expect(d.p99, `${who} loop delay: ${delayReport(d)}`).toBeLessThan(100);
        expect(d.max, `${who} loop delay: ${delayReport(d)}`).toBeLessThan(750);
        expect(d.onCpu.count, `${who}: on-CPU samples`).toBeGreaterThan(20);
        expect(d.onCpu.p99, `${who} loop delay: ${delayReport(d)}`).toBeLessThan(10);
      }
    },
  );
});

describe.skipIf(!shmOk)('shm tier: kill -9', () => {
  it.each(MODES)('%s: the server is killed mid-call: pending calls fail with UNAVAILABLE, the client tries to reconnect, and nothing is left in /dev/shm', async (mode) => {
    const before = snapshot();
    const { child: server, address } = await startServerChild({ tiers: ['shm'], shm: { mode } });
    const from = names.length;
    const client = await connectShm(address, mode);
    expect(client.path).toBe('shm');
    const used = names.slice(from);
    const calc = client.service<Calc>('Calc');
    const disconnected = new Promise<FastpathError>((r) => client.once('disconnect', r));
    const pending = rejectsWith(calc.slow({ ms: 30_000 }));
    expect(await calc.add({ a: 1, b: 1 })).toEqual({ sum: 2 }); // the slow call has surely arrived
    const t0 = performance.now();
    server.kill('SIGKILL');
    // The liveness socket notices the death at once (about a millisecond here); the issue asks
    // for 1 s, and the bound below is generous so that a loaded machine cannot fail the test.
    const err = await within(pending, 5000, 'the pending call failing');
    note(`${mode}: the pending call failed ${(performance.now() - t0).toFixed(1)} ms after kill -9 of the server: ${err.message}`);
    expect(err.code).toBe('UNAVAILABLE');
    expect((await within(disconnected, 5000, 'the disconnect event')).code).toBe('UNAVAILABLE');
    // Nobody listens any more: the client keeps trying, and a new call waits until its deadline.
    expect((await rejectsWith(calc.add({ a: 1, b: 1 }, { deadline: 100 }))).code).toBe('DEADLINE_EXCEEDED');
    await client.close();
    expect((await rejectsWith(calc.add({ a: 1, b: 1 }))).code).toBe('UNAVAILABLE');
    await server.exited;
    await expectNothingLeft(before, used);
  });

  it.each(MODES)('%s: a client process is killed mid-call: the server frees the connection and nothing is left', async (mode) => {
    const before = snapshot();
    const observed: Observed = { started: new Set(), aborted: new Map() };
    const server = await startServer({ tiers: ['shm'], shm: { mode } }, observed);
    const disconnects: FastpathError[] = [];
    server.on('disconnect', (_info, reason) => disconnects.push(reason));
    const from = names.length;
    const child = spawnTs('test/fixtures/client.ts', [server.address, JSON.stringify({ fastPath: 'require', tiers: ['shm'], shm: { mode } })]);
    closers.push(() => child.kill('SIGKILL'));
    expect(await child.ready).toMatchObject({ path: 'shm' });
    // The server settles its side when it reads the client's switch marker, a moment later.
    await until(() => server.connections()[0]?.path === 'shm', 5000, 'the server side of the switch');
    await until(() => observed.started.has('child'), 5000, 'the child call to start');
    child.kill('SIGKILL');
    await within(
      until(() => observed.aborted.has('child') && server.connections().length === 0 && disconnects.length === 1, 5000, 'the server to free the connection'),
      6000,
      'the server freeing the connection',
    );
    expect(observed.aborted.get('child')).toBe('CANCELLED');
    expect(disconnects[0]!.code).toBe('UNAVAILABLE');
    await child.exited;
    await expectNothingLeft(before, names.slice(from));
  });
});

describe.skipIf(!shmOk)('shm tier: large frames across chunking', () => {
  const MAX = 8 * 1024 * 1024;
  // A REQUEST body is [method, budget, metadata, payload]; a bin32 payload adds a fixed overhead.
  const overhead = encode(['Calc.echo', null, null, Buffer.alloc(70_000)]).length - 70_000;
  const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

  it.each(MODES)('%s: 1 MiB and maxFrameBytes-sized payloads round-trip intact through a 64 KiB ring', async (mode) => {
    const server = await startServer({ tiers: ['shm'], shm: { mode, ringBytes: 65536 }, maxFrameBytes: MAX });
    const client = await connectShm(server.address, mode, { maxFrameBytes: MAX });
    expect(client.path).toBe('shm');
    const info = channelInfo(client) as { ringBytes?: number } | undefined;
    if (info) expect(info.ringBytes).toBe(65536);
    // 1 MiB, then a REQUEST body of exactly maxFrameBytes (the RESPONSE is 13 bytes smaller).
    for (const size of [1024 * 1024, MAX - overhead]) {
      const payload = randomBytes(size);
      const back = await client.call<Uint8Array>('Calc.echo', payload);
      expect(back.byteLength).toBe(size);
      expect(digest(back)).toBe(digest(payload));
    }
    // Several at once, interleaved with small calls: the frames share the ring in order.
    const big = Array.from({ length: 3 }, () => randomBytes(1024 * 1024 + 7));
    const results = await Promise.all([...big.map((p) => client.call<Uint8Array>('Calc.echo', p)), client.call('Calc.add', { a: 2, b: 3 })]);
    big.forEach((p, i) => expect(digest(results[i] as Uint8Array)).toBe(digest(p)));
    expect(results[3]).toEqual({ sum: 5 });
    // One byte over the limit is refused before it is sent, and the connection carries on.
    const err = await rejectsWith(client.call('Calc.echo', Buffer.alloc(MAX - overhead + 1)));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(await client.call('Calc.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    expect(client.path).toBe('shm');
  });
});

describe('shm tier: fastPath require without the native addon', () => {
  it('a client that requires shm with FASTPATH_NATIVE=0 fails with FAILED_PRECONDITION naming the native addon', async () => {
    const server = await startServer({ tiers: ['shm', 'uds'] });
    const child = spawnTs('test/fixtures/connect-report.ts', [server.address, JSON.stringify({ fastPath: 'require', tiers: ['shm'] })], { FASTPATH_NATIVE: '0' });
    closers.push(() => child.kill('SIGKILL'));
    const r = await child.ready;
    expect(r).toMatchObject({ ok: false, isFastpathError: true, code: 'FAILED_PRECONDITION' });
    expect(r.message).toMatch(/^fast path required, but /);
    expect(r.message).toMatch(/shm: native addon unavailable: disabled by FASTPATH_NATIVE=0 \(client\)/);
    expect(server.connections()).toEqual([]);
  });

  it('a server that requires shm refuses a client whose addon is disabled, with the same reason', async () => {
    const server = await startServer({ fastPath: 'require', tiers: ['shm'] });
    const child = spawnTs('test/fixtures/connect-report.ts', [server.address, '{}'], { FASTPATH_NATIVE: '0' });
    closers.push(() => child.kill('SIGKILL'));
    const r = await child.ready;
    expect(r).toMatchObject({ ok: false, code: 'FAILED_PRECONDITION' });
    expect(r.message).toMatch(/native addon unavailable: disabled by FASTPATH_NATIVE=0/);
  });
});

/** Frames a peer receives on a Connection (here: a raw shm channel), like RawPeer on a socket. */
class ChannelPeer {
  readonly frames: Array<{ type: number; id: number; body: Buffer }> = [];
  closed = false;
  private wake: (() => void) | null = null;

  constructor(readonly conn: Connection) {
    const parser = new FrameParser((type, _flags, id, body) => {
      this.frames.push({ type, id, body: Buffer.from(body) });
      this.wake?.();
    }, 1 << 20);
    conn.onData = (chunk) => parser.push(chunk);
    conn.onClose = () => {
      this.closed = true;
      this.wake?.();
    };
    closers.push(() => conn.destroy());
  }

  async next(type: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.type === type);
      if (i >= 0) return this.frames.splice(i, 1)[0]!.body;
      if (this.closed) throw new Error(`channel closed before frame type ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for frame type ${type}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await until(() => this.closed, timeoutMs, 'the channel to close');
  }
}

describe.skipIf(!shmOk)('shm tier: forged and replayed nonces', () => {
  const localHello = { fastPath: { mode: 'auto', host: hostIdentity().id, uid, tiers: ['shm'] } };
  type Offer = { tier: string; nonce: Buffer; params: { shm: string; dir: string } };

  async function offered(address: string): Promise<{ raw: RawPeer; offer: Offer }> {
    const raw = await RawPeer.connect(address);
    closers.push(() => raw.destroy());
    raw.hello(localHello);
    expect((decode((await raw.next(FrameType.WELCOME)).body) as { fastPath: unknown }).fastPath).toEqual({ offer: true, tier: 'shm' });
    const offer = decode((await raw.next(FrameType.UPGRADE)).body) as Offer;
    expect(offer.tier).toBe('shm');
    expect(offer.nonce.length).toBe(16);
    return { raw, offer };
  }

  async function callOverTcp(raw: RawPeer, id: number): Promise<void> {
    raw.write(buildFrame(FrameType.REQUEST, 0, id, encode(['Calc.add', null, null, { a: id, b: 1 }])));
    expect(decode((await raw.next(FrameType.RESPONSE)).body)).toEqual({ sum: id + 1 });
  }

  async function refused(conn: Connection, nonce: Uint8Array): Promise<void> {
    const peer = new ChannelPeer(conn);
    conn.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: nonce })));
    const g = decode(await peer.next(FrameType.GOAWAY)) as [number, string];
    expect(g[0]).toBe(Status.PERMISSION_DENIED);
    expect(g[1]).toBe('upgrade refused: unknown, expired or already used nonce');
    await peer.waitClosed();
  }

  it('refuses a wrong nonce and a replayed one on an shm channel; those connections stay on tcp', async () => {
    const errors: FastpathError[] = [];
    const paths: PathInfo[] = [];
    const server = await startServer({ tiers: ['shm'], upgradeTimeoutMs: 1000 });
    server.on('error', (e) => errors.push(e));
    server.on('path', (p) => paths.push(p));

    // A: attach to A's segment, but prove a made-up nonce.
    const a = await offered(server.address);
    await refused(attachShm(a.offer.params), Buffer.alloc(16, 7));
    expect(errors.map((e) => e.code)).toEqual(['PERMISSION_DENIED']);
    expect(errors[0]!.message).toBe('upgrade refused: unknown, expired or already used nonce');
    await callOverTcp(a.raw, 1); // A still works, on tcp
    // The segment was unlinked by that attach: the token cannot be used twice.
    expect(() => attachShm(a.offer.params)).toThrow(expect.objectContaining({ name: 'ShmError', code: 'ENOENT' }));

    // B: a real client: attach, prove B's nonce, switch; calls then go over shared memory.
    const b = await offered(server.address);
    const bConn = attachShm(b.offer.params);
    const bPeer = new ChannelPeer(bConn);
    bConn.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: b.offer.nonce })));
    expect(decode((await b.raw.next(FrameType.UPGRADE_ACK)).body)).toEqual({ switch: true });
    b.raw.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ switch: true })));
    bConn.write(buildFrame(FrameType.REQUEST, 0, 1, encode(['Calc.add', null, null, { a: 20, b: 1 }])));
    expect(decode(await bPeer.next(FrameType.RESPONSE))).toEqual({ sum: 21 });

    // C: attach to C's own segment, but replay B's nonce, which is used up.
    const c = await offered(server.address);
    await refused(attachShm(c.offer.params), b.offer.nonce);
    expect(errors.map((e) => e.code)).toEqual(['PERMISSION_DENIED', 'PERMISSION_DENIED']);
    await callOverTcp(c.raw, 2); // C still works, on tcp

    // A and C's offers expire (upgradeTimeoutMs): they stay on tcp, with the reason; B is on shm.
    await until(() => paths.length === 3, 5000, 'three path events');
    expect(paths).toContainEqual({ path: 'shm' });
    expect(paths.filter((p) => p.path === 'tcp')).toEqual([
      { path: 'tcp', reason: 'attach failed: the client did not attach in time' },
      { path: 'tcp', reason: 'attach failed: the client did not attach in time' },
    ]);
    expect(server.connections().map((x) => x.path).sort()).toEqual(['shm', 'tcp', 'tcp']);
    await callOverTcp(a.raw, 3);
    await callOverTcp(c.raw, 4);
  });
});
