// Runs the real benchmark end to end with a tiny N: parent process, echo peers in child processes,
// the table, and the JSON report. Asserts structure and sanity, never timings.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from './report.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const TS_NODE_ARGS = ['-C', 'fastpath-src', '--import', 'tsx'];
const dir = mkdtempSync(join(tmpdir(), 'fastpath-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [...TS_NODE_ARGS, MAIN, ...args], { cwd: repoRoot, timeout: 50_000 });
}

describe('npm run bench (tiny run)', () => {
  it('measures the three rows and writes a JSON report with sane numbers', async () => {
    const file = join(dir, 'out.json');
    const { stdout } = await bench(['--n', '200', '--warmup', '50', '--json', file]);
    const report = JSON.parse(readFileSync(file, 'utf8')) as Report;

    expect(report.schema).toBe('fastpath-bench/1');
    expect(report.settings).toMatchObject({ n: 200, warmup: 50, payloadBytes: 64, quick: false, baseline: 'raw-tcp', unit: 'us', rows: ['raw-tcp', 'raw-tcp6', 'fastpath-tcp'] });
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.cpuModel.length).toBeGreaterThan(0);
    expect(report.machine.command).toContain('main.ts --n 200 --warmup 50 --json');
    expect(Number.isNaN(Date.parse(report.machine.date))).toBe(false);

    expect(report.rows.map((r) => r.name)).toEqual(['raw-tcp', 'raw-tcp6', 'fastpath-tcp']);
    const byName = Object.fromEntries(report.rows.map((r) => [r.name, r]));
    expect(byName['raw-tcp']!.status).toBe('ok');
    expect(byName['fastpath-tcp']!.status).toBe('ok');
    const v6 = byName['raw-tcp6']!;
    if (v6.status !== 'ok') expect(v6).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/IPv6/) });

    for (const r of report.rows.filter((x) => x.status === 'ok')) {
      const s = r.stats!;
      expect(s.count, r.name).toBe(200);
      expect(s.min, r.name).toBeGreaterThan(0);
      expect(s.min).toBeLessThanOrEqual(s.p50);
      expect(s.p50).toBeLessThanOrEqual(s.p99);
      expect(s.p99).toBeLessThanOrEqual(s.p999);
      expect(s.p999).toBeLessThanOrEqual(s.max);
      expect(s.mean).toBeGreaterThanOrEqual(s.min);
      expect(s.mean).toBeLessThanOrEqual(s.max);
      expect(s.stddev).toBeGreaterThanOrEqual(0);
      expect(s.roundTripsPerSec).toBeGreaterThan(0);
      expect(s.elapsedMs).toBeGreaterThan(0);
      const v = r.vsBaseline!;
      expect(v.p50Ratio).toBeCloseTo(s.p50 / byName['raw-tcp']!.stats!.p50, 10);
      expect(v.latencyReduction).toBeCloseTo(1 - v.p50Ratio, 10);
      expect(Number.isFinite(v.jitterReduction)).toBe(true);
      expect(r.details!.peerPid).toBeGreaterThan(0);
    }
    expect(byName['raw-tcp']!.vsBaseline).toEqual({ latencyReduction: 0, jitterReduction: 0, p50Ratio: 1 });
    expect(byName['raw-tcp']!.details!.peer).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    if (v6.status === 'ok') expect(v6.details!.peer).toMatch(/^tcp:\/\/\[::1\]:\d+$/);

    const fp = byName['fastpath-tcp']!;
    expect(fp.details!.path).toBe('tcp');
    expect(fp.goal).toMatchObject({ maxP50Ratio: 1.15, baseline: 'raw-tcp', p50Ratio: fp.vsBaseline!.p50Ratio, met: fp.vsBaseline!.p50Ratio <= 1.15 });

    expect(stdout).toMatch(/^row\s+mean\s+p50\s+p99\s+p99\.9\s+max\s+stddev\s+rt\/s/m);
    expect(stdout).toMatch(/^raw-tcp\s+\d/m);
    expect(stdout).toMatch(/^fastpath-tcp\s+\d/m);
    expect(stdout).toMatch(/^fastpath-tcp \/ raw-tcp p50 ratio: \d+\.\d{3} \(goal <= 1\.15, issue 2\): (met|NOT met)$/m);
    expect(stdout).toContain(`node     ${process.version}`);
  });

  it('refuses an unknown row before starting anything', async () => {
    const err = (await bench(['--rows', 'nope']).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: number; stderr: string } | undefined;
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/unknown row nope \(known: raw-tcp, raw-tcp6, fastpath-tcp\)/);
  });
});
