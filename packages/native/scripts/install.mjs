#!/usr/bin/env node
// `npm install` / `npm ci` hook. A prebuilt binary for this platform (prebuilds/<platform>-<arch>/,
// shipped in the tarball by `npm run prebuild` / prepack) is used when it loads and is not older
// than the sources; otherwise the addon is built with npm's bundled node-gyp
// (FASTPATH_BUILD_FROM_SOURCE=1 always builds). It never fails the install. When it cannot build, it prints one line with the reason, writes the same reason to
// build/fallback-reason.txt (which src/native.ts reports), and exits 0: fastpath then runs on the
// uds/tcp tiers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const buildDir = join(root, 'build');
const reasonFile = join(buildDir, 'fallback-reason.txt');
const logFile = join(buildDir, 'build.log');

function fallback(reason, log) {
  try {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(reasonFile, `${reason}\n`);
    if (log) writeFileSync(logFile, log);
  } catch {
    // a read-only tree: the line below still says why
  }
  console.warn(`@fastpath/native: native addon not built (${reason}); fastpath falls back to the uds/tcp tiers`);
  process.exit(0);
}

// The prebuilt binary for this platform, when it is at least as new as every C++ source (a tarball
// gives all its files one mtime; in a checkout an edited source wins) and loads in a child node.
function usablePrebuild() {
  const file = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'fastpath_native.node');
  if (!existsSync(file)) return undefined;
  const t = statSync(file).mtimeMs;
  for (const dir of ['src', 'src/win']) {
    let names = [];
    try {
      names = readdirSync(join(root, dir));
    } catch {
      continue;
    }
    for (const n of names) {
      if (/\.(cc|h)$/.test(n) && statSync(join(root, dir, n)).mtimeMs > t) return undefined;
    }
  }
  const r = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', file], { stdio: 'ignore', timeout: 30_000 });
  return !r.error && r.status === 0 ? file : undefined;
}

function runs(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  return !r.error && r.status === 0;
}

try {
  const flag = process.env.FASTPATH_NATIVE;
  if (flag === '0' || flag === 'false' || flag === 'off') fallback('FASTPATH_NATIVE=0 at install time');
  const fromSource = ['1', 'true'].includes(process.env.FASTPATH_BUILD_FROM_SOURCE ?? '');
  const prebuilt = fromSource ? undefined : usablePrebuild();
  if (prebuilt) {
    rmSync(reasonFile, { force: true });
    rmSync(join(buildDir, 'Release', 'fastpath_native.node'), { force: true }); // src/native.ts prefers build/Release
    console.log(`@fastpath/native: using the prebuilt binary ${prebuilt.slice(root.length + 1)}`);
    process.exit(0);
  }
  if (process.platform !== 'linux' && process.platform !== 'win32') fallback(`the native transports are built for Linux and Windows only (platform ${process.platform})`);

  if (process.platform === 'linux') {
    const cxx = (process.env.CXX || 'g++').trim().split(/\s+/);
    if (!runs(cxx[0], [...cxx.slice(1), '--version'])) fallback(`no C++ compiler: "${cxx.join(' ')}" cannot be run, and no prebuilt binary for linux-${process.arch}`);
    if (!runs('make', ['--version'])) fallback('no make on PATH');
  }

  // npm puts its bundled node-gyp in npm_config_node_gyp (and on PATH) for lifecycle scripts.
  const gyp = process.env.npm_config_node_gyp;
  const [cmd, args] = gyp && existsSync(gyp) ? [process.execPath, [gyp]] : ['node-gyp', []];
  const r = spawnSync(cmd, [...args, 'rebuild'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 10 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) fallback(`node-gyp could not be run: ${r.error.message}`, log);
  if (r.status !== 0 || !existsSync(join(buildDir, 'Release', 'fastpath_native.node'))) {
    const lines = log.split('\n');
    const first = lines.find((l) => /\berror\b/i.test(l) && !/^gyp ERR! (stack|cwd|node|System|command|not ok)/.test(l));
    fallback(`build failed: ${(first ?? `node-gyp exited with ${r.status}`).trim().slice(0, 200)}; see build/build.log`, log);
  }
  rmSync(reasonFile, { force: true });
  console.log('@fastpath/native: native addon built (build/Release/fastpath_native.node)');
} catch (err) {
  fallback(`install script error: ${err && err.message ? err.message : String(err)}`);
}
