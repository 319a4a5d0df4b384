// The benchmark entry point: `npm run bench -- [--quick] [--sections a,b] [--rows a,b] [--json file] ...`.
// See docs/benchmarks.md for the method, the sections and the columns.
import { machineInfo } from './machine.js';
import { parseOptions, USAGE, UsageError, type ParsedOptions } from './options.js';
import { runPipelineSection } from './pipeline-section.js';
import { runPubSubSection } from './pubsub.js';
import { buildReport, writeReport, type SectionResults } from './report.js';
import { BASELINE, companions, ROWS } from './rows/index.js';
import { runRows } from './run-rows.js';
import { goalLines, header, LEGEND, resultsTable } from './table.js';
import { PIPELINE_LEGEND, pipelineTable, PUBSUB_LEGEND, pubsubGoalLines, pubsubTable } from './throughput-table.js';
import { runValidationSection, VALIDATION_LEGEND, validationGoalLine, validationTables } from './validation-section.js';

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ParsedOptions;
  try {
    parsed = parseOptions(
      argv,
      ROWS.map((r) => r.name),
      BASELINE,
      companions(),
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
  const section = (title: string): void => {
    out('');
    out(`== ${title}`);
  };

  out(header(machine, settings));
  for (const note of notes) out(`note     ${note}`);

  const results: SectionResults = { rows: [], pipeline: [], pubsub: [], validation: null };
  if (settings.sections.includes('pingpong')) {
    const rows = ROWS.filter((r) => settings.rows.includes(r.name));
    results.rows = await runRows(rows, { n: settings.n, warmup: settings.warmup, payloadBytes: settings.payloadBytes }, BASELINE, progress);
    section('ping-pong: round-trip time, one message in flight');
    out(resultsTable(results.rows));
    out('');
    out(LEGEND);
    const goals = goalLines(results.rows);
    if (goals.length > 0) out('');
    for (const g of goals) out(g);
  }
  if (settings.sections.includes('pipeline')) {
    results.pipeline = await runPipelineSection(settings.rows, settings.pipeline, BASELINE, progress);
    section(`pipelined calls: ${settings.pipeline.inFlight} in flight`);
    out(pipelineTable(results.pipeline));
    out('');
    out(PIPELINE_LEGEND);
  }
  if (settings.sections.includes('pubsub')) {
    results.pubsub = await runPubSubSection(settings.rows, settings.pubsub, BASELINE, progress);
    section('pub-sub: publisher (this process) -> server (own process) -> subscriber processes');
    out(pubsubTable(results.pubsub));
    out('');
    out(PUBSUB_LEGEND);
    const goals = pubsubGoalLines(results.pubsub);
    if (goals.length > 0) out('');
    for (const g of goals) out(g);
  }
  if (settings.sections.includes('validation')) {
    results.validation = await runValidationSection(settings.rows, settings.validation, { n: settings.n, warmup: settings.warmup }, progress);
    section('validation: cost of the generated validators, and RTT with validation on and off');
    out(validationTables(results.validation));
    out('');
    out(VALIDATION_LEGEND);
    out('');
    out(validationGoalLine(results.validation));
  }

  if (settings.json !== undefined) {
    const path = await writeReport(settings.json, buildReport(machine, settings, BASELINE, results));
    out('');
    out(`JSON report written to ${path}`);
  }
  const all = [...results.rows, ...results.pipeline, ...results.pubsub, ...(results.validation?.rtt ?? [])];
  return all.some((r) => r.status === 'failed') ? 1 : 0;
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
