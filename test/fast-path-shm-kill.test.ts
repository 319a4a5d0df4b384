// kill -9 on the shm tier, under a full fastpath Client/Server (issue 3's fault tests): either
// peer killed mid-call, and /dev/shm and the doorbell directories left clean. The peers killed run
// in child processes (test/fixtures/shm-*.ts). Every wait is bounded.
// The other shm tier suites are test/fast-path-shm-*.test.ts.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastpathError } from '@fastpath/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Calc, Observed } from './fixtures/calc.js';
import { recordShmNames, type ShmNames } from './fixtures/shm-control.js';
import { closeAll, closers } from './helpers/closers.js';
import { startServerChild } from './helpers/shm-child.js';
import { connectShm, MODES, shmOk, startServer } from './helpers/shm-setup.js';
import { spawnTs } from './helpers/spawn.js';
import { rejectsWith, sleep, until } from './helpers/util.js';
import { note } from './helpers/verbose.js';

const uid = process.getuid?.() ?? -1;

afterEach(closeAll);

/** Every shm name and doorbell directory this process offered or attached to (a live list). */
let names: ShmNames[] = [];
beforeAll(async () => {
  names = await recordShmNames();
});

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

// --- tests ------------------------------------------------------------------------------------

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
