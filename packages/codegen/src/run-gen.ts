/**
 * `fastpath gen` without process globals: `runGen(argv, io)` resolves with the exit code
 * (0 done, 1 contract errors or stale files with --check, 2 usage). The CLI calls it with the
 * arguments after `gen`.
 */
import { relative } from 'node:path';
import { CodegenError, formatDiagnostic } from './errors.js';
import { generate, type GenerateOptions, type GenerateResult } from './generate.js';
import type { UnknownKeys } from './model.js';

export interface GenIO {
  out(text: string): void;
  err(text: string): void;
}

export const genSummary = 'generate typed stubs and validators from TypeScript service contracts';

export const genHelp = `Usage: fastpath gen <files...> --out <dir> [options]

Reads the service interfaces of the contract files (exported interfaces with methods or
Topic<T> properties) and writes, for each service, <out>/<service-name>.ts: validators, the
service definition with method ids and fingerprints, a typed client class, a handler
interface and register<Service>(server, impl).

Options:
  -o, --out <dir>            where the generated files go (required)
      --check                write nothing; exit 1 if a generated file is missing, differs
                             or is left over (for CI)
  -w, --watch                regenerate when a contract or a file it imports changes
      --unknown-keys <mode>  strip (default): validators remove undeclared keys;
                             reject: validators fail on them
      --max-depth <n>        validators' nesting bound (default 64)
      --service <name>       only this service (repeatable)
      --tsconfig <file>      compiler options for resolving the contract's imports
                             (default: the nearest tsconfig.json)
      --core-import <spec>   module the generated code imports (default @fastpath/core)
  -q, --quiet                print errors only
  -h, --help                 this text

Exit codes: 0 done, 1 contract errors (each with file:line:col and a hint) or stale files
with --check, 2 usage. See docs/codegen.md.
`;

const defaultIO: GenIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

type Parsed = { options: GenerateOptions; quiet: boolean } | { help: true } | { error: string };

function parse(argv: readonly string[]): Parsed {
  const files: string[] = [];
  const services: string[] = [];
  let outDir: string | undefined;
  let quiet = false;
  const o: Partial<GenerateOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '-h':
      case '--help':
        return { help: true };
      case '-o':
      case '--out':
        outDir = value();
        if (!outDir) return { error: `${flag} needs a directory` };
        break;
      case '--check':
        o.check = true;
        break;
      case '-w':
      case '--watch':
        o.watch = true;
        break;
      case '-q':
      case '--quiet':
        quiet = true;
        break;
      case '--unknown-keys': {
        const v = value();
        if (v !== 'strip' && v !== 'reject') return { error: `--unknown-keys takes strip or reject, got ${v ?? 'nothing'}` };
        o.unknownKeys = v as UnknownKeys;
        break;
      }
      case '--max-depth': {
        const v = Number(value());
        if (!Number.isInteger(v) || v < 1) return { error: '--max-depth takes a positive integer' };
        o.maxDepth = v;
        break;
      }
      case '--service': {
        const v = value();
        if (!v) return { error: '--service needs a name' };
        services.push(v);
        break;
      }
      case '--tsconfig':
      case '--core-import': {
        const v = value();
        if (!v) return { error: `${flag} needs a value` };
        if (flag === '--tsconfig') o.tsconfig = v;
        else o.coreImport = v;
        break;
      }
      default:
        if (a.startsWith('-')) return { error: `unknown option ${a}` };
        files.push(a);
    }
  }
  if (files.length === 0) return { error: 'no contract files given' };
  if (!outDir) return { error: '--out <dir> is required' };
  return { options: { ...o, files, outDir, ...(services.length ? { services } : {}) }, quiet };
}

function report(r: GenerateResult, check: boolean, quiet: boolean, io: GenIO): number {
  const rel = (p: string): string => relative(process.cwd(), p) || p;
  if (check) {
    if (r.stale.length === 0) {
      if (!quiet) io.out(`fastpath gen: ${r.files.length} generated file(s) up to date\n`);
      return 0;
    }
    io.err(`fastpath gen: stale generated files (run fastpath gen, or npm run gen):\n${r.stale.map((p) => `  ${rel(p)}`).join('\n')}\n`);
    return 1;
  }
  if (!quiet) {
    for (const f of r.files) {
      const s = r.services.find((x) => x.name === f.service)!;
      io.out(`${f.status === 'written' ? 'wrote' : 'unchanged'} ${rel(f.path)} (${s.name}: ${s.methods.length} method(s), ${s.topics.length} topic(s))\n`);
    }
    for (const p of r.orphans) io.out(`removed ${rel(p)} (its service is gone)\n`);
  }
  return 0;
}

function reportError(err: unknown, io: GenIO): number {
  if (err instanceof CodegenError) {
    io.err(`${err.diagnostics.map((d) => formatDiagnostic(d, (f) => (f.startsWith('<') ? f : relative(process.cwd(), f)))).join('\n')}\n`);
    io.err(`fastpath gen: ${err.diagnostics.length} error(s), nothing written\n`);
    return 1;
  }
  io.err(`fastpath gen: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

/** Runs `fastpath gen` with the arguments after `gen`. In watch mode it resolves when `signal` aborts. */
export async function runGen(argv: string[], io: GenIO = defaultIO, signal?: AbortSignal): Promise<number> {
  const p = parse(argv);
  if ('help' in p) {
    io.out(genHelp);
    return 0;
  }
  if ('error' in p) {
    io.err(`fastpath gen: ${p.error}\n\n${genHelp}`);
    return 2;
  }
  const { options, quiet } = p;
  let result: GenerateResult;
  try {
    result = await generate({
      ...options,
      onRegenerate: (r) => {
        if (r instanceof Error) reportError(r, io);
        else report(r, false, quiet, io);
      },
    });
  } catch (err) {
    return reportError(err, io);
  }
  const code = report(result, options.check === true, quiet, io);
  if (!options.watch) return code;
  io.out('fastpath gen: watching for changes (Ctrl-C to stop)\n');
  await new Promise<void>((done) => {
    const stop = (): void => {
      result.close?.();
      process.off('SIGINT', stop);
      done();
    };
    if (signal) signal.addEventListener('abort', stop, { once: true });
    process.once('SIGINT', stop);
  });
  return code;
}
