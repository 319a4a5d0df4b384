// Keeps docs/reliability.md honest: every test it cites (`file › describe › test`) must exist, so
// that renaming or removing a test that proves a guarantee fails here until the page follows.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/spawn.js';

const doc = readFileSync(join(repoRoot, 'docs/reliability.md'), 'utf8');

/** Every `path › name › name` span of the page. */
const citations = [...doc.matchAll(/`((?:test|packages)\/[^`]+? › [^`]+)`/g)].map((m) => m[1]!);

/**
 * The longest literal run of a cited name: names are cited with their placeholders ($tier, %s),
 * computed counts and elisions (…) as they read in the output, not as written in the source.
 */
function literal(name: string): string {
  return name
    .split(/\$\w+|%s|…|\d[\d,]*/)
    .map((s) => s.trim())
    .sort((a, b) => b.length - a.length)[0]!;
}

describe('docs/reliability.md', () => {
  it('cites tests', () => {
    expect(citations.length).toBeGreaterThan(40);
  });

  it.each(citations)('%s exists', (citation) => {
    const [file, ...names] = citation.split(' › ');
    const path = join(repoRoot, file!.trim());
    expect(existsSync(path), file).toBe(true);
    // Test names written in single quotes escape their apostrophes.
    const source = readFileSync(path, 'utf8').replace(/\\'/g, "'");
    for (const name of names) {
      const text = literal(name);
      if (text.length < 4) continue; // nothing left to look for (e.g. "…" alone)
      expect(source, `"${text}" in ${file}`).toContain(text);
    }
  });
});
