/**
 * `npm run gen`: regenerates every generated file in the repository (the examples, and the golden
 * files of the codegen's own tests). `--check` writes nothing and exits 1 when a file is stale,
 * which golden.test.ts also asserts.
 *
 *     node --import tsx packages/codegen/src/gen-all.ts [--check]
 */
import { fileURLToPath } from 'node:url';
import { CodegenError } from './errors.js';
import { generate, type GenerateOptions } from './generate.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const fixtures = 'packages/codegen/src/__fixtures__';

/** Every generation job of the repository (paths relative to the repository root). */
export const GEN_JOBS: ReadonlyArray<Omit<GenerateOptions, 'cwd'>> = [
  { files: ['examples/hello/greeter.ts'], outDir: 'examples/hello/generated' },
  { files: ['examples/pubsub/ticker.ts'], outDir: 'examples/pubsub/generated' },
  { files: ['examples/codegen/contract.ts'], outDir: 'examples/codegen/generated' },
  { files: ['examples/demo/market.ts'], outDir: 'examples/demo/generated' },
  { files: ['bench/src/contracts/validation.ts'], outDir: 'bench/src/generated' },
  { files: [`${fixtures}/all-types.ts`], outDir: `${fixtures}/golden` },
  { files: [`${fixtures}/strict.ts`], outDir: `${fixtures}/golden-strict`, unknownKeys: 'reject', maxDepth: 8 },
  { files: [`${fixtures}/skew/v1.ts`], outDir: `${fixtures}/skew/gen-v1` },
  { files: [`${fixtures}/skew/v2.ts`], outDir: `${fixtures}/skew/gen-v2` },
];

export async function genAll(check: boolean, log: (line: string) => void = console.log): Promise<number> {
  let stale = 0;
  for (const job of GEN_JOBS) {
    const r = await generate({ ...job, cwd: repoRoot, check });
    for (const f of r.files) log(`${f.status.padEnd(9)} ${f.path.slice(repoRoot.length)}`);
    for (const p of r.orphans) log(`${check ? 'orphaned' : 'removed'.padEnd(9)} ${p.slice(repoRoot.length)}`);
    stale += r.stale.length;
  }
  if (check && stale > 0) {
    log(`${stale} stale generated file(s): run npm run gen`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  genAll(process.argv.includes('--check')).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof CodegenError ? err.message : err);
      process.exit(1);
    },
  );
}
