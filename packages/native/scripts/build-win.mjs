#!/usr/bin/env node
// Cross-compiles the Windows x64 addon with Debian's mingw-w64 (g++-mingw-w64-x86-64-posix):
//   prebuilds/win32-x64/fastpath_native.node   the addon (imports only node.exe, KERNEL32, msvcrt,
//                                              WS2_32, ADVAPI32 and bcrypt; libstdc++ is static)
//   build/win/rio-queue-test.exe               the RIO seam's unit tests (src/win/test)
// It links against an import library made from src/win/node.def (the napi_* and uv_* exports of
// node.exe), so no Windows SDK, MSVC or node.lib is needed. Usage: node scripts/build-win.mjs
// [--out <dir>]. Exits non-zero with one line on stderr when it cannot build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(root, 'prebuilds', 'win32-x64');
const work = join(root, 'build', 'win');
const CXX = process.env.MINGW_CXX || 'x86_64-w64-mingw32-g++-posix';
const DLLTOOL = process.env.MINGW_DLLTOOL || 'x86_64-w64-mingw32-dlltool';

function die(msg) {
  console.error(`build-win: ${msg}`);
  process.exit(1);
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) die(`${cmd} cannot be run: ${r.error.message} (apt-get install g++-mingw-w64-x86-64-posix)`);
  if (r.status !== 0) die(`${cmd} failed:\n${r.stdout}${r.stderr}`);
}

// Node's headers (node_api.h and uv.h, which has the Windows half of libuv's types).
function nodeInclude() {
  const v = process.version.slice(1);
  const candidates = [
    process.env.NODE_INCLUDE_DIR,
    join(dirname(dirname(process.execPath)), 'include', 'node'),
    join(homedir(), '.cache', 'node-gyp', v, 'include', 'node'),
    '/usr/include/node',
  ].filter(Boolean);
  const found = candidates.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv', 'win.h')));
  if (!found) die(`no Node headers with uv/win.h in ${candidates.join(', ')} (run: npx node-gyp install)`);
  return found;
}

mkdirSync(work, { recursive: true });
mkdirSync(outDir, { recursive: true });
const require = createRequire(import.meta.url);
// include_dir is relative to the current directory; the compiler runs in the package root.
const addonApi = resolve(require('node-addon-api').include_dir);
const lib = join(work, 'libnode.a');
run(DLLTOOL, ['-d', join(root, 'src/win/node.def'), '-l', lib]);

const flags = ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-cast-function-type', '-D_WIN32_WINNT=0x0A00', '-DWIN32_LEAN_AND_MEAN', '-DNOMINMAX'];
const sources = [
  ...readdirSync(join(root, 'src')).filter((f) => f.endsWith('.cc')).map((f) => join('src', f)),
  ...readdirSync(join(root, 'src/win')).filter((f) => f.endsWith('.cc')).map((f) => join('src/win', f)),
];
const addon = join(outDir, 'fastpath_native.node');
run(CXX, [
  ...flags,
  '-shared',
  '-static',
  '-s',
  '-DNAPI_VERSION=8',
  '-DNAPI_DISABLE_CPP_EXCEPTIONS',
  '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  `-I${nodeInclude()}`,
  `-I${addonApi}`,
  ...sources,
  lib,
  '-lws2_32',
  '-lbcrypt',
  '-ladvapi32',
  '-o',
  addon,
]);
run(CXX, [...flags, '-static', '-s', 'src/win/test/rio-queue-test.cc', 'src/win/rio-queue.cc', 'src/win/rio-engine.cc', 'src/win/rio-fake.cc', '-lws2_32', '-o', join(work, 'rio-queue-test.exe')]);
console.log(`build-win: ${addon}`);
