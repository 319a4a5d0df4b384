/**
 * Contract files in, generated sources out, without touching the disk: read the program, build
 * the model, assign ids and fingerprints, emit one file per service.
 */
import { relative, resolve } from 'node:path';
import ts from 'typescript';
import { emitServiceFile, type MethodMeta } from './emit/service-file.js';
import { kebab } from './emit/text.js';
import { CodegenError, sortDiagnostics, type Diagnostic } from './errors.js';
import { canonicalMethod, methodFingerprint, methodId } from './fingerprint.js';
import type { ContractModel, UnknownKeys } from './model.js';
import { Diagnostics } from './reader/diagnose.js';
import { compilerOptions, createContractProgram } from './reader/program.js';
import { readServices } from './reader/read-services.js';

export interface SourceOptions {
  /** Contract files (.ts). */
  files: readonly string[];
  /** Where the generated files go. */
  outDir: string;
  /** How validators treat keys the contract does not declare: 'strip' (default) removes them, 'reject' fails. */
  unknownKeys?: UnknownKeys;
  /** Nesting bound of validators, against hostile deeply nested input (default 64). */
  maxDepth?: number;
  /** Module the generated code imports the runtime from (default '@fastpath/core'). */
  coreImport?: string;
  /** Only these services (by interface name). */
  services?: readonly string[];
  /** The tsconfig.json whose options resolve the contract's imports (default: the nearest one). */
  tsconfig?: string;
  /** Base for relative paths (default process.cwd()). */
  cwd?: string;
}

export interface MethodSummary {
  name: string;
  path: string;
  kind: string;
  id: number;
  fingerprint: string;
  /** The canonical form the fingerprint hashes (what a compatible change must keep). */
  canonical: string;
}

export interface ServiceSummary {
  name: string;
  file: string;
  methods: MethodSummary[];
  topics: string[];
}

export interface GeneratedSource {
  /** Absolute path of the output file. */
  path: string;
  service: string;
  /** The contract file it came from (absolute). */
  source: string;
  content: string;
}

export interface SourcesResult {
  sources: GeneratedSource[];
  services: ServiceSummary[];
  /** Every file of the program that is not a library: what watch mode watches. */
  inputs: string[];
}

const DEFAULT_MAX_DEPTH = 64;

function posix(p: string): string {
  return p.split('\\').join('/');
}

/** `../contract.js` for an output in `outDir`. */
function importPath(outDir: string, file: string): string {
  const rel = posix(relative(outDir, file)).replace(/\.(m|c)?tsx?$/, (_m, x: string | undefined) => `.${x ?? ''}js`);
  return rel.startsWith('.') ? rel : `./${rel}`;
}

export function generateSources(options: SourceOptions, oldProgram?: ts.Program): SourcesResult & { program: ts.Program } {
  const cwd = options.cwd ?? process.cwd();
  const files = options.files.map((f) => resolve(cwd, f));
  const outDir = resolve(cwd, options.outDir);
  const unknownKeys = options.unknownKeys ?? 'strip';
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const rel = (f: string): string => (f.startsWith('<') ? f : posix(relative(cwd, f)));
  if (files.length === 0) throw new CodegenError([{ code: 'no-service', file: cwd, line: 1, column: 1, message: 'no contract files given', hint: 'fastpath gen <files...> --out <dir>' }]);
  if (!Number.isInteger(maxDepth) || maxDepth < 1) throw new RangeError(`maxDepth must be a positive integer, got ${maxDepth}`);

  const diags = new Diagnostics();
  const program = createContractProgram(files, compilerOptions(files[0]!, options.tsconfig && resolve(cwd, options.tsconfig), diags), diags, oldProgram);
  const inputs = program
    .getSourceFiles()
    .filter((sf) => !program.isSourceFileDefaultLibrary(sf) && !sf.fileName.includes('/node_modules/'))
    .map((sf) => resolve(sf.fileName));
  if (diags.list.length) throw new CodegenError(sortDiagnostics(diags.list), rel);
  const model = readServices(program, files, diags, options.services ? { services: options.services } : {});
  if (options.services) {
    for (const want of options.services) {
      if (!model.services.some((s) => s.name === want)) diags.add({ code: 'no-service', file: files[0]!, line: 1, column: 1, message: `service ${want} not found`, hint: 'name an exported interface with methods' });
    }
  }
  if (diags.list.length) throw new CodegenError(sortDiagnostics(diags.list), rel);
  const meta = assignMeta(model, unknownKeys, diags.list);
  if (diags.list.length) throw new CodegenError(sortDiagnostics(diags.list), rel);

  const sources: GeneratedSource[] = [];
  const taken = new Map<string, string>();
  for (const s of model.services) {
    const path = resolve(outDir, `${kebab(s.name)}.ts`);
    const prior = taken.get(path);
    if (prior) throw new CodegenError([{ code: 'duplicate', file: s.file, line: 1, column: 1, message: `services ${prior} and ${s.name} would both be written to ${rel(path)}`, hint: 'rename one' }], rel);
    taken.set(path, s.name);
    const content = emitServiceFile(s, model.decls, meta.get(s.name)!, {
      unknownKeys,
      maxDepth,
      coreImport: options.coreImport ?? '@fastpath/core',
      contractImport: importPath(outDir, s.file),
      sourceLabel: posix(relative(outDir, s.file)),
    });
    sources.push({ path, service: s.name, source: s.file, content });
  }
  const services: ServiceSummary[] = model.services.map((s) => ({
    name: s.name,
    file: s.file,
    topics: s.topics.map((t) => t.name),
    methods: s.methods.map((m) => {
      const x = meta.get(s.name)!.get(m.name)!;
      return { name: m.name, path: `${s.name}.${m.name}`, kind: m.kind, id: x.id, fingerprint: x.fingerprint, canonical: canonicalMethod(model.decls, m, unknownKeys) };
    }),
  }));
  return { sources, services, inputs, program };
}

/** Ids (hash of the wire name, or @id) and fingerprints; two methods of one service may not share an id. */
function assignMeta(model: ContractModel, mode: UnknownKeys, out: Diagnostic[]): Map<string, Map<string, MethodMeta>> {
  const all = new Map<string, Map<string, MethodMeta>>();
  for (const s of model.services) {
    const byId = new Map<number, string>();
    const metas = new Map<string, MethodMeta>();
    for (const m of s.methods) {
      const id = m.pinnedId ?? methodId(s.name, m.name);
      const other = byId.get(id);
      if (other) {
        out.push({ code: 'duplicate', file: s.file, line: 1, column: 1, message: `${s.name}.${m.name} and ${s.name}.${other} have the same method id ${id}`, hint: 'pin one with a JSDoc @id tag' });
      }
      byId.set(id, m.name);
      metas.set(m.name, { id, fingerprint: methodFingerprint(model.decls, m, mode) });
    }
    all.set(s.name, metas);
  }
  return all;
}
