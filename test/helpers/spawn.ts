import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Node flags that run TypeScript sources directly, resolving workspace packages to src/. */
export const TS_NODE_ARGS = ['-C', 'fastpath-src', '--import', 'tsx'];

export interface Spawned {
  child: ChildProcess;
  /** Resolves with the first stdout line that parses as JSON. */
  ready: Promise<Record<string, unknown>>;
  stdout: string[];
  stderr: string[];
  /** The exit code, once the process has exited and its output has been read. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs a TypeScript file in a child Node process. Its stdout lines are collected. */
export function spawnTs(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, [...TS_NODE_ARGS, script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let resolveReady!: (v: Record<string, unknown>) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<Record<string, unknown>>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout.push(line);
    if (line.startsWith('{')) {
      try {
        resolveReady(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not the ready line */
      }
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  // 'exit' can come before the last stdout lines are read: resolve at 'close' (the process has
  // exited and its pipes are read to the end), or a second after 'exit' if a grandchild still
  // holds the pipes open.
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      rejectReady(new Error(`child exited (${code ?? signal}) before it was ready: ${stderr.join('\n')}`));
      setTimeout(() => resolve(code), 1000).unref();
    });
    child.on('close', (code) => resolve(code));
  });
  return {
    child,
    ready,
    stdout,
    stderr,
    exited,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
