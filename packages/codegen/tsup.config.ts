import { defineConfig } from 'tsup';

// tsup's declaration build sets `baseUrl`, which TypeScript 6 deprecates: tsconfig.build.json
// silences that one deprecation for the build only (type-checking uses the root tsconfig).
//
// Two entries: the library (index) and the `fastpath` bin (cli, from src/cli/main.ts, whose
// `#!/usr/bin/env node` line esbuild keeps and tsup turns into an executable file). One config,
// not an array: tsup runs array entries in parallel and `clean` in one could delete the other's
// output. Declarations are for the library only. The bin uses @fastpath/core (and, through core's
// loader, @fastpath/native) from node_modules at run time, never a bundled second copy: the
// native package registers its tier with the copy of core that loads it.
export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  tsconfig: 'tsconfig.build.json',
  clean: true,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  external: ['@fastpath/core', '@fastpath/native'],
  // The CLI reads its version from package.json next to import.meta.url; shim that for the CJS copy.
  shims: true,
});
