import type { MachineInfo } from './machine.js';
import type { Settings } from './options.js';
import type { RowResult } from './run-rows.js';

export interface Column {
  header: string;
  align: 'left' | 'right';
}

/** A plain-text table: header, a rule, then one line per row; columns padded to fit. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        return c.align === 'left' ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** µs with one decimal below 1000, whole µs above. */
export function formatMicros(us: number): string {
  return us < 1000 ? us.toFixed(1) : Math.round(us).toLocaleString('en-US');
}

/** A fraction as a signed percentage: 0.123 -> "+12.3%", -0.05 -> "-5.0%". */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return 'n/a';
  const pct = fraction * 100;
  const text = Math.abs(pct).toFixed(1);
  return text === '0.0' ? '0.0%' : `${pct > 0 ? '+' : '-'}${text}%`;
}

export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a';
}

const COLUMNS: Column[] = [
  { header: 'row', align: 'left' },
  { header: 'mean', align: 'right' },
  { header: 'p50', align: 'right' },
  { header: 'p99', align: 'right' },
  { header: 'p99.9', align: 'right' },
  { header: 'max', align: 'right' },
  { header: 'stddev', align: 'right' },
  { header: 'rt/s', align: 'right' },
  { header: 'lat.red', align: 'right' },
  { header: 'jit.red', align: 'right' },
  { header: 'p50/base', align: 'right' },
];

/** The results table (µs), with skipped and failed rows listed underneath. */
export function resultsTable(results: readonly RowResult[]): string {
  const ok = results.filter((r) => r.stats !== undefined);
  const body = ok.map((r) => {
    const s = r.stats!;
    const v = r.vsBaseline;
    return [
      r.name,
      formatMicros(s.mean),
      formatMicros(s.p50),
      formatMicros(s.p99),
      formatMicros(s.p999),
      formatMicros(s.max),
      formatMicros(s.stddev),
      Math.round(s.roundTripsPerSec).toLocaleString('en-US'),
      v ? formatPercent(v.latencyReduction) : 'n/a',
      v ? formatPercent(v.jitterReduction) : 'n/a',
      v ? formatRatio(v.p50Ratio) : 'n/a',
    ];
  });
  const lines = [renderTable(COLUMNS, body)];
  for (const r of results) if (r.status !== 'ok') lines.push(`${r.name}: ${r.status}: ${r.reason ?? ''}`);
  return lines.join('\n');
}

/** One line per row goal, e.g. "fastpath-tcp / raw-tcp p50 ratio: 1.12 (goal <= 1.15, issue 2): met". */
export function goalLines(results: readonly RowResult[]): string[] {
  return results.flatMap((r) => {
    const g = r.goal;
    if (!g) return [];
    const ratio = Number.isFinite(g.p50Ratio) ? g.p50Ratio.toFixed(3) : 'n/a';
    const verdict = g.met === null ? `not judged (${g.baseline} did not run)` : g.met ? 'met' : 'NOT met';
    return [`${r.name} / ${g.baseline} p50 ratio: ${ratio} (goal <= ${g.maxP50Ratio}, ${g.source}): ${verdict}`];
  });
}

export function header(machine: MachineInfo, settings: Settings): string {
  const load = machine.loadAverage.map((l) => l.toFixed(2)).join(' ');
  return [
    'fastpath bench: loopback ping-pong round-trip time (the Windows Server 2012 loopback fast-path test), pipelined calls, pub-sub, validation',
    `machine  ${machine.cpuModel}, ${machine.cores} cores (${machine.availableParallelism} usable), ${machine.platform} ${machine.release} ${machine.arch}`,
    `node     ${machine.node} (V8 ${machine.v8})`,
    `load     ${load} (1/5/15 min)${machine.loadAverage[0]! > machine.availableParallelism / 2 ? ': the machine is busy, expect noisy numbers' : ''}`,
    `run      ${settings.sections.join(', ')}; ${settings.payloadBytes}-byte payload; Nagle off; ${machine.date}`,
    ...(settings.sections.includes('pingpong') ? [`pingpong ${settings.n} measured round trips per row after ${settings.warmup} warm-up`] : []),
    ...(settings.sections.includes('pipeline')
      ? [`pipeline ${settings.pipeline.inFlight} calls in flight; ${settings.pipeline.warmup} warm-up, then at most ${settings.pipeline.calls} calls or ${settings.pipeline.maxMs} ms per row`]
      : []),
    ...(settings.sections.includes('pubsub')
      ? [
          `pubsub   fan-out ${settings.pubsub.fanouts.map((f) => `1->${f}`).join(', ')}; ${settings.pubsub.warmup} warm-up, then at most ${settings.pubsub.messages} messages or ${settings.pubsub.maxMs} ms per run; window ${settings.pubsub.window}`,
        ]
      : []),
    ...(settings.sections.includes('validation')
      ? [
          `validate validator cost: ${settings.validation.cost.reps} repetitions or ${settings.validation.cost.maxMs} ms per message size; RTT: ${settings.warmup} warm-up + ${settings.n} measured round trips per mode, ${settings.validation.rtt.rounds} alternating blocks`,
        ]
      : []),
    `command  ${machine.command}`,
  ].join('\n');
}

export const LEGEND =
  'RTT in µs. lat.red = (base.p50 - row.p50) / base.p50, jit.red = (base.stddev - row.stddev) / base.stddev, ' +
  'against the baseline row; negative means worse than the baseline. rt/s = round trips per second.';
