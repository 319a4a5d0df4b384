// `fastpath doctor` (packages/codegen/src/cli), run as a child process the way a user runs it
// from the repo: node -C fastpath-src --import tsx packages/codegen/src/cli/main.ts doctor.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hostIdentity } from '@fastpath/core';
import { nativeStatus, resolveShmOptions, SHM_DEFAULTS } from '@fastpath/native';
import { describe, expect, it } from 'vitest';
import { repoRoot, TS_NODE_ARGS } from './helpers/spawn.js';

const run = promisify(execFile);
const MAIN = 'packages/codegen/src/cli/main.ts';
const uid = process.getuid?.() ?? -1;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; never rejects on a non-zero exit. FASTPATH_NATIVE is cleared unless given. */
async function fastpath(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const baseEnv = { ...process.env };
  delete baseEnv.FASTPATH_NATIVE;
  try {
    const { stdout, stderr } = await run(process.execPath, [...TS_NODE_ARGS, MAIN, ...args], { cwd: repoRoot, env: { ...baseEnv, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface Report {
  native: { loaded: boolean; reason?: string; tiers?: string[]; path?: string };
  host: { id: string; source: string };
  uid: number;
  registered: string[];
  tiers: Array<{ tier: string; available: boolean; reason?: string; provider: string }>;
  cpus: { availableParallelism: number; loadavg: number[] };
  shm: {
    package: { loaded: boolean };
    defaults?: Record<string, unknown>;
    requested: Record<string, unknown>;
    effective?: Record<string, unknown>;
    error?: string;
    notes: string[];
  };
  probe?: { ok: boolean; path?: string; reason?: string; serverPath?: string; error?: string };
}

const json = (r: Result): Report => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
};

describe('fastpath doctor', () => {
  it('prints the addon status, host identity, uid, tiers and shm settings', async () => {
    const r = await fastpath(['doctor']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    if (nativeStatus.loaded) {
      expect(out).toMatch(/^native addon {3}loaded \(.*fastpath_native\.node\)$/m);
      expect(out).toMatch(/^ {2}shm +available +@fastpath\/native$/m);
    } else {
      expect(out).toContain(`native addon   not loaded: ${nativeStatus.reason}`);
      expect(out).toMatch(/^ {2}shm +unavailable +native addon unavailable: /m);
    }
    expect(out).toContain(`host identity  ${hostIdentity().id} (${hostIdentity().source})`);
    expect(out).toMatch(new RegExp(`^uid +${uid}$`, 'm'));
    expect(out).toMatch(/^ {2}uds +available +@fastpath\/core$/m);
    expect(out).toMatch(/^ {2}tcp +available +@fastpath\/core$/m);
    expect(out).toMatch(/^ {2}tcp-fastpath +unavailable +Windows only/m);
    // Tiers fastest first.
    const order = ['shm', 'tcp-fastpath', 'uds', 'tcp'].map((t) => out.search(new RegExp(`^  ${t} `, 'm')));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // Effective shm settings, with the one-core fallback explained.
    expect(out).toMatch(new RegExp(`^ {2}mode +${resolveShmOptions().mode} `, 'm'));
    expect(out).toMatch(new RegExp(`^ {2}spinMicros +${SHM_DEFAULTS.spinMicros} `, 'm'));
    expect(out).toMatch(new RegExp(`^ {2}ringBytes +${SHM_DEFAULTS.ringBytes} \\(1\\.0 MiB\\)`, 'm'));
    expect(out).toContain(`adaptive falls back to worker when os.availableParallelism() < 2 (here: ${availableParallelism()})`);
  });

  it('--json reports the same as this process sees', async () => {
    const rep = json(await fastpath(['doctor', '--json']));
    expect(rep.native.loaded).toBe(nativeStatus.loaded);
    expect(rep.host).toEqual({ id: hostIdentity().id, source: hostIdentity().source });
    expect(rep.uid).toBe(uid);
    expect(rep.cpus.availableParallelism).toBe(availableParallelism());
    expect(rep.tiers.map((t) => t.tier)).toEqual(['shm', 'tcp-fastpath', 'uds', 'tcp']);
    const byTier = Object.fromEntries(rep.tiers.map((t) => [t.tier, t]));
    expect(byTier.uds).toMatchObject({ available: true, provider: '@fastpath/core' });
    expect(byTier.tcp).toMatchObject({ available: true });
    expect(byTier['tcp-fastpath']).toMatchObject({ available: false });
    if (nativeStatus.loaded) {
      expect(rep.native).toMatchObject({ loaded: true, tiers: ['shm'], path: nativeStatus.path });
      expect(rep.registered).toEqual(['shm', 'uds']);
      expect(byTier.shm).toEqual({ tier: 'shm', available: true, provider: '@fastpath/native' });
    } else {
      expect(byTier.shm).toMatchObject({ available: false, reason: `native addon unavailable: ${nativeStatus.reason}` });
    }
    expect(rep.shm.package.loaded).toBe(true);
    expect(rep.shm.defaults).toEqual({ ...SHM_DEFAULTS });
    expect(rep.shm.requested).toEqual({});
    expect(rep.shm.effective).toEqual({ ...resolveShmOptions() });
    expect(rep.probe).toBeUndefined();
  });

  it("with FASTPATH_NATIVE=0 says the addon is off and why shm is unavailable: 'disabled by FASTPATH_NATIVE=0'", async () => {
    const r = await fastpath(['doctor'], { FASTPATH_NATIVE: '0' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('native addon   not loaded: disabled by FASTPATH_NATIVE=0');
    expect(r.stdout).toMatch(/^ {2}shm +unavailable +native addon unavailable: disabled by FASTPATH_NATIVE=0$/m);
    expect(r.stdout).toMatch(/^ {2}uds +available/m);
    expect(r.stdout).toContain('(the shm tier is unavailable here; these are the settings it would use)');

    const rep = json(await fastpath(['doctor', '--json'], { FASTPATH_NATIVE: '0' }));
    expect(rep.native).toEqual({ loaded: false, reason: 'disabled by FASTPATH_NATIVE=0' });
    expect(rep.registered).toEqual(['uds']);
    expect(rep.tiers.find((t) => t.tier === 'shm')).toEqual({ tier: 'shm', available: false, reason: 'native addon unavailable: disabled by FASTPATH_NATIVE=0', provider: '@fastpath/native' });
    expect(rep.tiers.find((t) => t.tier === 'uds')?.available).toBe(true);
  });

  it('--probe negotiates a loopback connection and reports the tier it took, and why not faster', async () => {
    const off = json(await fastpath(['doctor', '--json', '--probe'], { FASTPATH_NATIVE: '0' }));
    expect(off.probe).toMatchObject({ ok: true, path: 'uds', serverPath: 'uds' });
    expect(off.probe!.reason).toContain('shm: native addon unavailable: disabled by FASTPATH_NATIVE=0');
    if (nativeStatus.loaded) {
      const on = json(await fastpath(['doctor', '--json', '--probe', '--shm', '{"mode":"worker"}']));
      expect(on.probe).toMatchObject({ ok: true, path: 'shm', serverPath: 'shm' });
      expect(on.probe!.reason).toBeUndefined();
    }
  });

  it('--shm resolves the given options, and reports invalid ones', async () => {
    const rep = json(await fastpath(['doctor', '--json', '--shm', '{"mode":"inline","ringBytes":65536,"spinMicros":50}']));
    expect(rep.shm.requested).toEqual({ mode: 'inline', ringBytes: 65536, spinMicros: 50 });
    expect(rep.shm.effective).toMatchObject({ mode: 'inline', requestedMode: 'inline', ringBytes: 65536, spinMicros: 50, batchMax: SHM_DEFAULTS.batchMax });
    // Whatever resolveShmOptions says about a ring that is not a power of two, doctor repeats.
    let why = '';
    try {
      resolveShmOptions({ ringBytes: 5000 });
    } catch (err) {
      why = (err as Error).message;
    }
    expect(why).toMatch(/ringBytes/);
    const bad = json(await fastpath(['doctor', '--json', '--shm', '{"ringBytes":5000}']));
    expect(bad.shm.effective).toBeUndefined();
    expect(bad.shm.error).toBe(why);
    const text = await fastpath(['doctor', '--shm', '{"ringBytes":5000}']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`the requested settings are invalid: ${why}`);
    const notJson = await fastpath(['doctor', '--shm', 'nope']);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/^fastpath doctor: --shm: /);
  });
});

describe('fastpath CLI', () => {
  it('prints help listing doctor, and each command has its own help', async () => {
    const help = await fastpath(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: fastpath <command> [options]');
    expect(help.stdout).toMatch(/^ {2}doctor +show /m);
    expect((await fastpath(['help'])).stdout).toBe(help.stdout);
    const doctorHelp = await fastpath(['doctor', '--help']);
    expect(doctorHelp.code).toBe(0);
    expect(doctorHelp.stdout).toContain('Usage: fastpath doctor [options]');
    expect((await fastpath(['help', 'doctor'])).stdout).toBe(doctorHelp.stdout);
  });

  it('--version prints the version of @fastpath/codegen', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'packages/codegen/package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) expect(await fastpath([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('exits 2 with the help on stderr for no command, an unknown one, one missing its arguments, or a bad option', async () => {
    for (const [args, message] of [
      [[], 'Usage: fastpath <command>'],
      [['frobnicate'], 'fastpath: unknown command "frobnicate"'],
      [['call'], 'fastpath call: needs an address and a method'],
      [['gen'], 'fastpath gen: '],
      [['doctor', '--bogus'], "fastpath doctor: Unknown option '--bogus'"],
    ] as const) {
      const r = await fastpath([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
    }
  });

  it('is the bin of @fastpath/codegen: a launcher for the tsup build of src/cli/main.ts', () => {
    const dir = join(repoRoot, 'packages/codegen');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(pkg.bin).toEqual({ fastpath: './bin/fastpath.js' });
    expect(readFileSync(join(dir, 'bin/fastpath.js'), 'utf8')).toMatch(/dist\/cli\.js/);
    expect(readFileSync(join(dir, 'tsup.config.ts'), 'utf8')).toMatch(/cli: 'src\/cli\/main\.ts'/);
    expect(readFileSync(join(dir, MAIN.replace('packages/codegen/', '')), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('runs from a checkout with nothing built, as npx fastpath (README)', async () => {
    const { stdout } = await run(process.execPath, [join(repoRoot, 'packages/codegen/bin/fastpath.js'), 'doctor', '--json'], { cwd: repoRoot, timeout: 60_000 });
    expect(JSON.parse(stdout)).toHaveProperty('native');
  });
});
