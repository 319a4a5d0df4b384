/**
 * Pipelined calls: keep `inFlight` requests outstanding at all times (each answer starts the next
 * request), count answers, and report answers per second. The first `warmup` answers are not
 * measured (the warm-up also ends after `maxMs`, so a slow row still gets measured); measuring
 * stops after `calls` measured answers or `maxMs`, whichever comes first, and the calls still in
 * flight then are waited for and counted.
 */

/** Called once per request, when its answer has arrived and been checked (or the call failed). */
export type CallDone = (err: Error | null) => void;

/**
 * One way to make calls. `call(seq, done)` sends request number `seq` and must call `done`
 * exactly once, never synchronously; many calls are outstanding at once.
 */
export interface PipelineChannel {
  call(seq: number, done: CallDone): void;
}

export interface PipelineOptions {
  /** Requests kept outstanding. */
  inFlight: number;
  /** Answers made before measuring (or fewer, if they take longer than `maxMs`). */
  warmup: number;
  /** At most this many measured answers. */
  calls: number;
  /** Stop starting calls this long after measuring began. */
  maxMs: number;
}

export interface PipelineResult {
  /** Measured answers (after warm-up). */
  calls: number;
  /** From the end of the warm-up to the last answer, in ns. */
  elapsedNs: number;
  /** True when the time bound, not the call count, ended the run. */
  timeBound: boolean;
}

/** How often (in answers) the clock is read to check the time bound. */
const CLOCK_EVERY = 64;

export function pipeline(channel: PipelineChannel, options: PipelineOptions): Promise<PipelineResult> {
  const { inFlight, warmup, calls, maxMs } = options;
  for (const [k, v, min] of [
    ['inFlight', inFlight, 1],
    ['warmup', warmup, 0],
    ['calls', calls, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${k} must be an integer >= ${min}, got ${v}`);
  }
  if (!(maxMs > 0)) throw new RangeError(`maxMs must be positive, got ${maxMs}`);

  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    let outstanding = 0;
    let stopping = false;
    let timeBound = false;
    let finished = false;
    const deadlineNs = BigInt(Math.round(maxMs * 1e6));
    let start = process.hrtime.bigint();
    /** Answers made before measuring began; Infinity while warming up. */
    let warmedAt = warmup === 0 ? 0 : Infinity;
    let total = warmup + calls;

    const beginMeasuring = (): void => {
      warmedAt = answered;
      total = answered + calls;
      start = process.hrtime.bigint();
    };

    const launch = (): void => {
      const seq = sent++;
      outstanding++;
      try {
        channel.call(seq, onDone);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    };

    const fail = (err: Error): void => {
      if (finished) return;
      finished = true;
      reject(err);
    };

    const onDone: CallDone = (err) => {
      if (finished) return;
      if (err) return fail(err);
      outstanding--;
      answered++;
      const clock = answered % CLOCK_EVERY === 0;
      // The warm-up ends after `warmup` answers, or at the time bound.
      if (warmedAt === Infinity && (answered === warmup || (clock && process.hrtime.bigint() - start > deadlineNs))) beginMeasuring();
      if (!stopping) {
        if (sent >= total) stopping = true;
        else if (clock && warmedAt !== Infinity && process.hrtime.bigint() - start > deadlineNs) {
          stopping = true;
          timeBound = true;
        }
      }
      if (!stopping) {
        launch();
        return;
      }
      if (outstanding > 0) return;
      finished = true;
      resolve({ calls: answered - warmedAt, elapsedNs: Number(process.hrtime.bigint() - start), timeBound });
    };

    const first = Math.min(inFlight, total);
    for (let i = 0; i < first && !finished; i++) launch();
  });
}
