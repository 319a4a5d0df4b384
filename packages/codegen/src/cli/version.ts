import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The CLI ships in @fastpath/codegen and carries its version, read from the package.json found
 * upward from this file (src/cli/ from the repo, dist/ once built): importing the library's
 * index for it would load the whole codegen.
 */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === '@fastpath/codegen' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here, or not ours: keep looking
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export const CLI_VERSION: string = packageVersion();
