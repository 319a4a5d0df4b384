/**
 * `generate()`: writes (or, with `check`, compares) the generated files, removes generated files
 * of the same contracts that are no longer produced, and optionally watches the contracts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch as fsWatch, writeFileSync, type FSWatcher } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type ts from 'typescript';
import { HEADER } from './emit/service-file.js';
import { CodegenError } from './errors.js';
import { generateSources, type ServiceSummary, type SourceOptions } from './generate-sources.js';

export interface GenerateOptions extends SourceOptions {
  /** Compare with the files on disk instead of writing: `stale` lists every difference. */
  check?: boolean;
  /** Keep running: regenerate when a contract (or a file it imports) changes. */
  watch?: boolean;
  /** Watch mode: called after every regeneration, with its result or its error. */
  onRegenerate?: (result: GenerateResult | CodegenError | Error) => void;
}

export type FileStatus = 'written' | 'unchanged' | 'stale' | 'missing';

export interface GeneratedFile {
  path: string;
  service: string;
  status: FileStatus;
}

export interface GenerateResult {
  files: GeneratedFile[];
  /** Generated files of these contracts that no longer correspond to a service: removed (or, with `check`, reported). */
  orphans: string[];
  /** With `check`: paths that differ from what the generator produces now (missing, changed or orphaned). */
  stale: string[];
  services: ServiceSummary[];
  /** Watch mode: stops watching. */
  close?: () => void;
}

/** Generated files in `outDir` whose header names one of `sources` (relative to outDir). */
function generatedFilesOf(outDir: string, sources: readonly string[]): string[] {
  if (!existsSync(outDir)) return [];
  const labels = new Set(sources.map((s) => relative(outDir, s).split('\\').join('/')));
  const found: string[] = [];
  for (const name of readdirSync(outDir)) {
    if (!name.endsWith('.ts')) continue;
    const path = join(outDir, name);
    let head: string;
    try {
      head = readFileSync(path, 'utf8').slice(0, 400);
    } catch {
      continue;
    }
    const m = /^\/\/ source: (.+) \(service \w+\)$/m.exec(head);
    if (head.startsWith(HEADER) && m && labels.has(m[1]!)) found.push(path);
  }
  return found;
}

function runOnce(options: GenerateOptions, oldProgram?: ts.Program): GenerateResult & { inputs: string[]; program: ts.Program } {
  const { sources, services, inputs, program } = generateSources(options, oldProgram);
  const files: GeneratedFile[] = [];
  const stale: string[] = [];
  for (const s of sources) {
    const current = existsSync(s.path) ? readFileSync(s.path, 'utf8') : undefined;
    let status: FileStatus;
    if (current === s.content) status = 'unchanged';
    else if (options.check) status = current === undefined ? 'missing' : 'stale';
    else {
      mkdirSync(dirname(s.path), { recursive: true });
      writeFileSync(s.path, s.content);
      status = 'written';
    }
    if (status === 'missing' || status === 'stale') stale.push(s.path);
    files.push({ path: s.path, service: s.service, status });
  }
  const outDir = resolve(options.cwd ?? process.cwd(), options.outDir);
  const produced = new Set(sources.map((s) => s.path));
  const contracts = options.files.map((f) => resolve(options.cwd ?? process.cwd(), f));
  const orphans = generatedFilesOf(outDir, contracts).filter((p) => !produced.has(p));
  for (const p of orphans) {
    if (options.check) stale.push(p);
    else rmSync(p);
  }
  return { files, orphans, stale, services, inputs, program };
}

/**
 * Generates typed stubs and validators for the services of `files` into `outDir`.
 *
 *     await generate({ files: ['src/contract.ts'], outDir: 'src/generated' });
 *
 * Rejects with a CodegenError (every problem with file:line:col and a hint) when a contract uses a
 * type the wire cannot carry. In watch mode the first run must succeed; later errors go to
 * `onRegenerate` and the watch goes on.
 */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const first = runOnce(options);
  const { inputs: firstInputs, program: firstProgram, ...result } = first;
  if (!options.watch) return result;

  let watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let program = firstProgram;
  let closed = false;
  const rewatch = (inputs: readonly string[]): void => {
    for (const w of watchers) w.close();
    watchers = inputs.filter((f) => existsSync(f)).map((f) => fsWatch(f, { persistent: true }, schedule));
  };
  const rerun = (): void => {
    if (closed) return;
    try {
      const r = runOnce(options, program);
      program = r.program;
      rewatch(r.inputs);
      const { inputs: _i, program: _p, ...rest } = r;
      options.onRegenerate?.(rest);
    } catch (err) {
      options.onRegenerate?.(err as Error);
    }
  };
  // Editors save by rename: debounce, and re-attach the watchers after every run.
  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(rerun, 100);
  }
  rewatch(firstInputs);
  return {
    ...result,
    close: () => {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
