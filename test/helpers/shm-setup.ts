// The shm tier tests' peers in this process: a Calc server and clients that require the shm tier,
// each closed after the test (register `afterEach(closeAll)` from ./closers.js).
import { connect, Server, type Client } from '@fastpath/core';
import { nativeStatus, type ShmMode } from '@fastpath/native';
import { calcHandlers, type Calc, type Observed } from '../fixtures/calc.js';
import { closers } from './closers.js';

export const MODES: readonly ShmMode[] = ['inline', 'worker', 'adaptive'];
/** The native addon loaded: the shm tier can run. */
export const shmOk = nativeStatus.loaded;

/** A Calc server on tcp://127.0.0.1 (its handlers report to `observed`), closed after the test. */
export async function startServer(options: ConstructorParameters<typeof Server>[0] = {}, observed?: Observed): Promise<Server> {
  const server = new Server({ listen: 'tcp://127.0.0.1:0', ...options });
  server.addService<Calc>('Calc', calcHandlers(observed));
  await server.start();
  closers.push(() => server.close({ graceMs: 100 }));
  return server;
}

/** A client that requires the shm tier in `mode`, closed after the test. */
export async function connectShm(address: string, mode: ShmMode, extra: Parameters<typeof connect>[1] = {}): Promise<Client> {
  const client = await connect(address, { fastPath: 'require', tiers: ['shm'], shm: { mode }, ...extra });
  closers.push(() => client.close());
  return client;
}
