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
}

export interface PingPongResult {
  /** Round-trip times in µs, in the order they were measured. */
  samplesUs: Float64Array;
  /** From the send of the first measured round trip to the arrival of the last echo, in ns. */
  elapsedNs: number;
}

/**
 * Ping-pong: send, wait for the full echo, repeat; `warmup` round trips first, then `n` measured.
 * The RTT of a round trip is the arrival time minus the timestamp carried back in the echo. Every
 * echo must equal the payload that was sent, byte for byte, or the run fails.
 */
export function pingPong(channel: EchoChannel, options: PingPongOptions): Promise<PingPongResult> {
  const { warmup, n } = options;
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be a non-negative integer, got ${warmup}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  const payload = makePayload(options.payloadBytes);
  const samplesUs = new Float64Array(n);
  const total = warmup + n;

  return new Promise((resolve, reject) => {
    let i = 0;
    let firstSend = 0n;
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
      if (i < total) {
        next();
        return;
      }
      finished = true;
      resolve({ samplesUs, elapsedNs: Number(arrived - firstSend) });
    };

    const next = (): void => {
      const sentAt = stamp(payload, i);
      if (i === warmup) firstSend = sentAt;
      try {
        channel.send(payload, onEcho);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    };

    next();
  });
}
