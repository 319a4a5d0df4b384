// Item 4 of issue 7 (a Linux test; it sits with the Windows work because it checks the prebuilds):
// `npm pack` core and native, install both tarballs into an empty project on a "machine" with no
// compiler (PATH holds only node; CXX=false), and get a working shm tier from the prebuilt
// linux-x64 binary the native tarball ships. Then the same without the prebuilds: the install
// must still succeed, say why, and leave fastpath working in pure TypeScript.
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
  /** Builds the prebuild and packs core and native, once for the file. */
  let packed: Promise<{ core: string; native: string }> | undefined;
  const packOnce = (): Promise<{ core: string; native: string }> => (packed ??= (async () => {
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
    return { core: await npmPack('core'), native: await npmPack('native') };
  })());

  /** An empty project whose PATH holds only node and sh: no g++, no make. */
  function noCompilerApp(name: string): { app: string; env: NodeJS.ProcessEnv; npmCli: string } {
    const dir = join(work, name);
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    writeFileSync(join(app, 'main.mjs'), MAIN);
    const npmCli = join(dirname(dirname(process.execPath)), 'lib/node_modules/npm/bin/npm-cli.js');
    // npm runs from its absolute path and runs install scripts with sh; CXX=false in case a
    // compiler is found some other way.
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, CXX: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_foreground_scripts: 'true' };
    delete env.FASTPATH_NATIVE;
    return { app, env, npmCli };
  }

  // One call over whatever tier the connection gets, waiting briefly for a same-host upgrade.
  const MAIN = `import { connect, Server } from '@fastpath/core';
    import { nativeStatus } from '@fastpath/native';
    const server = new Server({ listen: 'tcp://127.0.0.1:0' });
    server.handle('T.add', ({ a, b }) => ({ sum: a + b }));
    await server.start();
    const client = await connect(server.address);
    for (let i = 0; i < 50 && client.path === 'tcp'; i++) await new Promise((r) => setTimeout(r, 20));
    const { sum } = await client.call('T.add', { a: 2, b: 3 });
    console.log(JSON.stringify({ sum, path: client.path, reason: client.pathInfo.reason, native: nativeStatus }));
    await client.close();
    await server.close();`;

  interface MainResult { sum: number; path: string; reason?: string; native: { loaded: boolean; path?: string; reason?: string } }
  async function runMain(app: string, env: NodeJS.ProcessEnv): Promise<MainResult> {
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: app, env, timeout: 30_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as MainResult;
  }

  it('a packed core + native installs without a compiler and gets the shm tier from prebuilds/linux-x64', async () => {
    const { core, native } = await packOnce();
    const { app, env, npmCli } = noCompilerApp('with-prebuild');
    const install = await run(process.execPath, [npmCli, 'install', '--prefer-offline', core, native], { cwd: app, env, timeout: 180_000 });
    expect(`${install.stdout}${install.stderr}`).toContain('using the prebuilt binary prebuilds/linux-x64/fastpath_native.node');
    expect(existsSync(join(app, 'node_modules/@fastpath/native/build/Release/fastpath_native.node'))).toBe(false);
    const r = await runMain(app, env);
    expect(r.sum).toBe(5);
    expect(r.native.loaded).toBe(true);
    expect(r.native.path).toContain(join('prebuilds', 'linux-x64'));
    expect(r.path).toBe('shm');
  }, 420_000);

  it('with no prebuild for the platform and no compiler, the install still succeeds and fastpath runs in pure TypeScript', async () => {
    const { core, native } = await packOnce();
    // The same native tarball without its prebuilds: as on a platform nothing was prebuilt for.
    const x = join(work, 'strip');
    mkdirSync(x);
    await run('tar', ['xzf', native, '-C', x]);
    rmSync(join(x, 'package/prebuilds'), { recursive: true, force: true });
    const stripped = join(work, 'native-no-prebuilds.tgz');
    await run('tar', ['czf', stripped, '-C', x, 'package']);
    const { app, env, npmCli } = noCompilerApp('no-prebuild');
    const install = await run(process.execPath, [npmCli, 'install', '--prefer-offline', core, stripped], { cwd: app, env, timeout: 180_000 });
    const said = `${install.stdout}${install.stderr}`;
    expect(said).toMatch(/@fastpath\/native: native addon not built \(no C\+\+ compiler: "false" cannot be run, and no prebuilt binary for linux-x64\); fastpath falls back/);
    const r = await runMain(app, env);
    expect(r.sum).toBe(5);
    expect(r.native).toMatchObject({ loaded: false });
    expect(r.native.reason).toMatch(/no C\+\+ compiler/);
    // Without the addon the best same-host tier is the pure-TypeScript Unix socket, and the path
    // says why it is not shm.
    expect(r.path).toBe('uds');
    expect(r.reason).toMatch(/^shm: native addon unavailable: addon not built: no C\+\+ compiler/);
  }, 420_000);
});
