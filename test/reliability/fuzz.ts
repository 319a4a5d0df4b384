// `npm run fuzz`: the fuzzers with their long counts (docs/reliability.md lists them). Runs vitest
// on the fuzz suites with FASTPATH_FUZZ=long (FASTPATH_FUZZ_RUNS=<n>, if set, overrides every
// count; FASTPATH_FUZZ_SEED=<n> replays a live-fuzz run). Extra arguments go to vitest.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const files = [
  'packages/core/src/protocol/frame-parser.test.ts',
  'packages/core/src/protocol/codec.test.ts',
  'packages/core/src/protocol/decoders-fuzz.test.ts',
  'test/reliability/live-fuzz.test.ts',
  'test/reliability/shm-ring-hostile.test.ts',
];
const r = spawnSync(process.execPath, [vitest, 'run', ...files, '--testTimeout=3600000', '--hookTimeout=600000', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FASTPATH_FUZZ: process.env.FASTPATH_FUZZ ?? 'long' },
});
process.exit(r.status ?? 1);
