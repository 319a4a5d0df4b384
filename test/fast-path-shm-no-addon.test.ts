// fastPath 'require' of the shm tier without the native addon (FASTPATH_NATIVE=0 in a client
// process): refused with FAILED_PRECONDITION naming the addon, on either side.
// The other shm tier suites are test/fast-path-shm-*.test.ts.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordShmNames } from './fixtures/shm-control.js';
import { closeAll, closers } from './helpers/closers.js';
import { startServer } from './helpers/shm-setup.js';
import { spawnTs } from './helpers/spawn.js';

afterEach(closeAll);

// As in every shm test file, the shm tier is wrapped to record the names it uses (the kill -9
// tests read them).
beforeAll(async () => {
  await recordShmNames();
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
