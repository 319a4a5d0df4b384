import { makePayload, readStamp, stamp } from './payload.js';

/** Called once per send, when the whole echo has arrived (or the round trip failed). */
export type EchoDone = (err: Error | null, echo?: Uint8Array) => void;

/**
 * One way to send a payload to an echo peer. Every row provides one; the ping-pong loop is shared.
 * `send` must call `done` exactly once and never synchronously (any real socket satisfies this).
 * The payload buffer is reused for the next round trip, which starts only after `done`.
 */
export interface EchoChannel {
  send(payload: Buffer, done: EchoDone): void;
}

export interface PingPongOptions {
  /** Round trips made and thrown away before measuring. */
  warmup: number;
  /** Measured round trips. */
  n: number;
  payloadBytes: number;
  /**
   * Optional time bound in ms: the warm-up ends after `warmup` round trips or `maxMs`, and
   * measuring ends after `n` round trips or `maxMs` (at least one is always measured).
   */
  maxMs?: number;
  /** Called every 1 024 round trips with the round trips made so far (warm-up included) and the planned total. */
  onProgress?: (done: number, total: number) => void;
}

export interface PingPongResult {
  /** Round-trip times in µs, in the order they were measured. */
  samplesUs: Float64Array;
  /** From the send of the first measured round trip to the arrival of the last echo, in ns. */
  elapsedNs: number;
}

/**
 * Ping-pong: send, wait for the full echo, repeat; `warmup` round trips first, then `n` measured
 * (each phase also ends at `maxMs`, when given).
 * The RTT of a round trip is the arrival time minus the timestamp carried back in the echo. Every
 * echo must equal the payload that was sent, byte for byte, or the run fails.
 */
export function pingPong(channel: EchoChannel, options: PingPongOptions): Promise<PingPongResult> {
  const { n, onProgress } = options;
  let warmup = options.warmup;
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be a non-negative integer, got ${warmup}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (options.maxMs !== undefined && !(options.maxMs > 0)) throw new RangeError(`maxMs must be positive, got ${options.maxMs}`);
  const boundNs = options.maxMs === undefined ? undefined : BigInt(Math.round(options.maxMs * 1e6));
  const payload = makePayload(options.payloadBytes);
  const samplesUs = new Float64Array(n);
  let total = warmup + n;

  return new Promise((resolve, reject) => {
    let i = 0;
    let firstSend = 0n;
    let phaseStart = process.hrtime.bigint();
    let finished = false;

    const fail = (err: Error): void => {
      if (finished) return;
      finished = true;
      reject(err);
    };

    const onEcho: EchoDone = (err, echo) => {
      const arrived = process.hrtime.bigint();
      if (finished) return;
      if (err) return fail(err);
      if (echo === undefined || echo.length !== payload.length || !payload.equals(echo)) {
        return fail(new Error(`round trip ${i}: the echo (${echo?.length ?? 0} bytes) differs from the ${payload.length}-byte payload sent`));
      }
      if (i >= warmup) samplesUs[i - warmup] = Number(arrived - readStamp(echo)) / 1000;
      i++;
      if (onProgress !== undefined && (i & 1023) === 0) onProgress(i, total);
      if (boundNs !== undefined && arrived - phaseStart > boundNs) {
        // The time bound ends the warm-up early, or ends measuring after what was measured so far.
        if (i < warmup) {
          warmup = i;
          total = warmup + n;
        } else if (i > warmup) total = i;
      }
      if (i < total) {
        next();
        return;
      }
      finished = true;
      resolve({ samplesUs: i - warmup === n ? samplesUs : samplesUs.slice(0, i - warmup), elapsedNs: Number(arrived - firstSend) });
    };

    const next = (): void => {
      const sentAt = stamp(payload, i);
      if (i === warmup) {
        firstSend = sentAt;
        phaseStart = sentAt;
      }
      try {
        channel.send(payload, onEcho);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    };

    next();
  });
}
