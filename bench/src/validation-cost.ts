/**
 * The in-process cost of the generated validators: `validate()` of the Standard Schema that the
 * server runs on every request (the client runs the same check on every response), on a valid
 * message, in ns per message. Each repetition runs a fixed number of validations (calibrated so a
 * repetition takes about `maxMs / reps`); the median over the repetitions is reported. The whole
 * measurement of one message size is bounded by `maxMs` (at least 3 repetitions run).
 */
import { BenchValidationValidators } from './generated/bench-validation.js';
import { encodedBytes, makeMessage, type MessageSize } from './validation-messages.js';

export interface ValidationCostSettings {
  /** Repetitions per message size (the median is reported). */
  reps: number;
  /** Time bound of the measurement of one message size, in ms. */
  maxMs: number;
}

export interface ValidationCost {
  message: MessageSize;
  /** MessagePack size of the message. */
  bytes: number;
  /** Repetitions actually run (fewer than asked when the time bound hit). */
  reps: number;
  iterationsPerRep: number;
  /** Median over the repetitions. */
  nsPerMessage: number;
  minNs: number;
  maxNs: number;
  /** ns per message of each repetition, in the order measured. */
  samplesNs: number[];
}

const MIN_REPS = 3;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `iterations` validations; returns the elapsed ns. Throws if the message is refused. */
function batch(validate: (v: unknown) => unknown, msg: unknown, iterations: number): number {
  let failures = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const r = validate(msg) as { issues?: unknown };
    if (r.issues !== undefined) failures++;
  }
  const ns = Number(process.hrtime.bigint() - start);
  if (failures > 0) throw new Error(`the benchmark message was refused by its validator: ${JSON.stringify((validate(msg) as { issues?: unknown }).issues)}`);
  return ns;
}

export function measureValidationCost(size: MessageSize, settings: ValidationCostSettings): ValidationCost {
  const msg = makeMessage(size);
  const standard = BenchValidationValidators[size].request['~standard'];
  const validate = (v: unknown): unknown => {
    const r = standard.validate(v);
    if (r instanceof Promise) throw new Error('the generated validator is asynchronous');
    return r;
  };
  const deadline = performance.now() + settings.maxMs;
  const repNs = (settings.maxMs * 1e6) / (settings.reps + 1);
  // Calibrate (also the warm-up): double the batch until it takes a tenth of a repetition, then
  // one batch of the estimated size, warm by now, fixes the count.
  const fit = (iters: number, ns: number): number => Math.min(1 << 28, Math.max(1, Math.round((iters * repNs) / Math.max(ns, 1))));
  let iterations = 64;
  for (;;) {
    const ns = batch(validate, msg, iterations);
    if (ns >= repNs / 10 || iterations >= 1 << 26) {
      iterations = fit(iterations, ns);
      break;
    }
    iterations *= 2;
  }
  iterations = fit(iterations, batch(validate, msg, iterations));
  const samplesNs: number[] = [];
  while (samplesNs.length < settings.reps && (samplesNs.length < MIN_REPS || performance.now() < deadline)) {
    samplesNs.push(batch(validate, msg, iterations) / iterations);
  }
  return {
    message: size,
    bytes: encodedBytes(msg),
    reps: samplesNs.length,
    iterationsPerRep: iterations,
    nsPerMessage: median(samplesNs),
    minNs: Math.min(...samplesNs),
    maxNs: Math.max(...samplesNs),
    samplesNs,
  };
}
