import { describe, expect, it } from 'vitest';
import type { RowResult } from './run-rows.js';
import { formatMicros, formatPercent, formatRatio, goalLines, renderTable, resultsTable } from './table.js';

describe('formatting', () => {
  it('formats percentages with a sign, as the reduction columns need', () => {
    expect(formatPercent(0.123)).toBe('+12.3%');
    expect(formatPercent(-0.05)).toBe('-5.0%');
    expect(formatPercent(0)).toBe('0.0%');
    expect(formatPercent(-0.00001)).toBe('0.0%');
    expect(formatPercent(Number.NaN)).toBe('n/a');
  });

  it('formats µs and ratios', () => {
    expect(formatMicros(12.345)).toBe('12.3');
    expect(formatMicros(1234.6)).toBe('1,235');
    expect(formatRatio(1.149)).toBe('1.15x');
    expect(formatRatio(Infinity)).toBe('n/a');
  });
});

describe('renderTable', () => {
  it('pads columns to the widest cell and aligns them', () => {
    const t = renderTable(
      [
        { header: 'row', align: 'left' },
        { header: 'p50', align: 'right' },
      ],
      [
        ['a', '1.0'],
        ['longer', '100.0'],
      ],
    );
    expect(t.split('\n')).toEqual(['row       p50', '------  -----', 'a         1.0', 'longer  100.0']);
  });
});

describe('resultsTable and goalLines', () => {
  const stats = { count: 10, min: 1, mean: 2, p50: 2, p99: 3, p999: 4, max: 5, stddev: 1, roundTripsPerSec: 50_000, elapsedMs: 0.2 };
  const results: RowResult[] = [
    { name: 'raw-tcp', description: '', status: 'ok', stats, vsBaseline: { latencyReduction: 0, jitterReduction: 0, p50Ratio: 1 } },
    { name: 'raw-tcp6', description: '', status: 'skipped', reason: 'IPv6 loopback [::1] is unavailable here (EADDRNOTAVAIL)' },
    {
      name: 'fastpath-tcp',
      description: '',
      status: 'ok',
      stats: { ...stats, p50: 2.4 },
      vsBaseline: { latencyReduction: -0.2, jitterReduction: 0.1, p50Ratio: 1.2 },
      goal: { maxP50Ratio: 1.15, source: 'issue 2', baseline: 'raw-tcp', p50Ratio: 1.2, met: false },
    },
  ];

  it('lists measured rows in the table and the others underneath', () => {
    const lines = resultsTable(results).split('\n');
    expect(lines[0]).toMatch(/^row\s+mean\s+p50\s+p99\s+p99\.9\s+max\s+stddev\s+rt\/s\s+lat\.red\s+jit\.red\s+p50\/base$/);
    expect(lines[2]).toMatch(/^raw-tcp\s+2\.0\s+2\.0\s+3\.0\s+4\.0\s+5\.0\s+1\.0\s+50,000\s+0\.0%\s+0\.0%\s+1\.00x$/);
    expect(lines[3]).toMatch(/^fastpath-tcp\s.*\s-20\.0%\s+\+10\.0%\s+1\.20x$/);
    expect(lines[4]).toBe('raw-tcp6: skipped: IPv6 loopback [::1] is unavailable here (EADDRNOTAVAIL)');
  });

  it('prints the goal ratio on its own line', () => {
    expect(goalLines(results)).toEqual(['fastpath-tcp / raw-tcp p50 ratio: 1.200 (goal <= 1.15, issue 2): NOT met']);
  });

  it('says when a goal could not be judged because its reference row did not run', () => {
    const unjudged: RowResult = {
      name: 'fastpath-shm-worker',
      description: '',
      status: 'ok',
      stats,
      goal: { maxP50Ratio: 1, source: 'issue 3', baseline: 'raw-uds', p50Ratio: Number.NaN, met: null },
    };
    expect(goalLines([unjudged])).toEqual(['fastpath-shm-worker / raw-uds p50 ratio: n/a (goal <= 1, issue 3): not judged (raw-uds did not run)']);
  });
});
