#!/usr/bin/env node
/**
 * The `fastpath` bin (package.json "bin" → dist/cli.js, built by tsup from this file).
 * From the repo: node -C fastpath-src --import tsx packages/codegen/src/cli/main.ts doctor
 */
import { runCli } from './run.js';

runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fastpath: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
