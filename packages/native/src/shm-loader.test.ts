/**
 * The addon loader: whether the addon built by `npm ci` loaded, and FASTPATH_NATIVE turning it off
 * (in child processes, so that this process keeps its addon).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HAS_ADDON, repoRoot, withTimeout } from './__fixtures__/shm-harness.js';
import { nativeStatus } from './index.js';
import { binding } from './native.js';

describe('loader', () => {
  // npm ci builds the addon where there is a compiler (always in CI); without one, the loader must
  // say why it did not load. The disabled state is checked in child processes below either way.
  it('reports whether the addon built by npm ci loaded, and why when it did not', () => {
    if (!HAS_ADDON) {
      expect(nativeStatus.loaded).toBe(false);
      expect(nativeStatus.reason).toMatch(/\S/);
      expect(binding).toBeUndefined();
      return;
    }
    expect(nativeStatus).toMatchObject({ loaded: true });
    expect(nativeStatus.path).toMatch(/(build\/Release|prebuilds\/linux-x64)\/fastpath_native\.node$/);
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
