import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { MachineInfo } from './machine.js';
import type { Settings } from './options.js';
import type { PipelineRowResult } from './pipeline-section.js';
import type { PubSubRowResult } from './pubsub.js';
import type { RowResult } from './run-rows.js';
import type { SizeRowResult } from './sizes.js';
import type { ValidationSectionResult } from './validation-section.js';

export const REPORT_SCHEMA = 'fastpath-bench/3';

/** How each section measures, one line each, recorded in the report. */
export const METHODS = {
  pingpong: 'ping-pong between two single-threaded processes; the child echoes; payload carries a u64 hrtime stamp; TCP_NODELAY',
  sizes: 'the ping-pong method with payloads of each size; one peer per row, one connection per size for raw rows; each size bounded by a round-trip count and a time',
  pipeline: 'calls kept in flight from this process to an echo peer process; each answer starts the next call; answers per second after a warm-up',
  pubsub:
    'one-way 64-byte messages: publisher (this process) -> server (own process) -> subscriber processes; publisher at most `window` messages ahead of the slowest subscriber; msgs/s at the slowest subscriber',
  validation:
    'validator cost: median ns per validate() of the generated request validator on a valid message, in this process; RTT: ping-pong of the same message with generated client + registerX (on) and Client.call + Server.handle without validators (off), alternating blocks on one connection',
} as const;

/** The JSON report. Latencies are in µs, rates per second. */
export interface Report {
  schema: typeof REPORT_SCHEMA;
  machine: MachineInfo;
  settings: Settings & { baseline: string; unit: 'us'; method: string; methods: typeof METHODS };
  /** Ping-pong rows (absent sections give empty arrays). */
  rows: RowResult[];
  /** Ping-pong by payload size: one entry per row and size. */
  sizes: SizeRowResult[];
  pipeline: PipelineRowResult[];
  pubsub: PubSubRowResult[];
  /** null when the validation section did not run. */
  validation: ValidationSectionResult | null;
}

export interface SectionResults {
  rows: RowResult[];
  sizes: SizeRowResult[];
  pipeline: PipelineRowResult[];
  pubsub: PubSubRowResult[];
  validation: ValidationSectionResult | null;
}

export function buildReport(machine: MachineInfo, settings: Settings, baseline: string, results: SectionResults): Report {
  return {
    schema: REPORT_SCHEMA,
    machine,
    settings: { ...settings, baseline, unit: 'us', method: METHODS.pingpong, methods: METHODS },
    rows: results.rows,
    sizes: results.sizes,
    pipeline: results.pipeline,
    pubsub: results.pubsub,
    validation: results.validation,
  };
}

/** Writes the report; non-finite numbers (a NaN reduction) become null, as JSON requires. */
export async function writeReport(file: string, report: Report): Promise<string> {
  return writeText(file, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * Where a relative output path goes: the directory the command was typed in. `npm run bench` runs
 * the script in bench/, and npm passes the original directory as INIT_CWD (`fastpath bench` sets
 * it too), so `npm run bench -- --json out.json` writes out.json where the user is.
 */
export function outputPath(file: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.INIT_CWD ?? process.cwd(), file);
}

/** Writes `text` to `file` (creating its directory); resolves with the absolute path. */
export async function writeText(file: string, text: string): Promise<string> {
  const path = outputPath(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}
