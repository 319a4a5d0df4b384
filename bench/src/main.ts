// The benchmark entry point: `npm run bench -- [--quick] [--n N] [--rows a,b] [--json file]`.
// See docs/benchmarks.md for the method and the columns.
import { machineInfo } from './machine.js';
import { parseOptions, USAGE, UsageError, type ParsedOptions } from './options.js';
import { buildReport, writeReport } from './report.js';
import { BASELINE, ROWS } from './rows/index.js';
import { runRows } from './run-rows.js';
import { goalLines, header, LEGEND, resultsTable } from './table.js';

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ParsedOptions;
  try {
    parsed = parseOptions(
      argv,
      ROWS.map((r) => r.name),
      BASELINE,
    );
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { settings, notes } = parsed;
  const machine = machineInfo();
  const out = (s: string): boolean => process.stdout.write(`${s}\n`);
  const progress = (s: string): boolean => process.stderr.write(`  ${s}\n`);

  out(header(machine, settings));
  for (const note of notes) out(`note     ${note}`);
  out('');

  const rows = ROWS.filter((r) => settings.rows.includes(r.name));
  const results = await runRows(rows, { n: settings.n, warmup: settings.warmup, payloadBytes: settings.payloadBytes }, BASELINE, progress);

  out('');
  out(resultsTable(results));
  out('');
  out(LEGEND);
  const goals = goalLines(results);
  if (goals.length > 0) out('');
  for (const g of goals) out(g);

  if (settings.json !== undefined) {
    const path = await writeReport(settings.json, buildReport(machine, settings, BASELINE, results));
    out('');
    out(`JSON report written to ${path}`);
  }
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
