// The generated client is typed from the contract: a wrong argument does not compile. Checked two
// ways: expectTypeOf and @ts-expect-error below (the root `tsc -p tsconfig.json` checks them), and
// a compile of a snippet against golden/catalog.ts whose marked lines must be exactly the errors.
import { join } from 'node:path';
import type { StreamCall } from '@fastpath/core';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Everything, LineItem } from './__fixtures__/all-types.js';
import type { CatalogClient, CatalogHandlers } from './__fixtures__/golden/catalog.js';
import { fixtures, repoRoot } from './test-helpers/tmp.js';

describe('generated client types', () => {
  it('methods take and return the contract types', () => {
    expectTypeOf<CatalogClient['echo']>().parameter(0).toEqualTypeOf<Everything>();
    expectTypeOf<CatalogClient['echo']>().returns.toEqualTypeOf<Promise<Everything>>();
    expectTypeOf<CatalogClient['getItem']>().returns.toEqualTypeOf<Promise<LineItem | null>>();
    expectTypeOf<CatalogClient['list']>().returns.toEqualTypeOf<StreamCall<LineItem>>();
    expectTypeOf<CatalogClient['upload']>().parameter(0).toEqualTypeOf<AsyncIterable<LineItem> | Iterable<LineItem>>();
    expectTypeOf<CatalogHandlers['chat']>().returns.toEqualTypeOf<AsyncIterable<{ text: string; at: Date }>>();
    const wrongArgument = (c: CatalogClient): unknown =>
      // @ts-expect-error sku is a string in the contract
      c.getItem({ sku: 1 });
    expect(typeof wrongArgument).toBe('function');
  });

  it('a snippet with wrong arguments fails to compile exactly on the marked lines', () => {
    const snippet = `import type { Client } from '@fastpath/core';
import { CatalogClient, type CatalogHandlers } from './golden/catalog.js';
declare const client: Client;
const c = new CatalogClient(client);
void c.getItem({ sku: 'a' });
void c.getItem({ sku: 1 }); // error
void c.getItem({ sku: 'a', extra: true }); // error
void c.getItem(); // error
void c.ping({ deadline: 5 });
void c.ping({ sku: 'a' }); // error
void c.upload([{ sku: 'a', quantity: 1, price: { amount: 1, currency: 'EUR' } }]);
void c.upload([{ sku: 'a', quantity: 1 }]); // error
const n: number = await c.pinned();
const s: string = await c.pinned(); // error
void c.updates.publish({ sku: 'a', stock: 1 });
void c.updates.publish({ sku: 'a', stock: '1' }); // error
const h: CatalogHandlers['getItem'] = ({ sku }) => ({ sku, quantity: 1, price: { amount: 1, currency: 'GBP' } });
const bad: CatalogHandlers['getItem'] = ({ sku }) => ({ sku: 1 }); // error
export { n, s, h, bad };
`;
    const path = join(fixtures, '__snippet__.ts');
    const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const options = { ...config.options, noEmit: true };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, ...rest) => (name === path ? ts.createSourceFile(name, snippet, lang) : getSourceFile(name, lang, ...rest));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === path || fileExists(name);
    const program = ts.createProgram({ rootNames: [path], options, host });
    const sf = program.getSourceFile(path)!;
    const errorLines = [...new Set(ts.getPreEmitDiagnostics(program, sf).map((d) => sf.getLineAndCharacterOfPosition(d.start!).line + 1))].sort((a, b) => a - b);
    const marked = snippet.split('\n').flatMap((line, i) => (line.endsWith('// error') ? [i + 1] : []));
    expect(marked.length).toBe(8);
    expect(errorLines).toEqual(marked);
  });
});
