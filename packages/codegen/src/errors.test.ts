// Every codegen error carries file:line:col, a code and a hint. bad-types.ts marks each line that
// must produce one with `// error: <code>`; the diagnostics must be exactly those.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodegenError, formatDiagnostic, generateSources, type Diagnostic } from './index.js';
import { cleanupTmp, fixtures, tmpContracts } from './test-helpers/tmp.js';

afterAll(cleanupTmp);

function diagnosticsOf(files: string[], outDir = '/nonexistent'): Diagnostic[] {
  try {
    generateSources({ files, outDir });
  } catch (err) {
    if (err instanceof CodegenError) return [...err.diagnostics];
    throw err;
  }
  throw new Error('expected a CodegenError');
}

describe('codegen errors in bad-types.ts', () => {
  const file = join(fixtures, 'errors/bad-types.ts');
  const lines = readFileSync(file, 'utf8').split('\n');
  // [line, column, code] from the markers: the column of the member, or of the interface's name.
  const expected = lines.flatMap((text, i) => {
    const m = /\/\/ error: ([\w-]+)/.exec(text);
    if (!m) return [];
    const iface = /^(?:export )?interface (\w+)/.exec(text);
    const column = iface ? text.indexOf(iface[1]!) + 1 : text.search(/\S/) + 1;
    return [{ line: i + 1, column, code: m[1]! }];
  });
  let diags: Diagnostic[] = [];
  beforeAll(() => {
    diags = diagnosticsOf([file]);
  });

  it('reports exactly the marked lines, each once', () => {
    expect(expected.length).toBeGreaterThan(20);
    expect(diags.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(expected.map((e) => `${e.line}:${e.column} ${e.code}`));
  });

  it.each([
    ['any', /Payloads\.a is any/, /concrete type/],
    ['unknown', /Payloads\.u is unknown/, /concrete type/],
    ['function', /Payloads\.callback is a function/, /make it a method of the service/],
    ['class', /instance of class Account/, /interface/],
    ['class', /WithMethod\.refresh is a method/, /plain fields/],
    ['generic', /Shapes\.generic is a generic method/, /concrete types/],
    ['generic', /service Generic is generic/, /without type parameters/],
    ['unsupported', /Payloads\.map is a Map<string, number>/, /Record<string, T>/],
    ['ambiguous-union', /without a common literal property/, /discriminated union/],
    ['undefined-element', /MessagePack turns into null/, /use null/],
    ['reserved-name', /__proto__/, /rename it/],
    ['method-shape', /Shapes\.two takes 2 parameters/, /wrap the parameters/],
    ['not-exported', /service Hidden is not exported/, /export interface Hidden/],
  ] as const)('%s: %s, with a hint', (code, message, hint) => {
    const d = diags.find((x) => x.code === code && message.test(x.message));
    expect(d, `no ${code} diagnostic matching ${message}`).toBeDefined();
    expect(d!.file).toBe(file);
    expect(d!.hint).toMatch(hint);
    expect(formatDiagnostic(d!, () => 'bad-types.ts')).toMatch(new RegExp(`^bad-types\\.ts:${d!.line}:${d!.column} - error \\[${code}\\]: `));
  });
});

describe('codegen errors in other files', () => {
  it('a contract that does not compile: the TypeScript error, at its location', () => {
    const dir = tmpContracts({ 'broken.ts': 'export interface S {\n  m(req: { a: Missing }): void;\n}\n' });
    const [d, ...rest] = diagnosticsOf([join(dir, 'broken.ts')]);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ code: 'typescript', line: 2, column: 15 });
    expect(d!.message).toMatch(/TS2304: Cannot find name 'Missing'/);
  });

  it('a file without a service, and two methods pinned to one id', () => {
    const dir = tmpContracts({
      'data.ts': 'export interface Point {\n  x: number;\n}\n',
      'ids.ts': 'export interface S {\n  /** @id 7 */\n  a(): void;\n  /** @id 7 */\n  b(): void;\n}\n',
    });
    expect(diagnosticsOf([join(dir, 'data.ts')])).toMatchObject([{ code: 'no-service', line: 1, column: 1, message: 'no service interface found' }]);
    const [dup] = diagnosticsOf([join(dir, 'ids.ts')]);
    expect(dup).toMatchObject({ code: 'duplicate', message: 'S.b and S.a have the same method id 7' });
    expect(dup!.hint).toMatch(/@id/);
  });
});
