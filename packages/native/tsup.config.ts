import { defineConfig } from 'tsup';

// tsup's declaration build sets `baseUrl`, which TypeScript 6 deprecates: tsconfig.build.json
// silences that one deprecation for the build only (type-checking uses the root tsconfig).
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  tsconfig: 'tsconfig.build.json',
  clean: true,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  // src/native.ts finds the addon from import.meta.url; the CJS build needs the shim for it.
  shims: true,
});
