// Every ```ts snippet in the README runs, as a user would paste it (msgpack-javascript's readme.test.ts idea).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, TS_NODE_ARGS } from './helpers/spawn.js';

const run = promisify(execFile);
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
// Snippets import the published names; they run inside the repo so those resolve to the sources.
const dir = mkdtempSync(join(repoRoot, 'test', '.readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What each snippet prints, in order: the comments in the snippet say the same. */
const any = (re: RegExp): string => expect.stringMatching(re) as unknown as string;
const expected: string[][] = [
  [any(/^3 (uds|shm)$/)],
  [any(/^invalid request for Shop\.order: items\[0\]\.price: /)],
  ['hi'],
  ['3', '2', '1', '10'],
  ['weather.paris 21'],
  [any(/^reconnected true (shm|uds)$/), 'true'],
  ['billing', 'PERMISSION_DENIED', 'UNAUTHENTICATED'],
  [any(/^(shm|uds)$/), "{ path: 'tcp', reason: 'fastPath is off for this connection' }"],
  [any(/^(shm|uds) 10 10$/), '10'],
];

describe('README snippets', () => {
  it('has the snippets this test expects', () => {
    expect(snippets).toHaveLength(expected.length);
  });

  it.each(snippets.map((s, i) => [i, s] as const))('snippet %i runs and prints what it says', async (i, code) => {
    const file = join(dir, `snippet-${i}.ts`);
    writeFileSync(file, code);
    const { stdout } = await run(process.execPath, [...TS_NODE_ARGS, file], { cwd: repoRoot, timeout: 30_000 });
    expect(stdout.trim().split('\n')).toEqual(expected[i]);
  });
});
