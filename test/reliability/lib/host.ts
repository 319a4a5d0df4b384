// The parent side of fixtures/host.ts: spawns a host process, sends it commands, waits for its
// events, and kills it. Every host is registered so that `killAllHosts()` (afterAll) ends them.
import { IpcProcess } from '../../helpers/ipc-process.js';

export type { Msg } from '../../helpers/ipc-process.js';

const hosts = new Set<Host>();

export class Host extends IpcProcess {
  pid = 0;

  constructor(nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}, spawnOptions: { uid?: number; gid?: number } = {}) {
    super('test/reliability/fixtures/host.ts', [], { nodeArgs, env, ...spawnOptions, label: 'host', askTimeoutMs: 30_000 });
    hosts.add(this);
    void this.exited.then(() => hosts.delete(this));
  }

  /** Spawns a host and waits until it is ready. */
  static async start(nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Host> {
    const h = new Host(nodeArgs, env);
    h.pid = Number((await h.next('ready', 30_000)).pid);
    return h;
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
