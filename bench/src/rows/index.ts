import { FASTPATH_TARGETS } from '../targets.js';
import { fastpathRow } from './fastpath.js';
import { grpcRow } from './grpc.js';
import { fastpathTcpNetnsRow, rawTcpNetnsRow } from './netns.js';
import { rawTcpRow, rawUdsRow } from './raw.js';
import type { Row, RowGoal } from './row.js';

export type { EchoSession, Row, RowContext, RowGoal, RowMeasurement } from './row.js';

/** The row every other row is compared with: raw node:net TCP over IPv4, no framework. */
export const BASELINE = 'raw-tcp';

/**
 * p50 goals, as ratios within one run. Issue 2: fastpath over TCP costs at most 15 % more than raw
 * TCP. Issue 3: shm-inline at most 1/10 of raw TCP (a 10x reduction), shm-adaptive at most 1/5,
 * shm-worker at most raw Unix socket, and the uds tier at most 1.15x raw Unix socket.
 */
export const GOALS: Readonly<Record<string, RowGoal>> = {
  'fastpath-tcp': { maxP50Ratio: 1.15, source: 'issue 2' },
  'fastpath-uds': { maxP50Ratio: 1.15, against: 'raw-uds', source: 'issue 3' },
  'fastpath-shm-inline': { maxP50Ratio: 0.1, source: 'issue 3' },
  'fastpath-shm-worker': { maxP50Ratio: 1, against: 'raw-uds', source: 'issue 3' },
  'fastpath-shm-adaptive': { maxP50Ratio: 0.2, source: 'issue 3' },
};

/** Every ping-pong row, in table order. The first is the baseline. */
export const ROWS: readonly Row[] = [
  rawTcpRow(4),
  rawTcpRow(6),
  rawUdsRow(),
  ...FASTPATH_TARGETS.map((t) => fastpathRow(t, GOALS[t.row])),
  grpcRow('tcp'),
  grpcRow('unix'),
  rawTcpNetnsRow(),
  fastpathTcpNetnsRow(),
];

/** Rows that must run with a given row: the reference rows of its goal. */
export function companions(rows: readonly Row[] = ROWS): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rows) if (r.goal?.against !== undefined) out[r.name] = [r.goal.against];
  return out;
}
