// generate() on disk (write, unchanged, check, orphans, watch) and runGen, the `fastpath gen`
// command: arguments, exit codes, and what it prints.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate, runGen, type GenerateResult } from './index.js';
import { cleanupTmp, tmpContracts } from './test-helpers/tmp.js';

afterAll(cleanupTmp);

const v1 = 'export interface Notes {\n  add(req: { text: string }): { id: number };\n}\nexport interface Tags {\n  list(): string[];\n}\n';

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, out, err };
}

describe('generate() on disk', () => {
  it('writes, leaves unchanged files alone, reports stale ones with check, and removes orphans of its contracts only', async () => {
    const dir = tmpContracts({ 'contract.ts': v1 });
    const outDir = join(dir, 'gen');
    const opts = { files: [join(dir, 'contract.ts')], outDir };
    const first = await generate(opts);
    expect(first.files.map((f) => [relative(dir, f.path), f.status])).toEqual([
      ['gen/notes.ts', 'written'],
      ['gen/tags.ts', 'written'],
    ]);
    expect((await generate(opts)).files.map((f) => f.status)).toEqual(['unchanged', 'unchanged']);

    writeFileSync(join(outDir, 'notes.ts'), `${readFileSync(join(outDir, 'notes.ts'), 'utf8')}// edited\n`);
    writeFileSync(join(outDir, 'mine.ts'), '// a file codegen did not write\n');
    const checked = await generate({ ...opts, check: true });
    expect(checked.stale.map((p) => relative(dir, p))).toEqual(['gen/notes.ts']);
    expect(readFileSync(join(outDir, 'notes.ts'), 'utf8')).toContain('// edited'); // check writes nothing

    writeFileSync(join(dir, 'contract.ts'), v1.replace(/export interface Tags[\s\S]*$/, ''));
    const staleCheck = await generate({ ...opts, check: true });
    expect(staleCheck.stale.map((p) => relative(dir, p)).sort()).toEqual(['gen/notes.ts', 'gen/tags.ts']);
    const regenerated = await generate(opts);
    expect(regenerated.orphans.map((p) => relative(dir, p))).toEqual(['gen/tags.ts']);
    expect(existsSync(join(outDir, 'tags.ts'))).toBe(false);
    expect(existsSync(join(outDir, 'mine.ts'))).toBe(true);
  });

  it('watch mode regenerates when the contract changes', async () => {
    const dir = tmpContracts({ 'contract.ts': v1 });
    const results: Array<GenerateResult | Error> = [];
    const r = await generate({ files: [join(dir, 'contract.ts')], outDir: join(dir, 'gen'), watch: true, onRegenerate: (x) => results.push(x) });
    try {
      writeFileSync(join(dir, 'contract.ts'), v1.replace('{ id: number }', '{ id: number; at: Date }'));
      const deadline = Date.now() + 10_000;
      while (results.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      const [next] = results as GenerateResult[];
      expect(next?.files.find((f) => f.service === 'Notes')?.status).toBe('written');
      expect(readFileSync(join(dir, 'gen/notes.ts'), 'utf8')).toContain("missing('Date', 'at')");
    } finally {
      r.close?.();
    }
  });
});

describe('runGen (fastpath gen)', () => {
  it('usage errors exit 2 with the help text; --help exits 0', async () => {
    for (const argv of [[], ['x.ts'], ['--out', 'd'], ['x.ts', '--out', 'd', '--bogus'], ['x.ts', '-o', 'd', '--unknown-keys', 'maybe']]) {
      const c = capture();
      expect(await runGen(argv, c.io)).toBe(2);
      expect(c.err.join('')).toMatch(/^fastpath gen: .+\n\nUsage: fastpath gen <files\.\.\.> --out <dir>/);
    }
    const c = capture();
    expect(await runGen(['--help'], c.io)).toBe(0);
    expect(c.out.join('')).toContain('--unknown-keys');
  });

  it('writes and reports; --check exits 1 on stale files; contract errors exit 1 with file:line:col', async () => {
    const dir = tmpContracts({ 'contract.ts': v1, 'bad.ts': 'export interface S {\n  m(req: { f: () => void }): void;\n}\n' });
    const gen = join(dir, 'gen');
    let c = capture();
    expect(await runGen([join(dir, 'contract.ts'), '--out', gen, '--service', 'Notes'], c.io)).toBe(0);
    expect(c.out.join('')).toMatch(/^wrote .*gen\/notes\.ts \(Notes: 1 method\(s\), 0 topic\(s\)\)\n$/);
    c = capture();
    expect(await runGen([join(dir, 'contract.ts'), `--out=${gen}`, '--check'], c.io)).toBe(1);
    expect(c.err.join('')).toMatch(/stale generated files[\s\S]*gen\/tags\.ts/);
    c = capture();
    expect(await runGen([join(dir, 'bad.ts'), '-o', gen], c.io)).toBe(1);
    const text = c.err.join('');
    expect(text).toMatch(/bad\.ts:2:12 - error \[function\]: S\.m request\.f is a function: functions cannot cross the wire\n  hint: /);
    expect(text).toMatch(/1 error\(s\), nothing written\n$/);
  });
});
