/** The TypeScript program the contract files are read from. */
import { dirname } from 'node:path';
import ts from 'typescript';
import type { Diagnostics } from './diagnose.js';

const FALLBACK: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  skipLibCheck: true,
  esModuleInterop: true,
};

/**
 * Compiler options: those of `tsconfig` (or the nearest tsconfig.json above the first file), so
 * that imports in the contract resolve as they do in the project; strict null checks always on
 * (optional fields depend on them); never emitting.
 */
export function compilerOptions(firstFile: string, tsconfig: string | undefined, diags: Diagnostics): ts.CompilerOptions {
  const configPath = tsconfig ?? ts.findConfigFile(dirname(firstFile), (f) => ts.sys.fileExists(f));
  let options = FALLBACK;
  if (configPath) {
    const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => diags.fromTypeScript([d]),
    });
    if (parsed) {
      diags.fromTypeScript(parsed.errors.filter((e) => e.code !== 18003)); // 18003: no inputs found, irrelevant here
      options = parsed.options;
    }
  }
  return { ...options, strictNullChecks: true, noEmit: true, declaration: false, sourceMap: false, incremental: false, composite: false, tsBuildInfoFile: undefined };
}

export function createContractProgram(files: readonly string[], options: ts.CompilerOptions, diags: Diagnostics, oldProgram?: ts.Program): ts.Program {
  const program = ts.createProgram({ rootNames: files, options, ...(oldProgram ? { oldProgram } : {}) });
  for (const f of files) {
    const sf = program.getSourceFile(f);
    if (!sf) {
      diags.add({ code: 'typescript', file: f, line: 1, column: 1, message: 'the file could not be read', hint: 'check the path' });
      continue;
    }
    diags.fromTypeScript(ts.getPreEmitDiagnostics(program, sf));
  }
  return program;
}
