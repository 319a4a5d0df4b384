// The parent side of fixtures/host.ts: spawns a host process, sends it commands, waits for its
// events, and kills it. Every host is registered so that `killAllHosts()` (afterAll) ends them.
import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot, TS_NODE_ARGS } from '../../helpers/spawn.js';

export type Msg = Record<string, unknown>;

const hosts = new Set<Host>();

export class Host {
  readonly proc: ChildProcess;
  readonly stderr: string[] = [];
  private readonly inbox: Msg[] = [];
  private wake: (() => void) | null = null;
  private nextId = 1;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pid = 0;

  constructor(nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}, spawnOptions: { uid?: number; gid?: number } = {}) {
    this.proc = spawn(process.execPath, [...nodeArgs, ...TS_NODE_ARGS, 'test/reliability/fixtures/host.ts'], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      ...spawnOptions,
    });
    hosts.add(this);
    this.proc.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    this.proc.on('message', (m) => {
      this.inbox.push(m as Msg);
      this.wake?.();
    });
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        hosts.delete(this);
        resolve({ code, signal });
        this.wake?.();
      }),
    );
  }

  /** Spawns a host and waits until it is ready. */
  static async start(nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Host> {
    const h = new Host(nodeArgs, env);
    h.pid = Number((await h.next('ready', 30_000)).pid);
    return h;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private async take(match: (m: Msg) => boolean, what: string, timeoutMs: number): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (!this.alive) throw new Error(`host ${this.proc.pid} exited before ${what}: ${this.stderr.join('')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`host ${this.proc.pid}: no ${what} within ${timeoutMs} ms: ${this.stderr.join('')}`);
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

  next(ev: string, timeoutMs = 20_000): Promise<Msg> {
    return this.take((m) => m.ev === ev, `"${ev}"`, timeoutMs);
  }

  /** Sends a command and waits for its answer; a failed command throws with the host's error. */
  async ask<T = Msg>(cmd: string, data: Msg = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    this.proc.send({ id, cmd, ...data });
    const r = await this.take((m) => m.id === id, `answer to ${cmd}`, timeoutMs);
    if (r.ok !== true) throw new Error(`host ${cmd} failed: ${String(r.error)}`);
    return r as T;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.proc.kill(signal);
  }
}

/** Kills every host still running (SIGCONT first, for one that was stopped). */
export async function killAllHosts(): Promise<void> {
  const all = [...hosts];
  for (const h of all) {
    h.kill('SIGKILL');
    h.kill('SIGCONT');
  }
  await Promise.all(all.map((h) => Promise.race([h.exited, new Promise((r) => setTimeout(r, 5000))])));
}
