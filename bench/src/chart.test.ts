import { describe, expect, it } from 'vitest';
import { cdfPoints, escapeXml, formatLatency, latencyChart, styleOf, type ChartInput } from './chart.js';

/** Deterministic samples: a body around `base` µs and a thin tail up to 20x. */
function samples(base: number, n = 2000): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = base * (1 + ((i * 7919) % 97) / 200) * (i % 500 === 0 ? 20 : 1);
  return out;
}

const input = (over: Partial<ChartInput> = {}): ChartInput => ({
  title: 'fastpath bench',
  subtitle: 'test machine & <node>',
  rows: [
    { name: 'raw-tcp', samplesUs: samples(80), p50: 85, p99: 120 },
    { name: 'fastpath-shm-inline', samplesUs: samples(3.3), p50: 3.5, p99: 8 },
    { name: 'grpc-tcp', samplesUs: samples(500), p50: 520, p99: 900 },
  ],
  sizes: [
    { name: 'raw-tcp', points: [16, 1024, 1048576].map((bytes) => ({ bytes, p50: 80 + bytes / 1000 })) },
    { name: 'fastpath-tcp', points: [16, 1024, 1048576].map((bytes) => ({ bytes, p50: 90 + bytes / 800 })) },
  ],
  ...over,
});

describe('latency chart (SVG)', () => {
  it('draws one CDF per ping-pong row and one line per payload-size series, with a legend naming every row', () => {
    const svg = latencyChart(input({ notRun: [{ name: 'fastpath-shm-worker', status: 'skipped' }] }));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(3 + 2);
    for (const name of ['raw-tcp', 'fastpath-shm-inline', 'grpc-tcp', 'fastpath-tcp']) expect(svg).toContain(`>${name}</text>`);
    expect(svg).toContain('>fastpath-shm-worker: skipped</text>');
    // Axis labels, percentile ticks, log ticks, payload ticks.
    for (const label of ['round-trip time (log scale)', 'round trips at or below (percentile scale)', '>50%<', '>99%<', '>99.9%<', '>1 µs<', '>100 µs<', '>1 ms<', '>1 MiB<', 'payload size (log scale)']) expect(svg).toContain(label);
    // Text is escaped: the only ampersands start entities.
    expect(svg).toContain('test machine &amp; &lt;node&gt;');
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
    // Raw rows dashed, gRPC dotted, fastpath solid.
    expect(svg).toMatch(/stroke="#000000" stroke-width="2\.5" stroke-dasharray="7 4"/);
    expect(styleOf('grpc-uds', 0).dash).toBe('2 3');
    expect(styleOf('fastpath-uds', 0).dash).toBeUndefined();
  });

  it('leaves out the payload panel when the section did not run, and says so when no row was measured', () => {
    expect(latencyChart(input({ sizes: [] }))).not.toContain('payload size');
    const empty = latencyChart(input({ rows: [], sizes: [], notRun: [{ name: 'raw-tcp', status: 'failed' }] }));
    expect(empty).toContain('No ping-pong row was measured.');
    expect(empty).toContain('>raw-tcp: failed</text>');
  });

  it('cdfPoints: ascending RTTs and percentiles, ending at the max, a few hundred points at most', () => {
    const pts = cdfPoints(samples(10, 20_000));
    expect(pts.length).toBeLessThanOrEqual(402);
    expect(pts.length).toBeGreaterThan(50);
    for (let i = 1; i < pts.length; i++) {
      expect(pts[i]![0]).toBeGreaterThanOrEqual(pts[i - 1]![0]);
      expect(pts[i]![1]).toBeGreaterThan(pts[i - 1]![1]);
    }
    expect(pts[0]).toEqual([Math.min(...samples(10, 20_000)), 0]);
    expect(pts.at(-1)![0]).toBe(Math.max(...samples(10, 20_000)));
    expect(pts.at(-1)![1]).toBeCloseTo(Math.log10(20_000), 10);
    expect(cdfPoints([])).toEqual([]);
  });

  it('formats latencies and escapes XML', () => {
    expect([0.8, 3.26, 85.4, 1234, 25_000].map(formatLatency)).toEqual(['800 ns', '3.3 µs', '85 µs', '1.2 ms', '25 ms']);
    expect(escapeXml('a<b>&"c"')).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
  });
});
