import { describe, expect, it } from 'vitest';
import { budgetMs, fromBudget, isExpired, MAX_TIMER_MS, now, onDeadline, timerDelay, toDeadline } from './deadline.js';

describe('deadline', () => {
  it('treats a number as a relative budget and a Date as an instant', () => {
    const t = 1_000_000;
    expect(toDeadline(50, t)).toBe(t + 50);
    expect(toDeadline(-5, t)).toBe(t);
    expect(toDeadline(undefined, t)).toBeUndefined();
    expect(toDeadline(Infinity, t)).toBeUndefined();
    const d = toDeadline(new Date(Date.now() + 1000))!;
    expect(Math.abs(d - (now() + 1000))).toBeLessThan(50);
    expect(() => toDeadline(new Date(Number.NaN))).toThrow(TypeError);
    expect(() => toDeadline(Number.NaN)).toThrow(TypeError);
  });

  it('sends the budget rounded up and never negative', () => {
    expect(budgetMs(100.2, 100)).toBe(1);
    expect(budgetMs(150, 100)).toBe(50);
    expect(budgetMs(90, 100)).toBe(0);
    expect(budgetMs(undefined, 100)).toBeUndefined();
    expect(fromBudget(25, 1000)).toBe(1025);
    expect(fromBudget(undefined, 1000)).toBeUndefined();
  });

  it('compares and clamps', () => {
    expect(isExpired(10, 10)).toBe(true);
    expect(isExpired(11, 10)).toBe(false);
    expect(isExpired(undefined, 10)).toBe(false);
    expect(timerDelay(1e15, 0)).toBe(MAX_TIMER_MS);
    expect(timerDelay(5, 10)).toBe(0);
  });

  it('fires onDeadline once the instant passes, and can be cancelled', async () => {
    const fired: number[] = [];
    onDeadline(now() + 20, () => fired.push(now()));
    const cancel = onDeadline(now() + 20, () => fired.push(-1));
    cancel();
    onDeadline(now() - 5, () => fired.push(0));
    expect(fired).toEqual([0]);
    await new Promise((r) => setTimeout(r, 60));
    expect(fired).toHaveLength(2);
    expect(fired).not.toContain(-1);
  });
});
