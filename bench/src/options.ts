import { parseArgs } from 'node:util';

/** Everything that decides what a run measures. Recorded verbatim in the JSON report. */
export interface Settings {
  /** Measured round trips per row. */
  n: number;
  /** Round trips per row made before measuring. */
  warmup: number;
  payloadBytes: number;
  quick: boolean;
  /** Rows to run, in table order. Always includes the baseline. */
  rows: string[];
  /** Where to write the JSON report, if anywhere. */
  json: string | undefined;
}

export const DEFAULTS = {
  n: 20_000,
  warmup: 2_000,
  quickN: 2_000,
  quickWarmup: 500,
  payloadBytes: 64,
} as const;

export const USAGE = `Usage: npm run bench -- [options]

  --quick            fewer round trips (n=${DEFAULTS.quickN}, warm-up ${DEFAULTS.quickWarmup}) for a fast look
  --n <count>        measured round trips per row (default ${DEFAULTS.n})
  --warmup <count>   round trips per row before measuring (default ${DEFAULTS.warmup})
  --rows <a,b,...>   run only these rows (the baseline always runs)
  --json <file>      also write every row, the settings and the machine to <file>
  --help             print this help`;

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

/**
 * Reads the command line. `known` lists every row name in table order; `baseline` is one of them.
 * Throws UsageError for anything it does not understand.
 */
export function parseOptions(argv: readonly string[], known: readonly string[], baseline: string): ParsedOptions {
  let values: { quick?: boolean; n?: string; warmup?: string; rows?: string; json?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        n: { type: 'string' },
        warmup: { type: 'string' },
        rows: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const notes: string[] = [];
  const quick = values.quick ?? false;
  const n = values.n !== undefined ? count(values.n, '--n', 1) : quick ? DEFAULTS.quickN : DEFAULTS.n;
  const warmup = values.warmup !== undefined ? count(values.warmup, '--warmup', 0) : quick ? DEFAULTS.quickWarmup : DEFAULTS.warmup;

  let rows = [...known];
  if (values.rows !== undefined) {
    const asked = values.rows
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r.length > 0);
    if (asked.length === 0) throw new UsageError('--rows needs at least one row name');
    const unknown = asked.filter((r) => !known.includes(r));
    if (unknown.length > 0) throw new UsageError(`unknown row${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${known.join(', ')})`);
    if (!asked.includes(baseline)) notes.push(`the baseline row ${baseline} always runs: every other row is compared with it`);
    rows = known.filter((r) => r === baseline || asked.includes(r));
  }
  if (values.json !== undefined && values.json.length === 0) throw new UsageError('--json needs a file name');

  return {
    settings: { n, warmup, payloadBytes: DEFAULTS.payloadBytes, quick, rows, json: values.json },
    help: values.help ?? false,
    notes,
  };
}
