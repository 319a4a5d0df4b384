import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseOptions, UsageError } from './options.js';

const KNOWN = ['raw-tcp', 'raw-tcp6', 'fastpath-tcp'];
const parse = (...argv: string[]) => parseOptions(argv, KNOWN, 'raw-tcp');

describe('parseOptions', () => {
  it('defaults to every row, the full N and a 64-byte payload', () => {
    const { settings, help, notes } = parse();
    expect(settings).toEqual({ n: DEFAULTS.n, warmup: DEFAULTS.warmup, payloadBytes: 64, quick: false, rows: KNOWN, json: undefined });
    expect(help).toBe(false);
    expect(notes).toEqual([]);
  });

  it('--quick lowers N and warm-up; --n and --warmup override', () => {
    expect(parse('--quick').settings).toMatchObject({ n: DEFAULTS.quickN, warmup: DEFAULTS.quickWarmup, quick: true });
    expect(parse('--quick', '--n', '300').settings).toMatchObject({ n: 300, warmup: DEFAULTS.quickWarmup });
    expect(parse('--n=1_000', '--warmup', '0').settings).toMatchObject({ n: 1000, warmup: 0 });
  });

  it('--rows keeps table order and always adds the baseline, saying so', () => {
    const { settings, notes } = parse('--rows', 'fastpath-tcp, raw-tcp6');
    expect(settings.rows).toEqual(['raw-tcp', 'raw-tcp6', 'fastpath-tcp']);
    expect(notes.join()).toMatch(/baseline row raw-tcp always runs/);
    const only = parse('--rows', 'raw-tcp');
    expect(only.settings.rows).toEqual(['raw-tcp']);
    expect(only.notes).toEqual([]);
  });

  it('takes --json and --help', () => {
    expect(parse('--json', 'out.json').settings.json).toBe('out.json');
    expect(parse('--help').help).toBe(true);
    expect(parse('-h').help).toBe(true);
  });

  it('rejects bad input with a UsageError', () => {
    for (const argv of [['--n', '0'], ['--n', 'ten'], ['--n', '-5'], ['--warmup', '1.5'], ['--rows', 'nope'], ['--rows', ','], ['--bogus'], ['extra'], ['--json', '']]) {
      expect(() => parse(...argv), argv.join(' ')).toThrow(UsageError);
    }
    expect(() => parse('--rows', 'raw-tcp,nope')).toThrow(/unknown row nope \(known: raw-tcp, raw-tcp6, fastpath-tcp\)/);
  });
});
