import { spawn, type ChildProcess } from 'node:child_process';
import { closers } from './closers.js';
import { repoRoot, TS_NODE_ARGS } from './spawn.js';

export type Msg = Record<string, unknown>;

/** A fixture process driven over IPC (test/fixtures/shm-control.ts). */
export class Child {
  readonly proc: ChildProcess;
  readonly stderr: string[] = [];
  private readonly inbox: Msg[] = [];
  private wake: (() => void) | null = null;
  private nextId = 1;
  readonly exited: Promise<void>;

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, [...TS_NODE_ARGS, script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.proc.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    this.proc.on('message', (m) => {
      this.inbox.push(m as Msg);
      this.wake?.();
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.once('exit', () => this.wake?.());
    closers.push(() => this.kill('SIGKILL'));
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private async take(match: (m: Msg) => boolean, what: string, timeoutMs: number): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (!this.alive) throw new Error(`child exited before ${what}: ${this.stderr.join('')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`child: no ${what} within ${timeoutMs} ms: ${this.stderr.join('')}`);
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

  /** Sends a command and waits for its answer. */
  async ask(cmd: string, data: Msg = {}, timeoutMs = 20_000): Promise<Msg> {
    const id = this.nextId++;
    this.proc.send({ id, cmd, ...data });
    const r = await this.take((m) => m.id === id, `answer to ${cmd}`, timeoutMs);
    if (r.ok !== true) throw new Error(`child ${cmd} failed: ${String(r.error)}`);
    return r;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }
}

/** A server process (test/fixtures/shm-server.ts) started with `options`, and its address once it listens. */
export async function startServerChild(options: Msg): Promise<{ child: Child; address: string }> {
  const child = new Child('test/fixtures/shm-server.ts', [JSON.stringify(options)]);
  const ready = await child.next('ready');
  return { child, address: ready.address as string };
}
