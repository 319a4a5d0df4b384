// A fixture process driven over IPC: the parent sends `{ id, cmd, ...data }` and waits for the
// answer with that id (`{ id, ok, ... }`), or waits for an event the child emits on its own
// (`{ ev, ... }`). Used by the shm tests (helpers/shm-child.ts) and the reliability hosts
// (reliability/lib/host.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot, TS_NODE_ARGS } from './spawn.js';

export type Msg = Record<string, unknown>;

export interface IpcProcessOptions {
  /** Node flags before the TypeScript loader (e.g. --expose-gc). */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** How errors name the process, before its pid (default `child`). */
  label?: string;
  /** Default timeout of ask() (default 20 s). */
  askTimeoutMs?: number;
}

export class IpcProcess {
  readonly proc: ChildProcess;
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly inbox: Msg[] = [];
  private wake: (() => void) | null = null;
  private nextId = 1;
  private readonly label: string;
  private readonly askTimeoutMs: number;

  constructor(script: string, args: string[] = [], options: IpcProcessOptions = {}) {
    const { nodeArgs = [], env = {}, uid, gid } = options;
    this.proc = spawn(process.execPath, [...nodeArgs, ...TS_NODE_ARGS, script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      ...(uid === undefined ? {} : { uid }),
      ...(gid === undefined ? {} : { gid }),
    });
    this.label = `${options.label ?? 'child'} ${this.proc.pid}`;
    this.askTimeoutMs = options.askTimeoutMs ?? 20_000;
    this.proc.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    this.proc.on('message', (m) => {
      this.inbox.push(m as Msg);
      this.wake?.();
    });
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        resolve({ code, signal });
        this.wake?.();
      }),
    );
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private async take(match: (m: Msg) => boolean, what: string, timeoutMs: number): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (!this.alive) throw new Error(`${this.label} exited before ${what}: ${this.stderr.join('')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no ${what} within ${timeoutMs} ms: ${this.stderr.join('')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Waits for an event the child emits on its own ({ ev }). */
  next(ev: string, timeoutMs = 20_000): Promise<Msg> {
    return this.take((m) => m.ev === ev, `"${ev}"`, timeoutMs);
  }

  /** Sends a command and waits for its answer; a failed command throws with the child's error. */
  async ask<T = Msg>(cmd: string, data: Msg = {}, timeoutMs = this.askTimeoutMs): Promise<T> {
    const id = this.nextId++;
    this.proc.send({ id, cmd, ...data });
    const r = await this.take((m) => m.id === id, `answer to ${cmd}`, timeoutMs);
    if (r.ok !== true) throw new Error(`${this.label} ${cmd} failed: ${String(r.error)}`);
    return r as T;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.proc.kill(signal);
  }
}
