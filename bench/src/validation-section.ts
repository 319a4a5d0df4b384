/**
 * The validation section (issue 5): the in-process cost of the generated validators per message
 * size, and ping-pong RTT with validation on and off over tcp and shm-inline, with the goal
 * "validation adds at most 5 % to shm-inline RTT".
 */
import type { Progress } from './run-rows.js';
import { formatMicros, formatPercent, renderTable, type Column } from './table.js';
import { measureValidationCost, type ValidationCost, type ValidationCostSettings } from './validation-cost.js';
import { encodedBytes, makeMessage, MESSAGE_SIZES, type MessageSize } from './validation-messages.js';
import { runValidationRtt, VALIDATION_GOAL, type ValidationRttRow, type ValidationRttSettings } from './validation-rtt.js';

export interface ValidationSettings {
  cost: ValidationCostSettings;
  rtt: Omit<ValidationRttSettings, 'n' | 'warmup'>;
}

export interface ValidationSectionResult {
  cost: ValidationCost[];
  /** The message the RTT rows echo, and its MessagePack size. */
  rttMessage: { message: MessageSize; bytes: number };
  rtt: ValidationRttRow[];
}

export async function runValidationSection(
  rows: readonly string[],
  settings: ValidationSettings,
  pingPong: { n: number; warmup: number },
  progress: Progress = () => {},
): Promise<ValidationSectionResult> {
  const cost: ValidationCost[] = [];
  for (const size of MESSAGE_SIZES) {
    progress(`validation cost, ${size} message: ${settings.cost.reps} repetitions, at most ${settings.cost.maxMs} ms...`);
    cost.push(measureValidationCost(size, settings.cost));
  }
  const rtt = await runValidationRtt(rows, { ...settings.rtt, ...pingPong }, progress);
  return { cost, rttMessage: { message: settings.rtt.message, bytes: encodedBytes(makeMessage(settings.rtt.message)) }, rtt };
}

const COST_COLUMNS: Column[] = [
  { header: 'message', align: 'left' },
  { header: 'bytes', align: 'right' },
  { header: 'ns/msg', align: 'right' },
  { header: 'min', align: 'right' },
  { header: 'max', align: 'right' },
  { header: 'reps', align: 'right' },
  { header: 'iters/rep', align: 'right' },
];

const RTT_COLUMNS: Column[] = [
  { header: 'row', align: 'left' },
  { header: 'p50 off', align: 'right' },
  { header: 'p50 on', align: 'right' },
  { header: 'p99 off', align: 'right' },
  { header: 'p99 on', align: 'right' },
  { header: 'overhead', align: 'right' },
];

const ns = (v: number): string => (v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US'));

export function validationTables(r: ValidationSectionResult): string {
  const cost = renderTable(
    COST_COLUMNS,
    r.cost.map((c) => [c.message, String(c.bytes), ns(c.nsPerMessage), ns(c.minNs), ns(c.maxNs), String(c.reps), c.iterationsPerRep.toLocaleString('en-US')]),
  );
  const ok = r.rtt.filter((x) => x.status === 'ok');
  const rtt = renderTable(
    RTT_COLUMNS,
    ok.map((x) => [x.name, formatMicros(x.off!.p50), formatMicros(x.on!.p50), formatMicros(x.off!.p99), formatMicros(x.on!.p99), formatPercent(x.overhead!)]),
  );
  const lines = [cost, '', `RTT of the ${r.rttMessage.message} message (${r.rttMessage.bytes} bytes), validation off and on:`, rtt];
  for (const x of r.rtt) if (x.status !== 'ok') lines.push(`${x.name}: ${x.status}: ${x.reason ?? ''}`);
  return lines.join('\n');
}

export const VALIDATION_LEGEND =
  'ns/msg: median over the repetitions of one validate() of the request validator on a valid message, in this process (min, max: ' +
  'the fastest and slowest repetition). RTT in µs; on: generated client (responses validated) and registerX (requests ' +
  'validated); off: Client.call and Server.handle without validators, same message, same connection, alternating blocks. ' +
  'overhead = p50 on / p50 off - 1.';

/** "validation adds at most 5% to shm-inline RTT: met" (or NOT met, or not judged when the row did not run). */
export function validationGoalLine(r: ValidationSectionResult): string {
  const head = `validation adds at most ${VALIDATION_GOAL.maxOverhead * 100}% to shm-inline RTT`;
  const row = r.rtt.find((x) => x.name === VALIDATION_GOAL.row);
  if (row === undefined) return `${head}: not judged (${VALIDATION_GOAL.row} was not asked for, ${VALIDATION_GOAL.source})`;
  if (row.goal === undefined) return `${head}: not judged (${VALIDATION_GOAL.row} ${row.status}: ${row.reason ?? ''}; ${VALIDATION_GOAL.source})`;
  return `${head}: ${row.goal.met ? 'met' : 'NOT met'} (p50 overhead ${formatPercent(row.overhead!)}, ${VALIDATION_GOAL.source})`;
}
