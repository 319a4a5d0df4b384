import { fastpathTcpRow } from './fastpath-tcp.js';
import { rawTcpRow } from './raw-tcp.js';
import type { Row } from './row.js';

export type { Row, RowContext, RowGoal, RowMeasurement } from './row.js';

/** Every row, in table order. The first is the baseline. */
export const ROWS: readonly Row[] = [rawTcpRow(4), rawTcpRow(6), fastpathTcpRow()];

/** The row every other row is compared with: raw node:net TCP over IPv4, no framework. */
export const BASELINE = 'raw-tcp';
