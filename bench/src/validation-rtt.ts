/**
 * Ping-pong RTT with validation on and off, over one connection to one echo peer
 * (peers/validation-echo.ts), for the tcp and shm-inline targets:
 * - on: the generated client (`BenchValidationClient`, responses validated) calling a method
 *   registered by the generated `registerBenchValidation` (requests validated);
 * - off: `client.call('BenchNoValidate.small', msg)` to the same echo registered with
 *   `server.handle` and no validators.
 * The measured round trips of each mode are split into `rounds` blocks, run alternately (off, on,
 * on, off, ...), so that drift in the machine's load hits both modes alike.
 */
import { connect, type Client } from '@fastpath/core';
import { BenchValidationClient } from './generated/bench-validation.js';
import { withPeer } from './peer-process.js';
import { pingPong, type EchoChannel, type EchoDone } from './ping-pong.js';
import type { Progress } from './run-rows.js';
import { summarize, type Summary } from './stats.js';
import { checkTier, clientOptions, FASTPATH_TARGETS, serverArgs, targetLabel, targetSkipReason, TCP_TARGET, type FastpathTarget } from './targets.js';
import { makeMessage, STAMP_PAYLOAD_BYTES, UNVALIDATED_SERVICE, type MessageSize } from './validation-messages.js';

export const VALIDATION_ECHO_PEER = new URL('./peers/validation-echo.ts', import.meta.url);

/** Issue 5: validation adds at most 5 % to the shm-inline p50 RTT. */
export const VALIDATION_GOAL = { row: 'fastpath-shm-inline', maxOverhead: 0.05, source: 'issue 5' } as const;

/** The targets of the RTT part, in table order. */
export const VALIDATION_TARGETS: readonly FastpathTarget[] = [TCP_TARGET, FASTPATH_TARGETS.find((t) => t.row === VALIDATION_GOAL.row)!];

export interface ValidationRttSettings {
  /** Measured round trips per mode. */
  n: number;
  /** Round trips per mode before measuring. */
  warmup: number;
  /** Blocks each mode's round trips are split into. */
  rounds: number;
  message: MessageSize;
}

export interface ValidationRttRow {
  name: string;
  description: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  details?: Record<string, string | number>;
  /** RTT in µs without validation. */
  off?: Summary;
  /** RTT in µs with validation on both ends. */
  on?: Summary;
  /** on.p50 / off.p50 - 1. */
  overhead?: number;
  goal?: { maxOverhead: number; source: string; met: boolean };
}

type Send = (msg: { stamp: Uint8Array }) => Promise<unknown>;

/** A ping-pong channel over a message whose `stamp` is the ping-pong payload. */
function messageChannel(message: MessageSize, send: Send): EchoChannel {
  const msg = makeMessage(message);
  let pending: EchoDone | null = null;
  const take = (): EchoDone | null => {
    const d = pending;
    pending = null;
    return d;
  };
  const onResult = (res: unknown): void => {
    const stamp = (res as { stamp?: unknown } | null)?.stamp;
    if (stamp instanceof Uint8Array) take()?.(null, stamp);
    else take()?.(new Error('the echo carries no stamp bytes'));
  };
  const onError = (err: unknown): void => {
    take()?.(err instanceof Error ? err : new Error(String(err)));
  };
  return {
    send(payload, done) {
      pending = done;
      msg.stamp = payload;
      send(msg).then(onResult, onError);
    },
  };
}

function channels(client: Client, message: MessageSize): { off: EchoChannel; on: EchoChannel } {
  const typed = new BenchValidationClient(client);
  const on: Send = message === 'small' ? (m) => typed.small(m as never) : (m) => typed.large(m as never);
  const path = `${UNVALIDATED_SERVICE}.${message}`;
  return { off: messageChannel(message, (m) => client.call(path, m)), on: messageChannel(message, on) };
}

async function measure(target: FastpathTarget, settings: ValidationRttSettings): Promise<Pick<ValidationRttRow, 'details' | 'off' | 'on'>> {
  return withPeer(VALIDATION_ECHO_PEER, serverArgs(target), async (peer) => {
    const client = await connect(peer.info.address, { ...clientOptions(target), validateResponses: true });
    try {
      checkTier(client, target);
      const ch = channels(client, settings.message);
      const rounds = Math.max(1, Math.min(settings.rounds, settings.n));
      const samples = { off: [] as number[], on: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        const n = Math.floor(settings.n / rounds) + (r < settings.n % rounds ? 1 : 0);
        // The full warm-up before the first block of each mode, a short one before the others.
        const warmup = r < 2 ? settings.warmup : Math.min(settings.warmup, 100);
        const order: Array<'off' | 'on'> = r % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
        for (const mode of order) {
          const res = await pingPong(ch[mode], { n, warmup, payloadBytes: STAMP_PAYLOAD_BYTES });
          for (const s of res.samplesUs) samples[mode].push(s);
        }
      }
      return {
        details: { peer: peer.info.address, peerPid: peer.info.pid, path: client.path, rounds, message: settings.message, ...(target.shmMode ? { shmMode: target.shmMode } : {}) },
        off: summarize(samples.off),
        on: summarize(samples.on),
      };
    } finally {
      await client.close();
    }
  });
}

/** Runs the targets among `rows` one after another; skipped and failed targets are recorded as such. */
export async function runValidationRtt(rows: readonly string[], settings: ValidationRttSettings, progress: Progress = () => {}): Promise<ValidationRttRow[]> {
  const out: ValidationRttRow[] = [];
  for (const target of VALIDATION_TARGETS.filter((t) => rows.includes(t.row))) {
    const base = { name: target.row, description: `${settings.message} message echo, validation on vs off, ${targetLabel(target)}` };
    const skip = targetSkipReason(target);
    if (skip !== undefined) {
      progress(`validation ${target.row}: skipped (${skip})`);
      out.push({ ...base, status: 'skipped', reason: skip });
      continue;
    }
    progress(`validation ${target.row}: ${settings.warmup} warm-up + ${settings.n} measured round trips per mode, in ${settings.rounds} alternating blocks...`);
    try {
      const m = await measure(target, settings);
      const overhead = m.on!.p50 / m.off!.p50 - 1;
      const row: ValidationRttRow = { ...base, status: 'ok', ...m, overhead };
      if (target.row === VALIDATION_GOAL.row) row.goal = { maxOverhead: VALIDATION_GOAL.maxOverhead, source: VALIDATION_GOAL.source, met: overhead <= VALIDATION_GOAL.maxOverhead };
      out.push(row);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      progress(`validation ${target.row}: FAILED: ${reason}`);
      out.push({ ...base, status: 'failed', reason });
    }
  }
  return out;
}
