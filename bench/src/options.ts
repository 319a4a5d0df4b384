import { parseArgs } from 'node:util';
import type { ValidationSettings } from './validation-section.js';

/**
 * The parts of a run: ping-pong latency rows, ping-pong by payload size, pipelined calls per
 * second, pub-sub messages per second, and the cost of validation (ns per message, RTT with
 * validation on and off).
 */
export type Section = 'pingpong' | 'sizes' | 'pipeline' | 'pubsub' | 'validation';
export const SECTIONS: readonly Section[] = ['pingpong', 'sizes', 'pipeline', 'pubsub', 'validation'];

/**
 * Ping-pong by payload size: for each size, `warmup` then `n` round trips, each phase also ending
 * at `maxMs` (large payloads take long per round trip).
 */
export interface SizesSettings {
  bytes: number[];
  n: number;
  warmup: number;
  maxMs: number;
}

/** Pipelined calls: `inFlight` calls kept outstanding; after `warmup` completions, `calls` measured (or `maxMs`). */
export interface PipelineSettings {
  inFlight: number;
  warmup: number;
  calls: number;
  maxMs: number;
}

/**
 * Pub-sub: per run, `warmup` then at most `messages` measured messages (or `maxMs` of publishing),
 * the publisher at most `window` messages ahead of the slowest subscriber, for each fan-out.
 */
export interface PubSubSettings {
  fanouts: number[];
  warmup: number;
  messages: number;
  maxMs: number;
  window: number;
}

/** Everything that decides what a run measures. Recorded verbatim in the JSON report. */
export interface Settings {
  /** Measured round trips per ping-pong row. */
  n: number;
  /** Ping-pong round trips per row made before measuring. */
  warmup: number;
  payloadBytes: number;
  quick: boolean;
  /** Rows to run, in table order. Always includes the baseline (and the reference rows of goals). */
  rows: string[];
  /** Where to write the JSON report, if anywhere. */
  json: string | undefined;
  /** Where to write the SVG latency chart, if anywhere. */
  svg: string | undefined;
  /** Sections to run, in order. */
  sections: Section[];
  sizes: SizesSettings;
  pipeline: PipelineSettings;
  pubsub: PubSubSettings;
  /** Validation: validator cost (bounded by --max-ms per message size) and RTT on/off (--n, --warmup per mode). */
  validation: ValidationSettings;
}

export const DEFAULTS = {
  n: 20_000,
  warmup: 2_000,
  quickN: 2_000,
  quickWarmup: 500,
  payloadBytes: 64,
  inFlight: 256,
  calls: 1_000_000,
  quickCalls: 200_000,
  callsWarmup: 10_000,
  quickCallsWarmup: 2_000,
  messages: 5_000_000,
  quickMessages: 1_000_000,
  messagesWarmup: 50_000,
  quickMessagesWarmup: 10_000,
  maxMs: 3_000,
  quickMaxMs: 500,
  sizes: [16, 256, 4_096, 65_536, 1_048_576],
  sizesMaxMs: 1_000,
  quickSizesMaxMs: 150,
  window: 8_192,
  fanouts: [1, 4],
  validationReps: 11,
  quickValidationReps: 5,
  validationRounds: 10,
  quickValidationRounds: 4,
} as const;

/** `--json` / `--svg` without a file name (last argument, or followed by another flag) write these. */
export const DEFAULT_JSON = 'bench-results.json';
export const DEFAULT_SVG = 'bench-results.svg';

export const USAGE = `Usage: npm run bench -- [options]

  --quick             a fast look, a minute or less in all (ping-pong n=${DEFAULTS.quickN}, warm-up ${DEFAULTS.quickWarmup};
                      each payload size bounded by ${DEFAULTS.quickSizesMaxMs} ms, throughput runs by ${DEFAULTS.quickMaxMs} ms)
  --sections <a,b>    run only these sections: ${SECTIONS.join(', ')} (default: all)
  --rows <a,b,...>    run only these rows, in every section (the baseline always runs)
  --n <count>         ping-pong, payload sizes, validation RTT: measured round trips per row, size and mode (default ${DEFAULTS.n})
  --warmup <count>    ping-pong, payload sizes, validation RTT: round trips before measuring (default ${DEFAULTS.warmup})
  --sizes <a,b,...>   payload sizes section: sizes in bytes, k/m suffixes allowed (default ${DEFAULTS.sizes.map(formatBytesShort).join(',')})
  --in-flight <k>     pipeline: calls kept outstanding (default ${DEFAULTS.inFlight})
  --calls <count>     pipeline: at most this many measured calls per row (default ${DEFAULTS.calls}, quick ${DEFAULTS.quickCalls})
  --messages <count>  pub-sub: at most this many measured messages per run (default ${DEFAULTS.messages}, quick ${DEFAULTS.quickMessages})
  --max-ms <ms>       time bound of each measurement: pipeline, pub-sub and validation cost (default ${DEFAULTS.maxMs},
                      quick ${DEFAULTS.quickMaxMs}), and each warm-up and measuring phase per payload size (default ${DEFAULTS.sizesMaxMs},
                      quick ${DEFAULTS.quickSizesMaxMs})
  --json [file]       also write every row, the settings and the machine to <file> (default ${DEFAULT_JSON})
  --svg [file]        also write the latency distribution chart (SVG) to <file> (default ${DEFAULT_SVG})
  --help              print this help`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ParsedOptions {
  settings: Settings;
  help: boolean;
  /** Things worth telling the user about how the options were read. */
  notes: string[];
}

function count(text: string, flag: string, min: number): number {
  if (!/^\d+$/.test(text.replace(/_/g, ''))) throw new UsageError(`${flag} expects a whole number, got "${text}"`);
  const v = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`${flag} must be at least ${min}, got ${text}`);
  return v;
}

function list(text: string, flag: string): string[] {
  const items = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one name`);
  return items;
}

type Values = Partial<Record<'quick' | 'help', boolean>> &
  Partial<Record<'n' | 'warmup' | 'rows' | 'json' | 'svg' | 'sections' | 'sizes' | 'in-flight' | 'calls' | 'messages' | 'max-ms', string>>;

/** 16 -> "16", 4096 -> "4k", 1048576 -> "1m": the --sizes notation. */
export function formatBytesShort(bytes: number): string {
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20}m`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}

/** The smallest payload that carries the stamp and the sequence number; the largest the bench sends. */
export const MIN_SIZE = 12;
export const MAX_SIZE = 16 * 2 ** 20 - 1024;

/** Reads "16,256,4k,64k,1m" (k = 1024, m = 1024 * 1024). */
export function parseSizes(text: string): number[] {
  const out: number[] = [];
  for (const item of list(text, '--sizes')) {
    const m = /^(\d+)([km]?)$/i.exec(item.replace(/_/g, ''));
    if (!m) throw new UsageError(`--sizes expects sizes like 16, 4k or 1m, got "${item}"`);
    const bytes = Number(m[1]) * (m[2]!.toLowerCase() === 'k' ? 1024 : m[2]!.toLowerCase() === 'm' ? 2 ** 20 : 1);
    if (!Number.isSafeInteger(bytes) || bytes < MIN_SIZE || bytes > MAX_SIZE) throw new UsageError(`--sizes: ${item} is outside ${MIN_SIZE} bytes to 16 MiB (less 1 KiB for framing)`);
    if (!out.includes(bytes)) out.push(bytes);
  }
  return out.sort((a, b) => a - b);
}

function withDefaultFiles(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    out.push(a);
    const next = argv[i + 1];
    if ((a === '--json' || a === '--svg') && (next === undefined || next.startsWith('--'))) out.push(a === '--json' ? DEFAULT_JSON : DEFAULT_SVG);
  }
  return out;
}

/**
 * Reads the command line. `known` lists every row name in table order; `baseline` is one of them.
 * `companions` names rows that must run with a row (the reference rows of its goal).
 * Throws UsageError for anything it does not understand.
 */
export function parseOptions(argv: readonly string[], known: readonly string[], baseline: string, companions: Readonly<Record<string, readonly string[]>> = {}): ParsedOptions {
  let values: Values;
  try {
    ({ values } = parseArgs({
      args: withDefaultFiles(argv),
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        n: { type: 'string' },
        warmup: { type: 'string' },
        rows: { type: 'string' },
        json: { type: 'string' },
        svg: { type: 'string' },
        sections: { type: 'string' },
        sizes: { type: 'string' },
        'in-flight': { type: 'string' },
        calls: { type: 'string' },
        messages: { type: 'string' },
        'max-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const notes: string[] = [];
  const quick = values.quick ?? false;
  const pick = (flag: keyof Values, full: number, fast: number, min: number): number => {
    const v = values[flag];
    return typeof v === 'string' ? count(v, `--${flag}`, min) : quick ? fast : full;
  };
  const n = pick('n', DEFAULTS.n, DEFAULTS.quickN, 1);
  const warmup = pick('warmup', DEFAULTS.warmup, DEFAULTS.quickWarmup, 0);
  const maxMs = pick('max-ms', DEFAULTS.maxMs, DEFAULTS.quickMaxMs, 1);
  const sizesMaxMs = pick('max-ms', DEFAULTS.sizesMaxMs, DEFAULTS.quickSizesMaxMs, 1);
  const calls = pick('calls', DEFAULTS.calls, DEFAULTS.quickCalls, 1);
  const messages = pick('messages', DEFAULTS.messages, DEFAULTS.quickMessages, 1);
  const inFlight = pick('in-flight', DEFAULTS.inFlight, DEFAULTS.inFlight, 1);

  let sections = [...SECTIONS];
  if (values.sections !== undefined) {
    const asked = list(values.sections, '--sections');
    const unknown = asked.filter((s) => !SECTIONS.includes(s as Section));
    if (unknown.length > 0) throw new UsageError(`unknown section${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
    sections = SECTIONS.filter((s) => asked.includes(s));
  }
  let rows = [...known];
  if (values.rows !== undefined) {
    const asked = list(values.rows, '--rows');
    const unknown = asked.filter((r) => !known.includes(r));
    if (unknown.length > 0) throw new UsageError(`unknown row${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${known.join(', ')})`);
    if (!asked.includes(baseline)) notes.push(`the baseline row ${baseline} always runs: every other row is compared with it`);
    const wanted = new Set([baseline, ...asked]);
    // Goals are ping-pong ratios: their reference rows matter only when ping-pong runs.
    for (const r of sections.includes('pingpong') ? asked : []) {
      for (const c of companions[r] ?? []) {
        if (wanted.has(c)) continue;
        wanted.add(c);
        notes.push(`row ${c} also runs: the goal of ${r} is a ratio against it`);
      }
    }
    rows = known.filter((r) => wanted.has(r));
  }
  if (sections.includes('pipeline') && calls < 10 * inFlight) {
    notes.push(`pipeline: --calls ${calls} is under 10 x --in-flight ${inFlight}: the rates are dominated by the start and the tail of each run`);
  }
  if (values.json !== undefined && values.json.length === 0) throw new UsageError('--json needs a file name');
  if (values.svg !== undefined && values.svg.length === 0) throw new UsageError('--svg needs a file name');
  const sizes = values.sizes === undefined ? [...DEFAULTS.sizes] : parseSizes(values.sizes);

  return {
    settings: {
      n,
      warmup,
      payloadBytes: DEFAULTS.payloadBytes,
      quick,
      rows,
      json: values.json,
      svg: values.svg,
      sections,
      sizes: { bytes: sizes, n, warmup, maxMs: sizesMaxMs },
      pipeline: { inFlight, warmup: Math.min(quick ? DEFAULTS.quickCallsWarmup : DEFAULTS.callsWarmup, calls), calls, maxMs },
      pubsub: {
        fanouts: [...DEFAULTS.fanouts],
        warmup: Math.min(quick ? DEFAULTS.quickMessagesWarmup : DEFAULTS.messagesWarmup, messages),
        messages,
        maxMs,
        window: DEFAULTS.window,
      },
      validation: {
        cost: { reps: quick ? DEFAULTS.quickValidationReps : DEFAULTS.validationReps, maxMs },
        rtt: { rounds: quick ? DEFAULTS.quickValidationRounds : DEFAULTS.validationRounds, message: 'small' },
      },
    },
    help: values.help ?? false,
    notes,
  };
}
