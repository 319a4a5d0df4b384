// The published shape: tsup builds ESM + CJS + .d.ts per package, and the exports maps resolve
// them for both module systems. Two copies of core (ESM and CJS) also exercise the error brand.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/spawn.js';

const run = promisify(execFile);

describe('packaging', () => {
  it.each(['core', 'native', 'codegen'])('@fastpath/%s builds to ESM, CJS and .d.ts with a matching exports map', async (name) => {
    const dir = join(repoRoot, 'packages', name);
    await run(process.execPath, [join(repoRoot, 'node_modules/tsup/dist/cli-default.js')], { cwd: dir, timeout: 120_000 });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      exports: { '.': { import: { types: string; default: string }; require: { types: string; default: string } } };
    };
    const e = pkg.exports['.'];
    for (const f of [e.import.types, e.import.default, e.require.types, e.require.default]) expect(existsSync(join(dir, f)), f).toBe(true);
  });

  it('ESM and CJS builds of core interoperate, and errors are recognised across the two copies', async () => {
    const script = `
      const cjs = require('@fastpath/core');
      (async () => {
        const esm = await import('@fastpath/core');
        if (esm.FastpathError === cjs.FastpathError) throw new Error('expected two copies');
        const server = new esm.Server({ listen: 'tcp://127.0.0.1:0' });
        server.handle('T.fail', () => { throw new esm.FastpathError('NOT_FOUND', 'nothing here'); });
        server.handle('T.add', ({ a, b }) => ({ sum: a + b }));
        await server.start();
        const client = await cjs.connect(server.address);
        const sum = (await client.call('T.add', { a: 1, b: 2 })).sum;
        let err;
        try { await client.call('T.fail', {}); } catch (e) { err = e; }
        console.log(JSON.stringify({ sum, code: err.code, cjsIs: cjs.FastpathError.is(err), esmInstanceof: err instanceof esm.FastpathError }));
        await client.close();
        await server.close();
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: repoRoot, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ sum: 3, code: 'NOT_FOUND', cjsIs: true, esmInstanceof: true });
  });
});
