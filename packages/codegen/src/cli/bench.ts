/**
 * `fastpath bench [options]`: runs the benchmark (the same as `npm run bench -- [options]`) with
 * every option passed through. The benchmark lives in the repository's bench/ workspace, which
 * is not published: the command works from a checkout of the repository.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIO, Command } from './commands.js';

export const BENCH_HELP = `Usage: fastpath bench [options]

Runs the fastpath benchmark (npm run bench): ping-pong latency on every tier next to raw
node:net and @grpc/grpc-js, payload sizes from 16 B to 1 MiB, pipelined calls and pub-sub
throughput, validation cost. Every option is passed to it; the common ones:

  --quick             a fast look, a minute or less
  --json [file]       write the JSON report (default bench-results.json)
  --svg [file]        write the latency distribution chart (default bench-results.svg)
  --sections <a,b>    pingpong, sizes, pipeline, pubsub, validation
  --rows <a,b>        only these rows

\`fastpath bench --help\` prints all of them. The benchmark is part of the repository (bench/),
not of the published packages: run it from a checkout. See docs/benchmarks.md.
`;

/** bench/src/main.ts of the repository this file belongs to, looked for upward from here. */
export function findBenchMain(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'bench', 'src', 'main.ts');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

export const benchCommand: Command = {
  name: 'bench',
  help: BENCH_HELP,
  async run(args: string[], io: CliIO): Promise<number> {
    const main = findBenchMain();
    if (main === undefined) {
      io.err('fastpath bench: the benchmark is not here: it is part of the fastpath repository (bench/), not of the published packages.\nRun it from a checkout: npm ci && npm run bench\n');
      return 2;
    }
    const repoRoot = dirname(dirname(dirname(main)));
    // The bench runs from TypeScript sources, as `npm run bench` does: no build step. It runs in
    // the repository (where tsx resolves); INIT_CWD tells it where relative output paths go.
    const child = spawn(process.execPath, ['-C', 'fastpath-src', '--import', 'tsx', main, ...args], {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...io.env, INIT_CWD: process.cwd() },
    });
    return new Promise<number>((resolve) => {
      child.once('error', (err) => {
        io.err(`fastpath bench: cannot start the benchmark: ${err.message}\n`);
        resolve(1);
      });
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1)));
    });
  },
};

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Partial<Record<NodeJS.Signals, number>>)[signal];
}
