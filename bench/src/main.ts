// The benchmark entry point: `npm run bench -- [--quick] [--sections a,b] [--rows a,b] [--json file] [--svg file] ...`.
// See docs/benchmarks.md for the method, the sections and the columns.
import { latencyChart, type ChartInput } from './chart.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { parseOptions, USAGE, UsageError, type ParsedOptions, type Settings } from './options.js';
import { runPipelineSection } from './pipeline-section.js';
import { runPubSubSection } from './pubsub.js';
import { progressLine } from './progress.js';
import { buildReport, writeReport, writeText, type SectionResults } from './report.js';
import { BASELINE, companions, ROWS } from './rows/index.js';
import { runRows, SAMPLES } from './run-rows.js';
import { runSizesSection, SIZES_LEGEND, sizesTable } from './sizes.js';
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
  // One updating line on stderr when it is a terminal, nothing otherwise (see progress.ts).
  const progress = progressLine();
  const out = (s: string): void => {
    progress.clear();
    process.stdout.write(`${s}\n`);
  };
  const section = (title: string): void => {
    out('');
    out(`== ${title}`);
  };

  out(header(machine, settings));
  for (const note of notes) out(`note     ${note}`);

  const results: SectionResults = { rows: [], sizes: [], pipeline: [], pubsub: [], validation: null };
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
  if (settings.sections.includes('sizes')) {
    results.sizes = await runSizesSection(ROWS, settings.rows, settings.sizes, BASELINE, progress);
    section('payload sizes: round-trip time by payload size, one message in flight');
    out(sizesTable(results.sizes));
    out('');
    out(SIZES_LEGEND);
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

  progress.done();
  if (settings.json !== undefined) {
    const path = await writeReport(settings.json, buildReport(machine, settings, BASELINE, results));
    out('');
    out(`JSON report written to ${path}`);
  }
  if (settings.svg !== undefined) {
    const path = await writeText(settings.svg, latencyChart(chartInput(machine, settings, results)));
    if (settings.json === undefined) out('');
    out(`SVG chart written to ${path}`);
  }
  const all = [...results.rows, ...results.sizes, ...results.pipeline, ...results.pubsub, ...(results.validation?.rtt ?? [])];
  return all.some((r) => r.status === 'failed') ? 1 : 0;
}

/** What the chart shows: every ping-pong row that ran (its samples) and the payload-size medians. */
function chartInput(machine: MachineInfo, settings: Settings, results: SectionResults): ChartInput {
  const rows = results.rows.flatMap((r) => {
    const samplesUs = SAMPLES.get(r);
    return samplesUs !== undefined && r.stats !== undefined ? [{ name: r.name, samplesUs, p50: r.stats.p50, p99: r.stats.p99 }] : [];
  });
  const names = [...new Set(results.sizes.map((r) => r.name))];
  const sizes = names.map((name) => ({
    name,
    points: results.sizes.filter((r) => r.name === name && r.stats !== undefined).map((r) => ({ bytes: r.bytes, p50: r.stats!.p50 })),
  }));
  const date = machine.date.slice(0, 16).replace('T', ' ');
  return {
    title: 'fastpath bench: loopback round-trip time between two processes',
    subtitle: `${machine.cpuModel}, ${machine.availableParallelism} cores, ${machine.platform} ${machine.release}; Node ${machine.node}; ${date} UTC; ${settings.n} round trips per row, ${settings.payloadBytes}-byte payload${settings.quick ? ' (--quick)' : ''}`,
    rows,
    sizes,
    notRun: results.rows.filter((r) => r.status !== 'ok').map((r) => ({ name: r.name, status: r.status })),
  };
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
