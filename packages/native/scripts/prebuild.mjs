#!/usr/bin/env node
// `npm run prebuild` (and the package's `prepack`): builds the binaries the tarball ships, so that
// an install on a machine without a compiler still gets the native tiers.
//   prebuilds/linux-x64/fastpath_native.node   node-gyp, on a Linux x64 host
//   prebuilds/win32-x64/fastpath_native.node   cross-compiled with mingw-w64 (scripts/build-win.mjs)
// A target whose toolchain is missing is skipped with one line saying why; the script fails only
// when it produced nothing at all. `--require-win` makes a missing Windows build an error;
// `--linux-only` skips the Windows one.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const requireWin = process.argv.includes('--require-win');
const made = [];

if (process.platform === 'linux' && process.arch === 'x64') {
  const env = { ...process.env, FASTPATH_BUILD_FROM_SOURCE: '1' };
  const r = spawnSync(process.execPath, [join(root, 'scripts/install.mjs')], { cwd: root, env, stdio: 'inherit' });
  const built = join(root, 'build', 'Release', 'fastpath_native.node');
  if (r.status === 0 && existsSync(built) && !existsSync(join(root, 'build', 'fallback-reason.txt'))) {
    const dir = join(root, 'prebuilds', 'linux-x64');
    mkdirSync(dir, { recursive: true });
    copyFileSync(built, join(dir, 'fastpath_native.node'));
    made.push(join(dir, 'fastpath_native.node'));
  } else {
    console.warn('prebuild: linux-x64 skipped (the build from source failed; see build/build.log)');
  }
} else {
  console.warn(`prebuild: linux-x64 skipped (host is ${process.platform}-${process.arch})`);
}

const w = process.argv.includes('--linux-only') ? { status: 1 } : spawnSync(process.execPath, [join(root, 'scripts/build-win.mjs')], { cwd: root, stdio: 'inherit' });
if (w.status === 0) made.push(join(root, 'prebuilds', 'win32-x64', 'fastpath_native.node'));
else if (requireWin) process.exit(1);
else console.warn('prebuild: win32-x64 skipped (no mingw-w64; see the line above)');

if (made.length === 0) {
  console.error('prebuild: nothing was built');
  process.exit(1);
}
console.log(`prebuild: ${made.join(', ')}`);
