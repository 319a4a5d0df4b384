// The validation section (issue 5), tiny: the in-process validator cost, and a real bench run of
// the section (peers in child processes, the table, the goal line, the JSON report). Asserts
// structure only, never timings.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nativeStatus } from '@fastpath/native';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from './report.js';
import { measureValidationCost } from './validation-cost.js';
import { encodedBytes, largeMessage, smallMessage } from './validation-messages.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fastpath-bench-validation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SUMMARY_KEYS = ['count', 'min', 'mean', 'p50', 'p99', 'p999', 'max', 'stddev'];

describe('validation section', () => {
  it('its messages are about 64 bytes and about 1 KB as MessagePack', () => {
    expect(encodedBytes(smallMessage())).toBeGreaterThanOrEqual(48);
    expect(encodedBytes(smallMessage())).toBeLessThanOrEqual(96);
    expect(encodedBytes(largeMessage())).toBeGreaterThanOrEqual(900);
    expect(encodedBytes(largeMessage())).toBeLessThanOrEqual(1100);
  });

  it('measures the validator cost per message, bounded in repetitions', () => {
    const c = measureValidationCost('large', { reps: 3, maxMs: 20 });
    expect(c).toMatchObject({ message: 'large', reps: 3 });
    expect(c.samplesNs).toHaveLength(3);
    expect(c.iterationsPerRep).toBeGreaterThan(0);
    expect(c.nsPerMessage).toBeGreaterThan(0);
    expect(c.minNs).toBeLessThanOrEqual(c.nsPerMessage);
    expect(c.nsPerMessage).toBeLessThanOrEqual(c.maxNs);
  });

  it('npm run bench -- --sections validation: tables, goal line and JSON report', async () => {
    const file = join(dir, 'validation.json');
    const args = ['--sections', 'validation', '--n', '200', '--warmup', '50', '--max-ms', '50', '--json', file];
    const { stdout } = await run(process.execPath, ['-C', 'fastpath-src', '--import', 'tsx', MAIN, ...args], { cwd: repoRoot, timeout: 55_000 });
    const report = JSON.parse(readFileSync(file, 'utf8')) as Report;

    expect(report.settings).toMatchObject({ sections: ['validation'], n: 200, warmup: 50, validation: { cost: { reps: 11, maxMs: 50 }, rtt: { rounds: 10, message: 'small' } } });
    expect(report.settings.methods.validation).toEqual(expect.any(String));
    expect(report.rows).toEqual([]);
    expect(report.pipeline).toEqual([]);
    expect(report.pubsub).toEqual([]);
    const v = report.validation!;
    expect(v.cost.map((c) => c.message)).toEqual(['small', 'large']);
    for (const c of v.cost) {
      expect(Object.keys(c).sort()).toEqual(['bytes', 'iterationsPerRep', 'maxNs', 'message', 'minNs', 'nsPerMessage', 'reps', 'samplesNs'].sort());
      expect(c.samplesNs).toHaveLength(c.reps);
      expect(c.reps).toBeGreaterThanOrEqual(3);
      expect(c.reps).toBeLessThanOrEqual(11);
    }
    expect(v.rttMessage).toEqual({ message: 'small', bytes: v.cost[0]!.bytes });

    expect(v.rtt.map((r) => r.name)).toEqual(['fastpath-tcp', 'fastpath-shm-inline']);
    const [tcp, shm] = v.rtt;
    expect(tcp!.status, tcp!.reason).toBe('ok');
    if (nativeStatus.loaded) expect(shm!.status, shm!.reason).toBe('ok');
    else expect(shm).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/native addon unavailable/) });
    for (const r of v.rtt.filter((x) => x.status === 'ok')) {
      expect(Object.keys(r.off!).sort()).toEqual([...SUMMARY_KEYS].sort());
      expect(r.off!.count).toBe(200);
      expect(r.on!.count).toBe(200);
      expect(r.overhead).toBeCloseTo(r.on!.p50 / r.off!.p50 - 1, 10);
      expect(r.details).toMatchObject({ path: r.name === 'fastpath-tcp' ? 'tcp' : 'shm', rounds: 10, message: 'small' });
    }
    expect(tcp!.goal).toBeUndefined();
    if (shm!.status === 'ok') expect(shm!.goal).toEqual({ maxOverhead: 0.05, source: 'issue 5', met: shm!.overhead! <= 0.05 });

    expect(stdout).toMatch(/^message\s+bytes\s+ns\/msg\s+min\s+max\s+reps\s+iters\/rep$/m);
    expect(stdout).toMatch(/^small\s+\d+\s+[\d.,]+/m);
    expect(stdout).toMatch(/^large\s+\d+\s+[\d.,]+/m);
    expect(stdout).toMatch(/^row\s+p50 off\s+p50 on\s+p99 off\s+p99 on\s+overhead$/m);
    expect(stdout).toMatch(/^fastpath-tcp\s+[\d.,]+\s+[\d.,]+/m);
    if (shm!.status === 'ok') expect(stdout).toMatch(/^validation adds at most 5% to shm-inline RTT: (met|NOT met) \(p50 overhead [-+]?\d+\.\d%, issue 5\)$/m);
    else expect(stdout).toMatch(/^fastpath-shm-inline: skipped: native addon unavailable/m);
  });
});
