import { describe, expect, it } from 'vitest';
import type { PipelineRowResult } from './pipeline-section.js';
import type { PubSubRowResult, PubSubStats } from './pubsub.js';
import { pubsubGoal } from './pubsub.js';
import { formatRate, pipelineTable, pubsubGoalLines, pubsubTable } from './throughput-table.js';

describe('throughput tables', () => {
  it('formats rates', () => {
    expect(formatRate(1234567.8)).toBe('1,234,568');
    expect(formatRate(Number.NaN)).toBe('n/a');
  });

  it('lists pipelined rows with calls/s and the ratio to the baseline', () => {
    const rows: PipelineRowResult[] = [
      { name: 'raw-tcp', description: '', status: 'ok', stats: { inFlight: 256, calls: 1000, elapsedMs: 10, callsPerSec: 100_000, timeBound: false }, vsBaseline: { ratio: 1 } },
      { name: 'fastpath-tcp', description: '', status: 'ok', stats: { inFlight: 256, calls: 900, elapsedMs: 20, callsPerSec: 45_000, timeBound: true }, vsBaseline: { ratio: 0.45 } },
      { name: 'fastpath-shm-inline', description: '', status: 'skipped', reason: 'native addon unavailable: disabled by FASTPATH_NATIVE=0' },
    ];
    const lines = pipelineTable(rows).split('\n');
    expect(lines[0]).toMatch(/^row\s+in flight\s+calls\s+ms\s+calls\/s\s+vs base\s+ended by$/);
    expect(lines[2]).toMatch(/^raw-tcp\s+256\s+1,000\s+10\s+100,000\s+1\.00x\s+count$/);
    expect(lines[3]).toMatch(/^fastpath-tcp\s+256\s+900\s+20\s+45,000\s+0\.45x\s+time$/);
    expect(lines[4]).toBe('fastpath-shm-inline: skipped: native addon unavailable: disabled by FASTPATH_NATIVE=0');
  });

  it('lists pub-sub rows per fan-out, and prints goal lines', () => {
    const stats = (rate: number, n: number): PubSubStats => ({
      published: 1000,
      msgsPerSec: rate,
      totalMsgsPerSec: rate * n,
      complete: true,
      timeBound: false,
      subscribers: Array.from({ length: n }, (_, index) => ({ index, received: 1000, measured: 900, msgsPerSec: rate, dropped: index, disorder: 0 })),
    });
    const rows: PubSubRowResult[] = [
      { name: 'raw-tcp', fanout: 1, description: '', status: 'ok', stats: stats(300_000, 1), vsBaseline: { ratio: 1 } },
      { name: 'fastpath-tcp', fanout: 1, description: '', status: 'ok', stats: stats(1_200_000, 1), vsBaseline: { ratio: 4 }, goal: { minMsgsPerSec: 1e6, source: 'issue 4', met: true } },
      { name: 'fastpath-tcp', fanout: 4, description: '', status: 'ok', stats: { ...stats(200_000, 4), complete: false } },
      { name: 'fastpath-shm-worker', fanout: 1, description: '', status: 'failed', reason: 'boom' },
    ];
    const lines = pubsubTable(rows).split('\n');
    expect(lines[0]).toMatch(/^row\s+fan-out\s+published\s+msgs\/s\s+total\/s\s+dropped\s+vs base\s+all in$/);
    expect(lines[3]).toMatch(/^fastpath-tcp\s+1->1\s+1,000\s+1,200,000\s+1,200,000\s+0\s+4\.00x\s+yes$/);
    expect(lines[4]).toMatch(/^fastpath-tcp\s+1->4\s+1,000\s+200,000\s+800,000\s+6\s+n\/a\s+NO$/);
    expect(lines[5]).toBe('fastpath-shm-worker 1->1: failed: boom');
    expect(pubsubGoalLines(rows)).toEqual(['fastpath-tcp 1->1: 1,200,000 msgs/s at the slowest subscriber (goal >= 1,000,000, issue 4): met']);
  });

  it('attaches the issue 4 goals to 1->1 over tcp and over each shm mode', () => {
    expect(pubsubGoal('fastpath-tcp', 1)).toEqual({ minMsgsPerSec: 1_000_000, source: 'issue 4' });
    expect(pubsubGoal('fastpath-shm-adaptive', 1)).toEqual({ minMsgsPerSec: 3_000_000, source: 'issue 4' });
    expect(pubsubGoal('fastpath-tcp', 4)).toBeUndefined();
    expect(pubsubGoal('fastpath-uds', 1)).toBeUndefined();
    expect(pubsubGoal('raw-tcp', 1)).toBeUndefined();
  });
});
