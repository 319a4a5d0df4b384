// Iteration counts of the reliability suite. CI runs the short counts; `npm run fuzz` and
// `npm run soak` run the long ones (docs/reliability.md lists both).
//
//   FASTPATH_FUZZ=long        every fuzzer uses its long count (set by `npm run fuzz`)
//   FASTPATH_FUZZ_RUNS=<n>    every fuzzer uses exactly n (overrides both)
//   FASTPATH_SOAK=1           load and leak tests use their long counts (set by `npm run soak`)

const env = process.env;

export const FUZZ_LONG = env.FASTPATH_FUZZ === 'long';
export const SOAK = env.FASTPATH_SOAK === '1';

function explicitRuns(): number | undefined {
  const n = Number(env.FASTPATH_FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Runs of one fuzzer: `short` in CI, `long` with FASTPATH_FUZZ=long, FASTPATH_FUZZ_RUNS if set. */
export function fuzzRuns(short: number, long: number): number {
  return explicitRuns() ?? (FUZZ_LONG ? long : short);
}

/** A test's time limit: generous in the long modes, where the counts are 10 to 100 times larger. */
export function timeLimit(ciMs: number): number {
  return FUZZ_LONG || SOAK || explicitRuns() !== undefined ? 60 * 60_000 : ciMs;
}
