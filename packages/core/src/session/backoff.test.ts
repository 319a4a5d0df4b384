import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('grows exponentially from the initial delay and stops at the maximum', () => {
    const mid = (): number => 0.5; // no jitter
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, { initialDelayMs: 100, maxDelayMs: 2000 }, mid))).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
    expect(backoffDelay(3, { initialDelayMs: 10, multiplier: 3 }, mid)).toBe(90);
  });

  it('spreads each delay by at most the jitter fraction, both ways', () => {
    expect(backoffDelay(1, { initialDelayMs: 1000, jitter: 0.2 }, () => 0)).toBe(800);
    expect(backoffDelay(1, { initialDelayMs: 1000, jitter: 0.2 }, () => 0.999999)).toBe(1200);
    expect(backoffDelay(1, { initialDelayMs: 1000, jitter: 0 }, () => 0)).toBe(1000);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(4, { initialDelayMs: 50 });
      expect(d).toBeGreaterThanOrEqual(320);
      expect(d).toBeLessThanOrEqual(480);
    }
  });
});
