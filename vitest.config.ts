import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the TypeScript sources: no build step. Child processes started by tests use
// `node -C fastpath-src --import tsx`, which resolves the packages' "fastpath-src" export condition.
export default defineConfig({
  resolve: {
    alias: {
      '@fastpath/core': src('./packages/core/src/index.ts'),
      '@fastpath/native': src('./packages/native/src/index.ts'),
      '@fastpath/codegen': src('./packages/codegen/src/index.ts'),
    },
  },
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      { extends: true, test: { name: 'core', include: ['packages/core/src/**/*.test.ts'] } },
      { extends: true, test: { name: 'native', include: ['packages/native/src/**/*.test.ts'] } },
      { extends: true, test: { name: 'codegen', include: ['packages/codegen/src/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts', 'examples/**/*.test.ts', 'bench/src/**/*.test.ts'], testTimeout: 60_000 },
      },
    ],
  },
});
