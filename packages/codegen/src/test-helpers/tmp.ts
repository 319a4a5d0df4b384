// Temporary contract directories for tests, inside the repository (so that '@fastpath/core' and
// the root tsconfig resolve as they do for real contracts) and removed afterwards.
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const fixtures = fileURLToPath(new URL('../__fixtures__/', import.meta.url));

const made: string[] = [];

/** A fresh directory under packages/codegen/.tmp/ holding `files` (name -> content). */
export function tmpContracts(files: Record<string, string>): string {
  const base = fileURLToPath(new URL('../../.tmp/', import.meta.url));
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'gen-'));
  made.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

export function cleanupTmp(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  try {
    rmdirSync(fileURLToPath(new URL('../../.tmp/', import.meta.url)));
  } catch {
    // another test file still has a directory there
  }
}
