// The tables and goal lines of the throughput sections: pipelined calls and pub-sub.
import type { PipelineRowResult } from './pipeline-section.js';
import type { PubSubRowResult } from './pubsub.js';
import { formatRatio, renderTable, type Column } from './table.js';

/** A rate as a whole number with thousands separators, or n/a. */
export function formatRate(perSec: number): string {
  return Number.isFinite(perSec) ? Math.round(perSec).toLocaleString('en-US') : 'n/a';
}

const PIPELINE_COLUMNS: Column[] = [
  { header: 'row', align: 'left' },
  { header: 'in flight', align: 'right' },
  { header: 'calls', align: 'right' },
  { header: 'ms', align: 'right' },
  { header: 'calls/s', align: 'right' },
  { header: 'vs base', align: 'right' },
  { header: 'ended by', align: 'left' },
];

/** Skipped and failed rows, one line each, under a table. */
function notRun(rows: ReadonlyArray<{ name: string; status: string; reason?: string; fanout?: number }>): string[] {
  return rows.filter((r) => r.status !== 'ok').map((r) => `${r.name}${r.fanout !== undefined ? ` 1->${r.fanout}` : ''}: ${r.status}: ${r.reason ?? ''}`);
}

export function pipelineTable(results: readonly PipelineRowResult[]): string {
  const body = results
    .filter((r) => r.stats !== undefined)
    .map((r) => {
      const s = r.stats!;
      return [r.name, String(s.inFlight), s.calls.toLocaleString('en-US'), s.elapsedMs.toFixed(s.elapsedMs < 10 ? 1 : 0), formatRate(s.callsPerSec), r.vsBaseline ? formatRatio(r.vsBaseline.ratio) : 'n/a', s.timeBound ? 'time' : 'count'];
    });
  return [renderTable(PIPELINE_COLUMNS, body), ...notRun(results)].join('\n');
}

export const PIPELINE_LEGEND =
  'calls/s = measured answers / the time they took, with `in flight` calls always outstanding; vs base = calls/s / the baseline row\'s calls/s. ' +
  'ended by: the call count or the time bound.';

const PUBSUB_COLUMNS: Column[] = [
  { header: 'row', align: 'left' },
  { header: 'fan-out', align: 'left' },
  { header: 'published', align: 'right' },
  { header: 'msgs/s', align: 'right' },
  { header: 'total/s', align: 'right' },
  { header: 'dropped', align: 'right' },
  { header: 'vs base', align: 'right' },
  { header: 'all in', align: 'left' },
];

export function pubsubTable(results: readonly PubSubRowResult[]): string {
  const body = results
    .filter((r) => r.stats !== undefined)
    .map((r) => {
      const s = r.stats!;
      const dropped = s.subscribers.reduce((a, x) => a + x.dropped, 0);
      return [
        r.name,
        `1->${r.fanout}`,
        s.published.toLocaleString('en-US'),
        formatRate(s.msgsPerSec),
        formatRate(s.totalMsgsPerSec),
        dropped.toLocaleString('en-US'),
        r.vsBaseline ? formatRatio(r.vsBaseline.ratio) : 'n/a',
        s.complete ? 'yes' : 'NO',
      ];
    });
  return [renderTable(PUBSUB_COLUMNS, body), ...notRun(results)].join('\n');
}

export const PUBSUB_LEGEND =
  '64-byte messages, one way. msgs/s = at the slowest subscriber, from its first to its last measured message; total/s = the sum over ' +
  'subscribers; dropped = sequence numbers that never arrived; vs base = msgs/s / the baseline row\'s at the same fan-out; all in = every ' +
  'subscriber got every published message.';

/** One line per pub-sub goal, e.g. "fastpath-tcp 1->1: 812,345 msgs/s (goal >= 1,000,000, issue 4): NOT met". */
export function pubsubGoalLines(results: readonly PubSubRowResult[]): string[] {
  return results.flatMap((r) => {
    const g = r.goal;
    if (!g || !r.stats) return [];
    return [`${r.name} 1->${r.fanout}: ${formatRate(r.stats.msgsPerSec)} msgs/s at the slowest subscriber (goal >= ${formatRate(g.minMsgsPerSec)}, ${g.source}): ${g.met ? 'met' : 'NOT met'}`];
  });
}
