import { pingPong } from '../ping-pong.js';
import type { Row, RowContext, RowMeasurement } from './row.js';

/** Starts the row's peer, ping-pongs `ctx.payloadBytes`-byte payloads against it, and stops it. */
export function measureRow(row: Row, ctx: RowContext): Promise<RowMeasurement> {
  return row.withSession(async (session) => {
    const result = await pingPong(await session.channel(ctx.payloadBytes), ctx);
    return { ...result, details: session.details };
  });
}
