/**
 * The payload-size section: ping-pong round-trip time for payloads from 16 B to 1 MiB, one
 * message in flight, for a few rows (raw TCP and Unix socket, fastpath on each tier, gRPC). Each
 * row starts its peer once and runs every size on it; each size is compared with the baseline row
 * (raw-tcp) at the same size.
 */
import type { SizesSettings } from './options.js';
import { pingPong } from './ping-pong.js';
import type { Row } from './rows/row.js';
import { type Progress, type RowResult, type RowStats } from './run-rows.js';
import { compare, perSecond, summarize } from './stats.js';
import { formatMicros, formatPercent, formatRatio, renderTable, type Column } from './table.js';

/** The rows the section runs (when --rows allows them), in table order. */
export const SIZE_ROWS: readonly string[] = ['raw-tcp', 'raw-uds', 'fastpath-tcp', 'fastpath-uds', 'fastpath-shm-adaptive', 'grpc-tcp'];

/** One row at one payload size. `stats.count` may be under n: the time bound ends large sizes early. */
export interface SizeRowResult extends RowResult {
  bytes: number;
}

/** "16 B", "4 KiB", "1 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function failure(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function runRow(row: Row, s: SizesSettings, progress: Progress): Promise<SizeRowResult[]> {
  const base = { name: row.name, description: row.description };
  let skip: string | undefined;
  try {
    skip = await row.skipReason?.();
  } catch (err) {
    progress(`sizes ${row.name}: FAILED: ${failure(err)}`);
    return s.bytes.map((bytes) => ({ ...base, bytes, status: 'failed', reason: failure(err) }));
  }
  if (skip !== undefined) {
    progress(`sizes ${row.name}: skipped (${skip})`);
    return s.bytes.map((bytes) => ({ ...base, bytes, status: 'skipped', reason: skip }));
  }
  const out: SizeRowResult[] = [];
  try {
    await row.withSession(async (session) => {
      for (const bytes of s.bytes) {
        const plan = `sizes ${row.name} ${formatBytes(bytes)}`;
        progress(`${plan}: ${s.warmup} warm-up + ${s.n} round trips, at most ${s.maxMs} ms each`);
        try {
          const m = await pingPong(await session.channel(bytes), { n: s.n, warmup: s.warmup, payloadBytes: bytes, maxMs: s.maxMs, onProgress: (d, t) => progress(`${plan}: ${d}/${t} round trips (at most ${s.maxMs} ms each phase)`) });
          const stats: RowStats = { ...summarize(m.samplesUs), roundTripsPerSec: perSecond(m.samplesUs.length, m.elapsedNs), elapsedMs: m.elapsedNs / 1e6 };
          out.push({ ...base, bytes, status: 'ok', details: session.details, stats });
        } catch (err) {
          progress(`sizes ${row.name} ${formatBytes(bytes)}: FAILED: ${failure(err)}`);
          out.push({ ...base, bytes, status: 'failed', reason: failure(err) });
        }
      }
    });
  } catch (err) {
    // The peer did not start, or the connection could not be made: every size not measured fails.
    progress(`sizes ${row.name}: FAILED: ${failure(err)}`);
    for (const bytes of s.bytes) if (!out.some((r) => r.bytes === bytes)) out.push({ ...base, bytes, status: 'failed', reason: failure(err) });
  }
  return out;
}

/**
 * Runs the rows among `rows` that the section covers (SIZE_ROWS), one after another, every size
 * per row, then compares each result with the baseline's at the same size.
 */
export async function runSizesSection(allRows: readonly Row[], rows: readonly string[], s: SizesSettings, baseline: string, progress: Progress = () => {}): Promise<SizeRowResult[]> {
  const results: SizeRowResult[] = [];
  for (const row of allRows.filter((r) => SIZE_ROWS.includes(r.name) && rows.includes(r.name))) results.push(...(await runRow(row, s, progress)));
  for (const r of results) {
    const b = results.find((x) => x.name === baseline && x.bytes === r.bytes && x.stats !== undefined)?.stats;
    if (b !== undefined && r.stats !== undefined) r.vsBaseline = compare(b, r.stats);
  }
  // Table order: by size, then by row.
  const order = (name: string): number => SIZE_ROWS.indexOf(name);
  return results.sort((a, b) => a.bytes - b.bytes || order(a.name) - order(b.name));
}

const COLUMNS: Column[] = [
  { header: 'size', align: 'right' },
  { header: 'row', align: 'left' },
  { header: 'n', align: 'right' },
  { header: 'mean', align: 'right' },
  { header: 'p50', align: 'right' },
  { header: 'p99', align: 'right' },
  { header: 'p99.9', align: 'right' },
  { header: 'max', align: 'right' },
  { header: 'stddev', align: 'right' },
  { header: 'rt/s', align: 'right' },
  { header: 'MiB/s', align: 'right' },
  { header: 'lat.red', align: 'right' },
  { header: 'jit.red', align: 'right' },
  { header: 'p50/base', align: 'right' },
];

export function sizesTable(results: readonly SizeRowResult[]): string {
  const body = results
    .filter((r) => r.stats !== undefined)
    .map((r) => {
      const s = r.stats!;
      const v = r.vsBaseline;
      return [
        formatBytes(r.bytes),
        r.name,
        s.count.toLocaleString('en-US'),
        formatMicros(s.mean),
        formatMicros(s.p50),
        formatMicros(s.p99),
        formatMicros(s.p999),
        formatMicros(s.max),
        formatMicros(s.stddev),
        Math.round(s.roundTripsPerSec).toLocaleString('en-US'),
        ((s.roundTripsPerSec * r.bytes) / 2 ** 20).toFixed(1),
        v ? formatPercent(v.latencyReduction) : 'n/a',
        v ? formatPercent(v.jitterReduction) : 'n/a',
        v ? formatRatio(v.p50Ratio) : 'n/a',
      ];
    });
  const lines = [renderTable(COLUMNS, body)];
  const seen = new Set<string>();
  for (const r of results) {
    if (r.status === 'ok') continue;
    // A row skipped for every size is listed once.
    const line = r.status === 'skipped' ? `${r.name}: skipped: ${r.reason ?? ''}` : `${r.name} ${formatBytes(r.bytes)}: failed: ${r.reason ?? ''}`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  return lines.join('\n');
}

export const SIZES_LEGEND =
  'RTT in µs, one message of the given size in flight; each size is bounded by a round-trip count and a time (n = round trips measured). ' +
  'MiB/s = size x rt/s (one way). lat.red, jit.red and p50/base against the baseline row at the same size.';
