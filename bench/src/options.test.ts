import { describe, expect, it } from 'vitest';
import { DEFAULTS, formatBytesShort, parseOptions, parseSizes, SECTIONS, UsageError } from './options.js';

const KNOWN = ['raw-tcp', 'raw-tcp6', 'raw-uds', 'fastpath-tcp', 'fastpath-uds'];
const COMPANIONS = { 'fastpath-uds': ['raw-uds'] };
const parse = (...argv: string[]) => parseOptions(argv, KNOWN, 'raw-tcp', COMPANIONS);

describe('parseOptions', () => {
  it('defaults to every section, every row, the full N and a 64-byte payload', () => {
    const { settings, help, notes } = parse();
    expect(settings).toEqual({
      n: DEFAULTS.n,
      warmup: DEFAULTS.warmup,
      payloadBytes: 64,
      quick: false,
      rows: KNOWN,
      json: undefined,
      svg: undefined,
      sections: ['pingpong', 'sizes', 'pipeline', 'pubsub', 'validation'],
      sizes: { bytes: [16, 256, 4096, 65536, 1048576], n: DEFAULTS.n, warmup: DEFAULTS.warmup, maxMs: DEFAULTS.sizesMaxMs },
      pipeline: { inFlight: DEFAULTS.inFlight, warmup: DEFAULTS.callsWarmup, calls: DEFAULTS.calls, maxMs: DEFAULTS.maxMs },
      pubsub: { fanouts: [1, 4], warmup: DEFAULTS.messagesWarmup, messages: DEFAULTS.messages, maxMs: DEFAULTS.maxMs, window: DEFAULTS.window },
      validation: { cost: { reps: DEFAULTS.validationReps, maxMs: DEFAULTS.maxMs }, rtt: { rounds: DEFAULTS.validationRounds, message: 'small' } },
    });
    expect(help).toBe(false);
    expect(notes).toEqual([]);
  });

  it('--quick lowers N, warm-up and the throughput bounds; explicit options override', () => {
    expect(parse('--quick').settings).toMatchObject({
      n: DEFAULTS.quickN,
      warmup: DEFAULTS.quickWarmup,
      quick: true,
      pipeline: { calls: DEFAULTS.quickCalls, warmup: DEFAULTS.quickCallsWarmup, maxMs: DEFAULTS.quickMaxMs },
      pubsub: { messages: DEFAULTS.quickMessages, warmup: DEFAULTS.quickMessagesWarmup, maxMs: DEFAULTS.quickMaxMs },
      sizes: { n: DEFAULTS.quickN, warmup: DEFAULTS.quickWarmup, maxMs: DEFAULTS.quickSizesMaxMs },
      sections: ['pingpong', 'sizes', 'pipeline', 'pubsub', 'validation'],
      validation: { cost: { reps: DEFAULTS.quickValidationReps, maxMs: DEFAULTS.quickMaxMs }, rtt: { rounds: DEFAULTS.quickValidationRounds } },
    });
    expect(parse('--quick', '--n', '300').settings).toMatchObject({ n: 300, warmup: DEFAULTS.quickWarmup });
    expect(parse('--n=1_000', '--warmup', '0').settings).toMatchObject({ n: 1000, warmup: 0 });
  });

  it('takes the throughput options; a warm-up never exceeds the measured count', () => {
    const { settings } = parse('--in-flight', '32', '--calls', '500', '--messages', '300', '--max-ms', '200');
    expect(settings.pipeline).toEqual({ inFlight: 32, warmup: 500, calls: 500, maxMs: 200 });
    expect(settings.pubsub).toMatchObject({ warmup: 300, messages: 300, maxMs: 200 });
    // An explicit --max-ms bounds each payload size too.
    expect(settings.sizes.maxMs).toBe(200);
  });

  it('--sizes takes bytes with k and m suffixes, sorted and without duplicates', () => {
    expect(parse('--sizes', '1m,16,4k,16,64K').settings.sizes.bytes).toEqual([16, 4096, 65536, 1048576]);
    expect(() => parseSizes('11')).toThrow(/outside 12 bytes/);
    expect(() => parseSizes('16m')).toThrow(/outside/);
    expect(() => parseSizes('4kb')).toThrow(/sizes like 16, 4k or 1m/);
    expect(DEFAULTS.sizes.map(formatBytesShort)).toEqual(['16', '256', '4k', '64k', '1m']);
  });

  it('--rows keeps table order and always adds the baseline, saying so', () => {
    const { settings, notes } = parse('--rows', 'fastpath-tcp, raw-tcp6');
    expect(settings.rows).toEqual(['raw-tcp', 'raw-tcp6', 'fastpath-tcp']);
    expect(notes.join()).toMatch(/baseline row raw-tcp always runs/);
    const only = parse('--rows', 'raw-tcp');
    expect(only.settings.rows).toEqual(['raw-tcp']);
    expect(only.notes).toEqual([]);
  });

  it('--rows adds the reference row of a goal, saying so', () => {
    const { settings, notes } = parse('--rows', 'fastpath-uds');
    expect(settings.rows).toEqual(['raw-tcp', 'raw-uds', 'fastpath-uds']);
    expect(notes.join()).toMatch(/row raw-uds also runs: the goal of fastpath-uds is a ratio against it/);
    // Without ping-pong there are no goals to judge against it.
    expect(parse('--rows', 'fastpath-uds', '--sections', 'pipeline').settings.rows).toEqual(['raw-tcp', 'fastpath-uds']);
  });

  it('--sections keeps section order', () => {
    expect(parse('--sections', 'pubsub,pingpong').settings.sections).toEqual(['pingpong', 'pubsub']);
    expect(parse('--sections', 'pipeline').settings.sections).toEqual(['pipeline']);
    expect(SECTIONS).toEqual(['pingpong', 'sizes', 'pipeline', 'pubsub', 'validation']);
  });

  it('takes --json, --svg and --help', () => {
    expect(parse('--json', 'out.json').settings.json).toBe('out.json');
    expect(parse('--svg', 'out.svg').settings).toMatchObject({ svg: 'out.svg', json: undefined });
    expect(parse('--help').help).toBe(true);
    expect(parse('-h').help).toBe(true);
  });

  it('--json and --svg without a file name write the default names (npm run bench -- --quick --json --svg)', () => {
    expect(parse('--quick', '--json', '--svg').settings).toMatchObject({ json: 'bench-results.json', svg: 'bench-results.svg', quick: true });
    expect(parse('--svg', '--json', 'r.json').settings).toMatchObject({ json: 'r.json', svg: 'bench-results.svg' });
  });

  it('rejects bad input with a UsageError', () => {
    for (const argv of [
      ['--n', '0'],
      ['--n', 'ten'],
      ['--n', '-5'],
      ['--warmup', '1.5'],
      ['--rows', 'nope'],
      ['--rows', ','],
      ['--bogus'],
      ['extra'],
      ['--json', ''],
      ['--svg', ''],
      ['--sizes', 'big'],
      ['--sections', 'latency'],
      ['--sections', ''],
      ['--in-flight', '0'],
      ['--calls', '0'],
      ['--messages', 'many'],
      ['--max-ms', '0'],
    ]) {
      expect(() => parse(...argv), argv.join(' ')).toThrow(UsageError);
    }
    expect(() => parse('--rows', 'raw-tcp,nope')).toThrow(/unknown row nope \(known: raw-tcp, raw-tcp6, raw-uds, fastpath-tcp, fastpath-uds\)/);
    expect(() => parse('--sections', 'pubsub,latency')).toThrow(/unknown section latency \(known: pingpong, sizes, pipeline, pubsub, validation\)/);
  });
});
