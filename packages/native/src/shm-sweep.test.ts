/**
 * Sweeping what killed servers left behind: segment and doorbell names carry the creator's pid, a
 * SIGKILLed server's offer is removed by the next tier that listens, and the old name forms still
 * validate.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_ADDON, leftovers, repoRoot, withTimeout } from './__fixtures__/shm-harness.js';
import { attachShm, createShmOffer, shmTier, sweepStaleShm } from './index.js';

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
