import { describe, expect, it } from 'vitest';
import { FastpathError } from '../protocol/errors.js';
import { checkPublishSubject, checkSubscribeSubject, subjectMatches } from '../protocol/subject.js';
import { SubjectIndex } from './subject-index.js';

// pattern, subject, matches?
const table: Array<[string, string, boolean]> = [
  ['a.b.c', 'a.b.c', true],
  ['a.b.c', 'a.b', false],
  ['a.b', 'a.b.c', false],
  ['a.*.c', 'a.b.c', true],
  ['a.*.c', 'a.b.d', false],
  ['a.*', 'a.b.c', false],
  ['*', 'a', true],
  ['*', 'a.b', false],
  ['*.*', 'a.b', true],
  ['a.>', 'a.b', true],
  ['a.>', 'a.b.c.d', true],
  ['a.>', 'a', false],
  ['>', 'a', true],
  ['>', 'a.b.c', true],
  ['*.b.>', 'a.b.c', true],
  ['*.b.>', 'a.b', false],
  ['*.b.>', 'a.x.c', false],
  ['orders.eu.*', 'orders.eu.created', true],
  ['orders.eu.*', 'orders.us.created', false],
];

describe('subjects', () => {
  it.each(table)('%s vs %s -> %s (matcher and index agree)', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
    const idx = new SubjectIndex<string>();
    idx.add(pattern, 'x');
    expect(idx.match(subject)).toEqual(expected ? ['x'] : []);
  });

  it.each(['', 'a..b', '.a', 'a.', 'a b', 'a.>.b', 'a.b>', 'a*', 'x'.repeat(2000)])('rejects subscription subject %j', (s) => {
    expect(() => checkSubscribeSubject(s)).toThrow(FastpathError);
  });

  it.each(['a.*', 'a.>', '>', '*'])('rejects wildcard %j in a publish subject with INVALID_ARGUMENT', (s) => {
    try {
      checkPublishSubject(s);
      expect.unreachable();
    } catch (e) {
      expect((e as FastpathError).code).toBe('INVALID_ARGUMENT');
    }
    expect(checkSubscribeSubject(s).length).toBeGreaterThan(0);
  });

  it('indexes many patterns, removes them, and prunes', () => {
    const idx = new SubjectIndex<number>();
    const patterns = ['a.b', 'a.*', 'a.>', '>', '*.b', 'a.b.c', 'x.y'];
    patterns.forEach((p, i) => idx.add(p, i));
    expect(idx.match('a.b').sort()).toEqual([0, 1, 2, 3, 4]);
    expect(idx.match('a.b.c').sort()).toEqual([2, 3, 5]);
    expect(idx.size).toBe(7);
    patterns.forEach((p, i) => idx.remove(p, i));
    expect(idx.size).toBe(0);
    expect(idx.match('a.b')).toEqual([]);
    // The same item under two patterns is returned once.
    idx.add('a.*', 9);
    idx.add('a.>', 9);
    expect(idx.match('a.z')).toEqual([9]);
  });
});
