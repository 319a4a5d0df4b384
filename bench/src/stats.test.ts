import { describe, expect, it } from 'vitest';
import { compare, mean, percentile, perSecond, reduction, stddev, summarize, type Summary } from './stats.js';

const oneToHundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);

describe('percentile (nearest rank)', () => {
  it('picks observed samples of 1..100', () => {
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 99)).toBe(99);
    expect(percentile(oneToHundred, 99.9)).toBe(100);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile(oneToHundred, 0)).toBe(1);
    expect(percentile(oneToHundred, 1)).toBe(1);
    expect(percentile(oneToHundred, 1.5)).toBe(2);
  });

  it('does not round an exact rank up (99.9 % of 1000 is the 999th sample)', () => {
    const a = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(a, 99.9)).toBe(999);
    expect(percentile(a, 99)).toBe(990);
    expect(percentile(a, 50)).toBe(500);
    const b = Float64Array.from({ length: 20_000 }, (_, i) => i);
    expect(percentile(b, 99.9)).toBe(19_979);
  });

  it('handles tiny sets', () => {
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2], 51)).toBe(2);
  });

  it('rejects empty sets and out-of-range p', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], 100.1)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('mean and stddev', () => {
  it('computes the population standard deviation', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(xs)).toBe(5);
    expect(stddev(xs)).toBe(2);
  });

  it('is zero for constant samples and stays precise with a large offset', () => {
    expect(stddev([3, 3, 3])).toBe(0);
    const shifted = [2, 4, 4, 4, 5, 5, 7, 9].map((x) => x + 1e9);
    expect(stddev(shifted)).toBeCloseTo(2, 6);
  });

  it('rejects empty sets', () => {
    expect(() => mean([])).toThrow(RangeError);
    expect(() => stddev([])).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('summarizes unsorted samples without changing them', () => {
    const input = Float64Array.from([5, 1, 4, 2, 3]);
    const s = summarize(input);
    expect(s).toEqual({ count: 5, min: 1, mean: 3, p50: 3, p99: 5, p999: 5, max: 5, stddev: Math.sqrt(2) });
    expect([...input]).toEqual([5, 1, 4, 2, 3]);
  });

  it('sorts numerically, not as strings', () => {
    const s = summarize([100, 9, 20]);
    expect(s.min).toBe(9);
    expect(s.p50).toBe(20);
    expect(s.max).toBe(100);
  });

  it('rejects empty and non-finite sets', () => {
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => summarize([1, Number.NaN])).toThrow(RangeError);
    expect(() => summarize([1, Infinity])).toThrow(RangeError);
  });
});

describe('comparison with the baseline', () => {
  const stats = (p50: number, sd: number): Summary => ({ count: 1, min: p50, mean: p50, p50, p99: p50, p999: p50, max: p50, stddev: sd });

  it('reduction is (base - value) / base: positive when better, negative when worse', () => {
    expect(reduction(100, 75)).toBe(0.25);
    expect(reduction(100, 125)).toBe(-0.25);
    expect(reduction(100, 100)).toBe(0);
    expect(reduction(0, 5)).toBeNaN();
  });

  it('compares p50 for latency and stddev for jitter', () => {
    const c = compare(stats(20, 4), stats(15, 5));
    expect(c.latencyReduction).toBe(0.25);
    expect(c.jitterReduction).toBe(-0.25);
    expect(c.p50Ratio).toBe(0.75);
  });

  it('a row compared with itself is 0 % and 1x', () => {
    const s = stats(42, 3);
    expect(compare(s, s)).toEqual({ latencyReduction: 0, jitterReduction: 0, p50Ratio: 1 });
  });
});

describe('perSecond', () => {
  it('turns a count over nanoseconds into a rate', () => {
    expect(perSecond(20_000, 1e9)).toBe(20_000);
    expect(perSecond(500, 250e6)).toBe(2000);
    expect(() => perSecond(1, 0)).toThrow(RangeError);
  });
});
