import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { MachineInfo } from './machine.js';
import type { Settings } from './options.js';
import type { RowResult } from './run-rows.js';

export const REPORT_SCHEMA = 'fastpath-bench/1';

/** The JSON report. Latencies are in µs. */
export interface Report {
  schema: typeof REPORT_SCHEMA;
  machine: MachineInfo;
  settings: Settings & { baseline: string; unit: 'us'; method: string };
  rows: RowResult[];
}

export function buildReport(machine: MachineInfo, settings: Settings, baseline: string, rows: RowResult[]): Report {
  return {
    schema: REPORT_SCHEMA,
    machine,
    settings: {
      ...settings,
      baseline,
      unit: 'us',
      method: 'ping-pong between two single-threaded processes; the child echoes; payload carries a u64 hrtime stamp; TCP_NODELAY',
    },
    rows,
  };
}

/** Writes the report; non-finite numbers (a NaN reduction) become null, as JSON requires. */
export async function writeReport(file: string, report: Report): Promise<string> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
