import { describe, expect, it } from 'vitest';
import { CallStats } from './call-stats.js';

describe('CallStats', () => {
  it('counts outcomes by code and summarises latency from the histogram', () => {
    const s = new CallStats(true);
    const t = s.begin();
    s.end(t);
    s.end(s.begin(), 'UNAVAILABLE');
    s.end(s.begin(), 'UNAVAILABLE');
    s.end(s.begin(), 'DEADLINE_EXCEEDED');
    const snap = s.snapshot();
    expect(snap.calls).toEqual({ started: 4, ok: 1, failed: 3, errors: { UNAVAILABLE: 2, DEADLINE_EXCEEDED: 1 } });
    expect(snap.latencyUs?.count).toBe(4);
    expect(snap.latencyUs!.max).toBeGreaterThanOrEqual(snap.latencyUs!.p50);
  });

  it('records known latencies into the right percentiles', () => {
    const s = new CallStats(true);
    const realNow = performance.now.bind(performance);
    let fake = 1000;
    performance.now = () => fake;
    try {
      for (let i = 1; i <= 100; i++) {
        const start = s.begin();
        fake += i / 1000; // i microseconds
        s.end(start);
      }
    } finally {
      performance.now = realNow;
    }
    const l = s.latency()!;
    expect(l.count).toBe(100);
    expect(l.p50).toBeGreaterThanOrEqual(49);
    expect(l.p50).toBeLessThanOrEqual(51);
    expect(l.max).toBeGreaterThanOrEqual(99);
    expect(l.max).toBeLessThanOrEqual(101);
    expect(l.mean).toBeCloseTo(50.5, 0);
  });

  it('keeps only counters when latency is off', () => {
    const s = new CallStats(false);
    expect(s.begin()).toBe(0);
    s.end(0);
    expect(s.snapshot()).toEqual({ calls: { started: 1, ok: 1, failed: 0, errors: {} }, latencyUs: undefined });
  });

  it('snapshots are copies', () => {
    const s = new CallStats(false);
    const a = s.snapshot();
    s.end(s.begin(), 'INTERNAL');
    expect(a.calls.failed).toBe(0);
  });
});
