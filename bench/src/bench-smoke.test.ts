// Runs the real benchmark end to end with tiny bounds: parent process, peers in child processes,
// the tables, and the JSON report. Asserts structure and sanity, never timings.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nativeStatus } from '@fastpath/native';
import { netnsSupport } from '../../test/helpers/netns.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from './report.js';
import type { RowResult } from './run-rows.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const TS_NODE_ARGS = ['-C', 'fastpath-src', '--import', 'tsx'];
const dir = mkdtempSync(join(tmpdir(), 'fastpath-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PING_PONG_ROWS = [
  'raw-tcp',
  'raw-tcp6',
  'raw-uds',
  'fastpath-tcp',
  'fastpath-uds',
  'fastpath-shm-inline',
  'fastpath-shm-worker',
  'fastpath-shm-adaptive',
  'grpc-tcp',
  'grpc-uds',
  'raw-tcp-netns',
  'fastpath-tcp-netns',
];
const NETNS_ROWS = ['raw-tcp-netns', 'fastpath-tcp-netns'];
const netns = netnsSupport();
const SHM_ROWS = PING_PONG_ROWS.filter((r) => r.startsWith('fastpath-shm-'));

function bench(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [...TS_NODE_ARGS, MAIN, ...args], { cwd: repoRoot, timeout: 55_000 });
}

/** shm rows run when the addon loaded, and are skipped with the reason otherwise. */
function expectShmStatus(r: { name: string; status: string; reason?: string }): void {
  if (nativeStatus.loaded) expect(r.status, `${r.name}: ${r.reason ?? ''}`).toBe('ok');
  else expect(r).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/native addon unavailable/) });
}

function expectSaneLatency(r: RowResult, n: number, baseP50: number): void {
  const s = r.stats!;
  expect(s.count, r.name).toBe(n);
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
  expect(v.p50Ratio).toBeCloseTo(s.p50 / baseP50, 10);
  expect(v.latencyReduction).toBeCloseTo(1 - v.p50Ratio, 10);
  expect(Number.isFinite(v.jitterReduction)).toBe(true);
  expect(r.details!.peerPid).toBeGreaterThan(0);
}

describe('npm run bench (tiny runs)', () => {
  it('ping-pong: measures every row, with goals against raw-tcp and raw-uds, and writes a JSON report and an SVG chart naming every row', async () => {
    const file = join(dir, 'pingpong.json');
    const svgFile = join(dir, 'pingpong.svg');
    const { stdout, stderr } = await bench(['--sections', 'pingpong', '--n', '200', '--warmup', '50', '--json', file, '--svg', svgFile]);
    const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
    // Progress goes to a terminal only: stderr is a pipe here.
    expect(stderr.replace(/^npm warn .*\n/gm, '')).toBe('');

    expect(report.schema).toBe('fastpath-bench/3');
    expect(report.settings).toMatchObject({ n: 200, warmup: 50, payloadBytes: 64, quick: false, baseline: 'raw-tcp', unit: 'us', rows: PING_PONG_ROWS, sections: ['pingpong'] });
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.command).toContain('main.ts --sections pingpong --n 200 --warmup 50 --json');
    expect(Number.isNaN(Date.parse(report.machine.date))).toBe(false);
    expect(report.sizes).toEqual([]);
    expect(report.pipeline).toEqual([]);
    expect(report.pubsub).toEqual([]);
    expect(report.validation).toBeNull();

    expect(report.rows.map((r) => r.name)).toEqual(PING_PONG_ROWS);
    const byName = Object.fromEntries(report.rows.map((r) => [r.name, r]));
    for (const name of ['raw-tcp', 'raw-uds', 'fastpath-tcp', 'fastpath-uds', 'grpc-tcp', 'grpc-uds']) expect(byName[name]!.status, `${name}: ${byName[name]!.reason ?? ''}`).toBe('ok');
    for (const name of NETNS_ROWS) {
      if (netns.ok) expect(byName[name]!.status, `${name}: ${byName[name]!.reason ?? ''}`).toBe('ok');
      else expect(byName[name]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/network namespaces are unavailable here/) });
    }
    if (netns.ok) {
      // Another network namespace is another host to fastpath: it stays on tcp, and says why.
      expect(byName['fastpath-tcp-netns']!.details).toMatchObject({ path: 'tcp', reason: expect.stringMatching(/remote/), peer: expect.stringMatching(/^tcp:\/\/10\.213\./) });
      expect(byName['raw-tcp-netns']!.details!.peer).toMatch(/^tcp:\/\/10\.213\./);
    }
    expect(byName['grpc-tcp']!.details!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(byName['grpc-uds']!.details!.peer).toMatch(/^unix:\/.*grpc\.sock$/);
    const v6 = byName['raw-tcp6']!;
    if (v6.status !== 'ok') expect(v6).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/IPv6/) });
    for (const name of SHM_ROWS) expectShmStatus(byName[name]!);

    const baseP50 = byName['raw-tcp']!.stats!.p50;
    for (const r of report.rows.filter((x) => x.status === 'ok')) expectSaneLatency(r, 200, baseP50);
    expect(byName['raw-tcp']!.vsBaseline).toEqual({ latencyReduction: 0, jitterReduction: 0, p50Ratio: 1 });
    expect(byName['raw-tcp']!.details!.peer).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(byName['raw-uds']!.details!.peer).toMatch(/^unix:\/.*raw\.sock$/);
    if (v6.status === 'ok') expect(v6.details!.peer).toMatch(/^tcp:\/\/\[::1\]:\d+$/);

    const fp = byName['fastpath-tcp']!;
    expect(fp.details!.path).toBe('tcp');
    expect(fp.goal).toMatchObject({ maxP50Ratio: 1.15, baseline: 'raw-tcp', p50Ratio: fp.vsBaseline!.p50Ratio, met: fp.vsBaseline!.p50Ratio <= 1.15 });
    const uds = byName['fastpath-uds']!;
    expect(uds.details!.path).toBe('uds');
    const udsRatio = uds.stats!.p50 / byName['raw-uds']!.stats!.p50;
    expect(uds.goal).toMatchObject({ maxP50Ratio: 1.15, baseline: 'raw-uds', met: udsRatio <= 1.15 });
    expect(uds.goal!.p50Ratio).toBeCloseTo(udsRatio, 10);
    const shmGoals = { 'fastpath-shm-inline': [0.1, 'raw-tcp'], 'fastpath-shm-worker': [1, 'raw-uds'], 'fastpath-shm-adaptive': [0.2, 'raw-tcp'] } as const;
    for (const [name, [max, against]] of Object.entries(shmGoals)) {
      const r = byName[name]!;
      if (r.status !== 'ok') continue;
      expect(r.details).toMatchObject({ path: 'shm', shmMode: name.slice('fastpath-shm-'.length) });
      expect(r.goal).toMatchObject({ maxP50Ratio: max, baseline: against, source: 'issue 3' });
      expect(stdout).toMatch(new RegExp(`^${name} / ${against} p50 ratio: \\d+\\.\\d{3} \\(goal <= ${max}, issue 3\\): (met|NOT met)$`, 'm'));
    }

    expect(stdout).toMatch(/^row\s+mean\s+p50\s+p99\s+p99\.9\s+max\s+stddev\s+rt\/s/m);
    expect(stdout).toMatch(/^raw-tcp\s+\d/m);
    expect(stdout).toMatch(/^fastpath-tcp\s+\d/m);
    expect(stdout).toMatch(/^fastpath-tcp \/ raw-tcp p50 ratio: \d+\.\d{3} \(goal <= 1\.15, issue 2\): (met|NOT met)$/m);
    expect(stdout).toMatch(/^fastpath-uds \/ raw-uds p50 ratio: \d+\.\d{3} \(goal <= 1\.15, issue 3\): (met|NOT met)$/m);
    expect(stdout).toContain(`node     ${process.version}`);

    // The chart: one CDF per measured row, the others listed with their status.
    const svg = readFileSync(svgFile, 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const r of report.rows) expect(svg).toContain(r.status === 'ok' ? `>${r.name}</text>` : `>${r.name}: ${r.status}</text>`);
    expect(svg.match(/<polyline /g)).toHaveLength(report.rows.filter((r) => r.status === 'ok').length);
    expect(stdout).toContain(`SVG chart written to ${svgFile}`);
  });

  it('payload sizes: one row per size, up to 1 MiB, compared with raw-tcp at the same size, drawn in the chart', async () => {
    const file = join(dir, 'sizes.json');
    const svgFile = join(dir, 'sizes.svg');
    const { stdout } = await bench(['--sections', 'sizes', '--rows', 'fastpath-shm-adaptive,grpc-tcp', '--sizes', '16,1m', '--n', '40', '--warmup', '5', '--json', file, '--svg', svgFile]);
    const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
    expect(report.settings.sizes).toMatchObject({ bytes: [16, 1048576], n: 40, warmup: 5 });
    expect(report.rows).toEqual([]);
    expect(report.sizes.map((r) => `${r.bytes} ${r.name}`)).toEqual(['16 raw-tcp', '16 fastpath-shm-adaptive', '16 grpc-tcp', '1048576 raw-tcp', '1048576 fastpath-shm-adaptive', '1048576 grpc-tcp']);
    for (const r of report.sizes) {
      if (r.name === 'fastpath-shm-adaptive') expectShmStatus(r);
      else expect(r.status, `${r.name} ${r.bytes}: ${r.reason ?? ''}`).toBe('ok');
      if (r.status !== 'ok') continue;
      expect(r.stats!.count).toBeGreaterThan(0);
      expect(r.stats!.count).toBeLessThanOrEqual(40);
      const base = report.sizes.find((b) => b.name === 'raw-tcp' && b.bytes === r.bytes)!.stats!;
      expect(r.vsBaseline!.p50Ratio).toBeCloseTo(r.stats!.p50 / base.p50, 10);
    }
    expect(stdout).toMatch(/^\s*size\s+row\s+n\s+mean\s+p50/m);
    expect(stdout).toMatch(/^1 MiB\s+grpc-tcp\s+\d/m);
    const svg = readFileSync(svgFile, 'utf8');
    expect(svg).toContain('Median round-trip time by payload size');
    for (const name of ['raw-tcp', 'grpc-tcp']) expect(svg).toContain(`>${name}</text>`);
  });

  it('pipeline and pub-sub: tiny bounded runs report rates per tier and fan-out', async () => {
    const file = join(dir, 'throughput.json');
    const args = ['--sections', 'pipeline,pubsub', '--rows', 'fastpath-tcp,fastpath-shm-worker', '--calls', '300', '--messages', '2000', '--max-ms', '300', '--json', file];
    const { stdout } = await bench(args);
    const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
    const rows = ['raw-tcp', 'fastpath-tcp', 'fastpath-shm-worker'];
    expect(report.settings).toMatchObject({ sections: ['pipeline', 'pubsub'], rows, pipeline: { calls: 300, maxMs: 300, inFlight: 256 }, pubsub: { messages: 2000, maxMs: 300, fanouts: [1, 4] } });
    expect(report.rows).toEqual([]);

    expect(report.pipeline.map((r) => r.name)).toEqual(rows);
    for (const r of report.pipeline) {
      if (r.name === 'fastpath-shm-worker') expectShmStatus(r);
      else expect(r.status, `${r.name}: ${r.reason ?? ''}`).toBe('ok');
      if (r.status !== 'ok') continue;
      const s = r.stats!;
      expect(s.inFlight).toBe(256);
      expect(s.calls).toBeGreaterThan(0);
      expect(s.calls).toBeLessThanOrEqual(300);
      expect(s.callsPerSec).toBeGreaterThan(0);
      expect(r.vsBaseline!.ratio).toBeCloseTo(s.callsPerSec / report.pipeline[0]!.stats!.callsPerSec, 10);
      if (r.name !== 'raw-tcp') expect(r.details!.path).toBe(r.name === 'fastpath-tcp' ? 'tcp' : 'shm');
    }

    expect(report.pubsub.map((r) => `${r.name} ${r.fanout}`)).toEqual(rows.flatMap((r) => [`${r} 1`, `${r} 4`]));
    for (const r of report.pubsub) {
      if (r.name === 'fastpath-shm-worker') expectShmStatus(r);
      else expect(r.status, `${r.name}: ${r.reason ?? ''}`).toBe('ok');
      if (r.status !== 'ok') continue;
      const s = r.stats!;
      expect(s.subscribers.map((x) => x.index)).toEqual(Array.from({ length: r.fanout }, (_, i) => i));
      expect(s.published).toBeGreaterThan(0);
      expect(s.published).toBeLessThanOrEqual(2000 + 2000);
      for (const sub of s.subscribers) {
        expect(sub.received).toBeLessThanOrEqual(s.published);
        expect(sub.measured).toBeLessThanOrEqual(sub.received);
        expect(sub.msgsPerSec).toBeGreaterThan(0);
        expect(sub.disorder).toBe(0);
      }
      expect(s.msgsPerSec).toBe(Math.min(...s.subscribers.map((x) => x.msgsPerSec)));
      expect(r.details!.path).toBe(r.name === 'raw-tcp' ? 'raw' : r.name === 'fastpath-tcp' ? 'tcp' : 'shm');
      expect(String(r.details!.subscriberPids).split(',')).toHaveLength(r.fanout);
      if (r.fanout === 1 && r.name !== 'raw-tcp') expect(r.goal).toMatchObject({ source: 'issue 4', minMsgsPerSec: r.name === 'fastpath-tcp' ? 1e6 : 3e6, met: s.msgsPerSec >= r.goal!.minMsgsPerSec });
      else expect(r.goal).toBeUndefined();
    }

    expect(stdout).toMatch(/^row\s+in flight\s+calls\s+ms\s+calls\/s\s+vs base/m);
    expect(stdout).toMatch(/^row\s+fan-out\s+published\s+msgs\/s\s+total\/s\s+dropped\s+vs base\s+all in$/m);
    expect(stdout).toMatch(/^fastpath-tcp\s+1->4\s+[\d,]+\s+[\d,]+/m);
    expect(stdout).toMatch(/^fastpath-tcp 1->1: [\d,]+ msgs\/s at the slowest subscriber \(goal >= 1,000,000, issue 4\): (met|NOT met)$/m);
  });

  it('refuses an unknown row or section before starting anything', async () => {
    const fail = (args: string[]) =>
      bench(args).then(
        () => undefined,
        (e: unknown) => e as { code: number; stderr: string },
      );
    const row = await fail(['--rows', 'nope']);
    expect(row?.code).toBe(2);
    expect(row?.stderr).toMatch(new RegExp(`unknown row nope \\(known: ${PING_PONG_ROWS.join(', ')}\\)`));
    const section = await fail(['--sections', 'latency']);
    expect(section?.code).toBe(2);
    expect(section?.stderr).toMatch(/unknown section latency \(known: pingpong, sizes, pipeline, pubsub, validation\)/);
  });
});
