import { closers } from './closers.js';
import { IpcProcess, type Msg } from './ipc-process.js';

export type { Msg } from './ipc-process.js';

/** A fixture process driven over IPC (test/fixtures/shm-control.ts), killed after the test. */
export class Child extends IpcProcess {
  constructor(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    super(script, args, { env });
    closers.push(() => this.kill('SIGKILL'));
  }
}

/** A server process (test/fixtures/shm-server.ts) started with `options`, and its address once it listens. */
export async function startServerChild(options: Msg): Promise<{ child: Child; address: string }> {
  const child = new Child('test/fixtures/shm-server.ts', [JSON.stringify(options)]);
  const ready = await child.next('ready');
  return { child, address: ready.address as string };
}
