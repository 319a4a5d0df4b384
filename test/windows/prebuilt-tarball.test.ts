// Item 4 of issue 7 (a Linux test; it sits with the Windows work because it checks the prebuilds):
// `npm pack` core and native, install both tarballs into an empty project on a "machine" with no
// compiler (PATH holds only node; CXX=false), and get a working shm tier from the prebuilt
// linux-x64 binary the native tarball ships.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/spawn.js';

const run = promisify(execFile);
const nativeDir = join(repoRoot, 'packages/native');
const prebuilt = join(nativeDir, 'prebuilds/linux-x64/fastpath_native.node');
const work = mkdtempSync(join(tmpdir(), 'fastpath-tarball-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function newestSource(): number {
  let t = 0;
  for (const d of ['src', 'src/win']) for (const f of readdirSync(join(nativeDir, d))) if (/\.(cc|h)$/.test(f)) t = Math.max(t, statSync(join(nativeDir, d, f)).mtimeMs);
  return t;
}

describe.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('prebuilt binaries', () => {
  it('a packed core + native installs without a compiler and gets the shm tier from prebuilds/linux-x64', async () => {
    // The prebuild (node-gyp, here, where there is a compiler), unless a fresh one exists.
    if (!existsSync(prebuilt) || statSync(prebuilt).mtimeMs < newestSource()) {
      await run(process.execPath, [join(nativeDir, 'scripts/prebuild.mjs'), '--linux-only'], { cwd: nativeDir, timeout: 240_000 });
    }
    for (const p of ['core', 'native']) {
      const dir = join(repoRoot, 'packages', p);
      if (!existsSync(join(dir, 'dist/index.js'))) await run(process.execPath, [join(repoRoot, 'node_modules/tsup/dist/cli-default.js')], { cwd: dir, timeout: 120_000 });
    }
    const packs = join(work, 'packs');
    mkdirSync(packs);
    // --ignore-scripts: prepack would rebuild the prebuilds (done above, once).
    const npmPack = async (p: string): Promise<string> => {
      const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packs, '--silent'], { cwd: join(repoRoot, 'packages', p), timeout: 60_000 });
      return join(packs, stdout.trim().split('\n').pop()!);
    };
    const core = await npmPack('core');
    const native = await npmPack('native');

    // A PATH with node and sh alone (npm runs from its absolute path; it runs scripts with sh): no
    // g++, no make.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const npmCli = join(dirname(dirname(process.execPath)), 'lib/node_modules/npm/bin/npm-cli.js');
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, CXX: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_foreground_scripts: 'true' };
    delete env.FASTPATH_NATIVE;
    const install = await run(process.execPath, [npmCli, 'install', '--prefer-offline', core, native], { cwd: app, env, timeout: 180_000 });
    expect(`${install.stdout}${install.stderr}`).toContain('using the prebuilt binary prebuilds/linux-x64/fastpath_native.node');
    expect(existsSync(join(app, 'node_modules/@fastpath/native/build/Release/fastpath_native.node'))).toBe(false);

    writeFileSync(
      join(app, 'main.mjs'),
      `import { connect, Server } from '@fastpath/core';
       import { nativeStatus } from '@fastpath/native';
       const server = new Server({ listen: 'tcp://127.0.0.1:0' });
       server.handle('T.add', ({ a, b }) => ({ sum: a + b }));
       await server.start();
       const client = await connect(server.address);
       for (let i = 0; i < 50 && client.path !== 'shm'; i++) await new Promise((r) => setTimeout(r, 20));
       const { sum } = await client.call('T.add', { a: 2, b: 3 });
       console.log(JSON.stringify({ sum, path: client.path, native: nativeStatus }));
       await client.close();
       await server.close();`,
    );
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: app, env, timeout: 30_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { sum: number; path: string; native: { loaded: boolean; path: string } };
    expect(r.sum).toBe(5);
    expect(r.native.loaded).toBe(true);
    expect(r.native.path).toContain(join('prebuilds', 'linux-x64'));
    expect(r.path).toBe('shm');
  }, 420_000);
});
