/**
 * The pipelined-calls section: calls per second with `inFlight` calls outstanding, per tier, and
 * raw node:net TCP (pipelined 64-byte echoes, one write() per message) for reference.
 */
import type { Client } from '@fastpath/core';
import type net from 'node:net';
import { FixedMessages } from './fixed-messages.js';
import type { PipelineSettings } from './options.js';
import { makePayload, readSeq, SEQ_OFFSET } from './payload.js';
import { withPeer } from './peer-process.js';
import { pipeline, type CallDone, type PipelineChannel, type PipelineResult } from './pipeline.js';
import { connectRawEcho } from './raw-socket.js';
import { ECHO_METHOD, withFastpathClient } from './rows/fastpath.js';
import { RAW_ECHO_PEER } from './rows/raw.js';
import type { Progress } from './run-rows.js';
import { FASTPATH_TARGETS, targetLabel, targetSkipReason } from './targets.js';

export interface PipelineStats {
  inFlight: number;
  calls: number;
  elapsedMs: number;
  callsPerSec: number;
  /** True when the time bound ended the run before the call count did. */
  timeBound: boolean;
}

export interface PipelineRowResult {
  name: string;
  description: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  details?: Record<string, string | number>;
  stats?: PipelineStats;
  /** callsPerSec / the baseline's callsPerSec. */
  vsBaseline?: { ratio: number };
}

interface PipelineRow {
  name: string;
  description: string;
  skipReason(): string | undefined;
  measure(s: PipelineSettings): Promise<{ result: PipelineResult; details: Record<string, string | number> }>;
}

/** fastpath: each request is `client.call('Bench.echo', payload)`; the answer must carry the same sequence number. */
export function callPipelineChannel(client: Client, payloadBytes: number): PipelineChannel {
  const payload = makePayload(payloadBytes);
  return {
    call(seq, done) {
      // The call encodes the payload before it returns, so the buffer can be reused at once.
      payload.writeUInt32LE(seq >>> 0, SEQ_OFFSET);
      client.call(ECHO_METHOD, payload).then(
        (res) => {
          if (!(res instanceof Uint8Array) || res.length !== payloadBytes || readSeq(res) !== seq >>> 0) done(new Error(`call ${seq}: the answer is not the request sent`));
          else done(null);
        },
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
    },
  };
}

/** raw node:net: one write() per request; the echoes come back in order and are matched in order. */
export function rawPipelineChannel(socket: net.Socket, payloadBytes: number): PipelineChannel {
  const template = makePayload(payloadBytes);
  let waiting: Array<{ seq: number; done: CallDone }> = [];
  let head = 0;
  const failAll = (err: Error): void => {
    const w = waiting.slice(head);
    waiting = [];
    head = 0;
    for (const x of w) x.done(err);
  };
  const messages = new FixedMessages(payloadBytes, (msg) => {
    const w = waiting[head++];
    if (head === waiting.length) {
      waiting = [];
      head = 0;
    }
    if (w === undefined) return failAll(new Error('an echo arrived that no request was waiting for'));
    w.done(readSeq(msg) === w.seq >>> 0 ? null : new Error(`request ${w.seq}: the echo carries sequence ${readSeq(msg)}`));
  });
  socket.on('data', (chunk: Buffer) => messages.push(chunk));
  socket.on('error', (err) => failAll(err));
  socket.on('close', () => failAll(new Error('the echo peer closed the connection')));
  return {
    call(seq, done) {
      // A fresh buffer per write: node may keep a reference until the kernel takes the bytes.
      const b = Buffer.allocUnsafe(payloadBytes);
      template.copy(b);
      b.writeUInt32LE(seq >>> 0, SEQ_OFFSET);
      waiting.push({ seq, done });
      socket.write(b);
    },
  };
}

const PAYLOAD_BYTES = 64;

function rawRow(): PipelineRow {
  return {
    name: 'raw-tcp',
    description: 'raw node:net TCP echo over 127.0.0.1, pipelined 64-byte messages, one write() per message',
    skipReason: () => undefined,
    measure: (s) =>
      withPeer(RAW_ECHO_PEER, ['127.0.0.1'], async (peer) => {
        const socket = await connectRawEcho(peer.info, PAYLOAD_BYTES);
        try {
          const result = await pipeline(rawPipelineChannel(socket, PAYLOAD_BYTES), s);
          return { result, details: { peer: peer.info.address, peerPid: peer.info.pid } };
        } finally {
          socket.destroy();
        }
      }),
  };
}

/** Every row of the section, in table order; the first is the baseline. */
export const PIPELINE_ROWS: readonly PipelineRow[] = [
  rawRow(),
  ...FASTPATH_TARGETS.map(
    (t): PipelineRow => ({
      name: t.row,
      description: `fastpath Client.call('${ECHO_METHOD}') with 64-byte payloads, ${targetLabel(t)}`,
      skipReason: () => targetSkipReason(t),
      measure: (s) =>
        withFastpathClient(t, async (client, details) => ({ result: await pipeline(callPipelineChannel(client, PAYLOAD_BYTES), s), details })),
    }),
  ),
];

/** Runs the rows named in `rows` one after another and compares each with the baseline. */
export async function runPipelineSection(rows: readonly string[], s: PipelineSettings, baseline: string, progress: Progress = () => {}): Promise<PipelineRowResult[]> {
  const results: PipelineRowResult[] = [];
  for (const row of PIPELINE_ROWS.filter((r) => rows.includes(r.name))) {
    const base = { name: row.name, description: row.description };
    const skip = row.skipReason();
    if (skip !== undefined) {
      progress(`pipeline ${row.name}: skipped (${skip})`);
      results.push({ ...base, status: 'skipped', reason: skip });
      continue;
    }
    progress(`pipeline ${row.name}: ${s.inFlight} in flight, ${s.warmup} warm-up + at most ${s.calls} calls or ${s.maxMs} ms...`);
    try {
      const { result, details } = await row.measure(s);
      const elapsedMs = result.elapsedNs / 1e6;
      const stats: PipelineStats = { inFlight: s.inFlight, calls: result.calls, elapsedMs, callsPerSec: result.elapsedNs > 0 ? (result.calls * 1e9) / result.elapsedNs : Number.NaN, timeBound: result.timeBound };
      progress(`pipeline ${row.name}: ${Math.round(stats.callsPerSec).toLocaleString('en-US')} calls/s`);
      results.push({ ...base, status: 'ok', details, stats });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      progress(`pipeline ${row.name}: FAILED: ${reason}`);
      results.push({ ...base, status: 'failed', reason });
    }
  }
  const b = results.find((r) => r.name === baseline && r.stats)?.stats;
  if (b) for (const r of results) if (r.stats) r.vsBaseline = { ratio: r.stats.callsPerSec / b.callsPerSec };
  return results;
}
