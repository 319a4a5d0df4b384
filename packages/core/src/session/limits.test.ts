import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, limitError, resolveLimits } from './limits.js';

describe('server limits', () => {
  it('fills defaults, takes the top-level maxConcurrentCalls, and lets limits override it', () => {
    expect(resolveLimits(undefined, undefined)).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({}, 7).maxConcurrentCalls).toBe(7);
    expect(resolveLimits({ maxConcurrentCalls: 9 }, 7).maxConcurrentCalls).toBe(9);
    expect(resolveLimits({ maxConnections: Infinity }, undefined).maxConnections).toBe(Infinity);
  });

  it('refuses unknown names and values below 1', () => {
    expect(() => resolveLimits({ maxConections: 5 } as never, undefined)).toThrow(/unknown limit "maxConections"/);
    expect(() => resolveLimits({ maxStreams: 0 }, undefined)).toThrow(RangeError);
    expect(() => resolveLimits({ maxPendingBytes: Number.NaN }, undefined)).toThrow(RangeError);
    expect(() => resolveLimits({}, 0)).toThrow(RangeError);
  });

  it('answers RESOURCE_EXHAUSTED with the reason and the limit', () => {
    expect(limitError('max-streams', 'too many', 3)).toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: 'too many', details: { reason: 'max-streams', limit: 3 } });
  });
});
