import { describe, expect, it } from 'vitest';
import { ReplayCache } from './replay-cache.js';

describe('ReplayCache', () => {
  it('accepts a nonce once within the window, refuses it after, and refuses stale timestamps', () => {
    const c = new ReplayCache(60_000, 100);
    const now = 1_000_000_000;
    expect(c.check('a', now, now)).toBe('fresh');
    expect(c.check('a', now, now + 1000)).toBe('replayed');
    expect(c.check('b', now - 60_001, now)).toBe('stale');
    expect(c.check('c', now + 60_001, now)).toBe('stale');
    expect(c.check('d', now + 59_000, now)).toBe('fresh');
  });

  it('forgets entries whose timestamps are stale anyway', () => {
    const c = new ReplayCache(1000, 100);
    expect(c.check('a', 0, 0)).toBe('fresh');
    expect(c.check('b', 10, 10)).toBe('fresh');
    expect(c.size).toBe(2);
    expect(c.check('c', 1500, 1500)).toBe('fresh');
    expect(c.size).toBe(1);
    // 'a' was forgotten, but its timestamp is outside the window: still refused.
    expect(c.check('a', 0, 1500)).toBe('stale');
  });

  it('stays bounded when full, and never lets an evicted nonce be replayed', () => {
    const c = new ReplayCache(60_000, 3);
    const now = 5_000_000;
    for (let i = 0; i < 3; i++) expect(c.check(`n${i}`, now + i, now + 10)).toBe('fresh');
    expect(c.check('n3', now + 3, now + 10)).toBe('fresh'); // evicts n0 (ts now)
    expect(c.size).toBe(3);
    expect(c.check('n0', now, now + 10)).toBe('stale'); // at or before the evicted timestamp
    expect(c.check('n4', now + 4, now + 10)).toBe('fresh');
    for (let i = 5; i < 1000; i++) c.check(`n${i}`, now + i, now + 10);
    expect(c.size).toBe(3);
    for (let i = 0; i < 997; i++) expect(c.check(`n${i}`, now + i, now + 10)).not.toBe('fresh');
  });
});
